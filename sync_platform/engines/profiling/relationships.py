"""Keys and foreign keys of the landed tables.

Candidate primary keys come from profiles alone (unique, never null, key-like type or name).
Foreign keys are inclusion dependencies `from ⊂ to`: candidate pairs are pruned with the
profiles (key-like types, compatible types, the to-side a candidate key, overlapping value and
length ranges, name evidence for short numeric ids), then every surviving pair's coverage is
measured in one UNION ALL query over the distinct values.
"""

from __future__ import annotations

import re
from pathlib import Path

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.profiling.models import ColumnProfile, Relationship
from sync_platform.engines.profiling.profiler import profile_system
from sync_platform.engines.profiling.store import read_profiles, write_relationships
from sync_platform.engines.warehouse import connect, quote

ST = SemanticType
KEY_TYPES = {ST.IDENTIFIER, ST.UUID, ST.SALESFORCE_ID, ST.INTEGER}
STRONG_ID_TYPES = {ST.UUID, ST.SALESFORCE_ID}
MIN_COVERAGE = 0.95
NUMERIC_PREFIXES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                    "USMALLINT", "UINTEGER", "UBIGINT", "DECIMAL", "DOUBLE", "FLOAT")


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[_\W]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if t]


def _id_like(name: str) -> bool:
    lowered = name.lower()
    tokens = _tokens(name)
    return (lowered in {"id", "key", "sku", "uuid", "guid", "code"} or lowered.endswith("id")
            or (bool(tokens) and tokens[-1] in {"id", "key", "ref", "code", "number", "no",
                                                 "num", "sku", "uuid", "guid"}))


def _is_numeric(p: ColumnProfile) -> bool:
    return p.data_type.upper().startswith(NUMERIC_PREFIXES)


def _strong_id(p: ColumnProfile) -> bool:
    """Values that could hardly coincide by accident: sf ids, uuids, long fixed-length or
    lettered codes (short numeric ids like 1..500 coincide all the time)."""
    if p.semantic_type in STRONG_ID_TYPES:
        return True
    if p.semantic_type != ST.IDENTIFIER:
        return False
    fixed = p.min_length is not None and p.min_length == p.max_length and p.min_length >= 6
    lettered = bool(p.pattern) and any(c in p.pattern for c in "Aa")
    return fixed or lettered


def _key_score(p: ColumnProfile) -> float | None:
    if p.distinct_count < 2 or p.null_count or p.non_null_count < 2:
        return None
    if p.distinct_count != p.non_null_count:
        return None
    if p.semantic_type not in KEY_TYPES and not (_id_like(p.column_name) and p.semantic_type in {
            ST.UNKNOWN, ST.EMAIL, ST.FREE_TEXT}):
        return None
    if p.semantic_type == ST.INTEGER and not _id_like(p.column_name):
        return None
    score = 0.6
    if p.semantic_type in KEY_TYPES - {ST.INTEGER}:
        score += 0.2
    if _id_like(p.column_name):
        score += 0.2 if p.column_name.lower() in {"id", f"{p.table_name.rstrip('s')}_id"} else 0.1
    return round(min(score, 1.0), 3)


def candidate_keys(profiles: list[ColumnProfile]) -> list[Relationship]:
    """Single-column candidate primary keys: unique, never null, key-like type or name."""
    keys = []
    for p in profiles:
        score = _key_score(p)
        if score is None:
            continue
        reasons = [f"unique and never null across {p.row_count} rows",
                   f"{p.semantic_type} values"]
        if _id_like(p.column_name):
            reasons.append("id-like name")
        if p.sampled:
            reasons.append(f"on a sample of {p.sample_size} rows")
            score = round(score * 0.9, 3)
        keys.append(Relationship(
            from_system=p.system, from_table=p.table_name, from_column=p.column_name,
            to_system=p.system, to_table=p.table_name, to_column=p.column_name,
            kind="primary_key", coverage=1.0, from_distinct=p.distinct_count,
            evidence="; ".join(reasons), confidence=score))
    return sorted(keys, key=lambda k: (k.from_system, k.from_table, -k.confidence, k.from_column))


def _stem(table: str) -> str:
    name = table.split("__")[-1].lower()
    for suffix, repl in (("ies", "y"), ("ses", "s"), ("s", "")):
        if name.endswith(suffix) and len(name) > len(suffix) + 2:
            return name[: -len(suffix)] + repl
    return name


def _name_evidence(f: ColumnProfile, t: ColumnProfile) -> bool:
    from_name = f.column_name.lower().replace("_", "")
    stem = _stem(t.table_name).replace("_", "")
    core = stem[:-1] if stem.endswith("y") else stem  # company -> compan(ies|yid)
    return (f.column_name.lower() == t.column_name.lower() and t.column_name.lower() != "id"
            or stem in from_name or (len(core) >= 4 and core in from_name))


def _ranges_overlap(f: ColumnProfile, t: ColumnProfile) -> bool:
    if (f.min_length is not None and t.min_length is not None
            and (f.max_length < t.min_length or f.min_length > t.max_length)):
        return False
    if f.min_value is None or t.min_value is None:
        return False
    if _is_numeric(f) and _is_numeric(t):
        try:
            return not (float(f.max_value) < float(t.min_value)
                        or float(f.min_value) > float(t.max_value))
        except ValueError:
            return True
    if _is_numeric(f) != _is_numeric(t):
        return True  # text order of numbers says nothing; lengths were checked above
    return not (f.max_value < t.min_value or f.min_value > t.max_value)


def _from_candidate(p: ColumnProfile) -> bool:
    if p.distinct_count < 2 or p.semantic_type not in KEY_TYPES:
        return False
    if p.column_name.lower() == "id":  # the table's own surrogate key
        return False
    # integers named like ids only: counts, quantities and flags are no references
    return p.semantic_type != ST.INTEGER or _id_like(p.column_name)


def candidate_pairs(profiles: list[ColumnProfile], keys: list[Relationship]
                    ) -> list[tuple[ColumnProfile, ColumnProfile, bool]]:
    """(from, to, name_evidence) pairs worth a coverage check."""
    by_key = {p.key: p for p in profiles}
    best: dict[tuple[str, str], float] = {}
    for k in keys:
        best[(k.from_system, k.from_table)] = max(best.get((k.from_system, k.from_table), 0.0),
                                                  k.confidence)
    # A table's best key(s) only: `product_id` unique in a 1:1 child table is not a target.
    targets = [by_key[(k.from_system, k.from_table, k.from_column)] for k in keys
               if k.confidence >= best[(k.from_system, k.from_table)]]
    pairs = []
    for f in filter(_from_candidate, profiles):
        for t in targets:
            if (f.system, f.table_name) == (t.system, t.table_name):
                continue
            if t.distinct_count < 2 or f.distinct_count > t.distinct_count:
                continue
            strong = _strong_id(f) and _strong_id(t)
            named = _name_evidence(f, t)
            if not strong and not named:
                continue
            if strong and f.semantic_type != t.semantic_type:
                continue
            if not _ranges_overlap(f, t):
                continue
            pairs.append((f, t, named))
    return pairs


def _relation(p: ColumnProfile) -> str:
    return f"{quote('raw_' + p.system)}.{quote(p.table_name)}"


def _label(p: ColumnProfile, other: ColumnProfile) -> str:
    prefix = f"{p.system}." if p.system != other.system else ""
    return f"{prefix}{p.table_name}.{p.column_name}"


def measure_coverage(con, pairs: list[tuple[ColumnProfile, ColumnProfile, bool]]
                     ) -> list[tuple[int, int]]:
    """(from_distinct, found) per pair, in one UNION ALL query over distinct values as text."""
    if not pairs:
        return []
    parts = []
    for i, (f, t, _) in enumerate(pairs):
        fc, tc = quote(f.column_name), quote(t.column_name)
        parts.append(
            f"SELECT {i} AS pair, count(*) AS from_distinct, count(tv.v) AS found FROM "
            f"(SELECT DISTINCT CAST({fc} AS VARCHAR) AS v FROM {_relation(f)} "
            f"WHERE {fc} IS NOT NULL) fv LEFT JOIN "
            f"(SELECT DISTINCT CAST({tc} AS VARCHAR) AS v FROM {_relation(t)}) tv ON fv.v = tv.v")
    rows = con.sql(" UNION ALL ".join(parts) + " ORDER BY pair").fetchall()
    return [(int(r[1]), int(r[2])) for r in rows]


def _existing_systems(con) -> list[str]:
    rows = con.sql("SELECT DISTINCT schema_name FROM information_schema.schemata WHERE "
                   "starts_with(schema_name, 'raw_') AND NOT ends_with(schema_name, '_staging') "
                   "ORDER BY 1").fetchall()
    return [r[0][4:] for r in rows]


def discover_relationships(warehouse: Path, systems: list[str] | None = None
                           ) -> list[Relationship]:
    """Candidate primary keys and foreign keys (coverage ≥ 0.95) within and across `systems`
    (all landed systems by default); profiles systems not profiled yet; replaces
    `meta.relationships` (the rows of `systems` when given) and returns keys then FKs."""
    with connect(warehouse, read_only=True) as con:
        wanted = _existing_systems(con) if systems is None else list(systems)
        profiles = [p for p in read_profiles(con) if p.system in wanted]
    missing = [s for s in wanted if s not in {p.system for p in profiles}]
    for system in missing:
        profiles += profile_system(warehouse, system)
    keys = candidate_keys(profiles)
    pairs = candidate_pairs(profiles, keys)
    with connect(warehouse) as con:
        coverage = measure_coverage(con, pairs)
        best: dict[tuple, Relationship] = {}
        for (f, t, named), (distinct, found) in zip(pairs, coverage, strict=True):
            share = found / distinct if distinct else 0.0
            if share < MIN_COVERAGE:
                continue
            confidence = share * (1.0 if named else 0.85) * (1.0 if _strong_id(f) else 0.9)
            rel = Relationship(
                from_system=f.system, from_table=f.table_name, from_column=f.column_name,
                to_system=t.system, to_table=t.table_name, to_column=t.column_name,
                kind="foreign_key", coverage=round(share, 4), from_distinct=distinct,
                evidence=(f"{int(share * 100)}% of {distinct} distinct {_label(f, t)} values "
                          f"appear in {_label(t, f)} (unique key)"
                          + ("; names match" if named else "")),
                confidence=round(confidence, 3))
            slot = (f.key, t.system, t.table_name)
            current = best.get(slot)
            if current is None or (rel.confidence, t.column_name.lower() == "id") > (
                    current.confidence, current.to_column.lower() == "id"):
                best[slot] = rel
        foreign = sorted(best.values(), key=lambda r: (r.from_system, r.from_table,
                                                        r.from_column, r.to_system, r.to_table))
        result = keys + foreign
        write_relationships(con, result, None if systems is None else wanted)
    return result
