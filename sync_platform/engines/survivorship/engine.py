"""Survivorship: build `golden.<entity>`, `_lineage` and `_conflicts` from staged records + xref.

Set-based in DuckDB: contributing staged records (joined to `golden.<entity>_xref`) are unpivoted
into one candidate row per (golden_id, field, source record) holding a non-empty value; one
window ordering per candidate, driven by the field's rule, picks the winner. Custom rules run as
vectorised Python over the conflicting (golden_id, field) groups only and feed a score back.
Deleted records contribute only when every record of the golden id is deleted. Ties are broken
by recency, then source_system, source_id, source_table: the same input gives the same output.

Runs are incremental. Every output row depends only on the records of its own golden id, so a
run recomputes only the golden ids whose inputs moved and keeps every other row. The inputs of
the last run are kept in `golden.<entity>_survivorship_recs`: one row per (golden id, source
record) with a 64-bit hash of every staged value survivorship reads (fields, is_deleted,
modified_at) and a 64-bit hash `h` of the whole row: changes are found by comparing the `h`
multisets of the last and this run (a join of integers, not of the rows' strings). A golden id
is recomputed when one of its records was edited, inserted, deleted
or lost its xref row, or when xref moved a record to or from it (merges, splits); golden ids
left without records are deleted. The table's comment holds a hash of the rules, the entity
definition and the engine version: when it differs (rules or entity changed), when any output
table is missing, or with `full_rebuild=True`, every golden id is rebuilt. The result equals a
full rebuild row for row, but `updated_at`: the time a golden row was last recomputed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.survivorship.custom import get_rule
from sync_platform.engines.survivorship.rules import COMPUTED_FIELDS, RuleSpec, SurvivorshipRules
from sync_platform.engines.transforms import SQL_TYPES
from sync_platform.engines.warehouse import (
    compact_when_needed,
    connect,
    moved_hashes_sql,
    quote,
    table_comment,
    table_exists,
)

_KEY = ["source_system", "source_table", "source_id"]
# Bump when the output of the same inputs and rules changes: the next run rebuilds everything.
ENGINE_VERSION = 2  # 2: the state rows carry their hash `h`
# Suffix of the input state table (`_recs`: a working table, left out of the published copy).
STATE_SUFFIX = "_survivorship_recs"


@dataclass
class GoldenResult:
    """What one survivorship run wrote."""

    entity: str
    golden_records: int
    deleted_golden_records: int
    source_records: int
    unresolved_records: int  # staged records without an xref row (not in any golden record)
    lineage_rows: int
    conflicts: int
    conflicts_by_field: dict[str, int] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    mode: str = "full"  # "full" | "incremental"
    reason: str = ""  # why a full rebuild ran ("" when incremental)
    changed_records: int = 0  # source records whose survivorship inputs or golden id changed
    recomputed_golden_ids: int = 0  # golden ids whose rows were (re)written by this run
    removed_golden_ids: int = 0  # golden ids deleted because no record belongs to them anymore


def _label(spec: RuleSpec) -> str:
    return f"custom:{spec.name}" if spec.rule == "custom" else spec.rule


def _rules_frame(entity: CanonicalEntity, rules: SurvivorshipRules,
                 system_of_record: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(field rules, source priorities) as small tables for the ranking query."""
    rows, priorities = [], []
    for name in _rule_fields(entity):
        if name == "modified_at":
            rows.append({"field": name, "rule": "latest_change", "ordering": "most_recent",
                         "sor_system": None})
            continue
        spec = rules.rule_for(name)
        group = rules.group_of(name)
        owner = system_of_record.get(group) if spec.rule == "system_of_record" and group else None
        rows.append({"field": name, "rule": _label(spec), "ordering": spec.ordering,
                     "sor_system": owner})
        for rank, system in enumerate(spec.priority or []):
            priorities.append({"field": name, "source_system": system, "prio": rank})
    prio = pd.DataFrame(priorities, columns=["field", "source_system", "prio"])
    return pd.DataFrame(rows), prio.astype({"prio": "int64"})


def _rule_fields(entity: CanonicalEntity) -> list[str]:
    """Fields chosen per candidate (modified_at too, always the latest; is_deleted aside)."""
    return [f for f in entity.field_names if f not in COMPUTED_FIELDS or f == "modified_at"]


def _custom_source(name: str) -> str:
    """The code of a custom rule (its name when the code cannot be read): a changed rule
    function changes the rules hash."""
    function = get_rule(name)
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', name)}"


def rules_hash(entity: CanonicalEntity, field_rules: pd.DataFrame, priorities: pd.DataFrame,
               inputs: list[str]) -> str:
    """What the output depends on besides the records: rules (with custom rule code), the
    entity's fields and types, the expressions read from staged, and the engine version."""
    customs = sorted({r.split(":", 1)[1] for r in field_rules["rule"] if r.startswith("custom:")})
    payload = {
        "engine": ENGINE_VERSION,
        "entity": entity.entity,
        "fields": [[f, entity.field(f).type] for f in entity.field_names],
        "rules": field_rules.astype(object).where(field_rules.notna(), None).to_dict("records"),
        "priorities": priorities.to_dict("records"),
        "custom": {name: _custom_source(name) for name in customs},
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _custom_scores(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity,
                   rules: SurvivorshipRules) -> pd.DataFrame:
    """Scores of the custom rules, computed only for groups whose sources disagree."""
    frames = [pd.DataFrame(columns=["golden_id", "field", *_KEY, "custom_score"])]
    for name in _rule_fields(entity):
        spec = rules.rule_for(name)
        if spec.rule != "custom" or name in COMPUTED_FIELDS:
            continue
        candidates = con.execute(
            "SELECT golden_id, value, source_system, source_table, source_id, modified_at "
            "FROM _sv_candidates WHERE field = ? AND n_values > 1 "
            "ORDER BY golden_id, source_system, source_id, source_table", [name]).df()
        if candidates.empty:
            continue
        scores = pd.Series(get_rule(spec.name)(candidates), index=candidates.index, dtype=float)
        frame = candidates[["golden_id", *_KEY]].copy()
        frame.insert(1, "field", name)
        frame["custom_score"] = scores.to_numpy()
        frames.append(frame)
    out = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    return out.astype({"golden_id": str, "field": str, "source_system": str,
                       "source_table": str, "source_id": str, "custom_score": float})


def _full_reason(con: duckdb.DuckDBPyConnection, name: str, wanted_hash: str,
                 full_rebuild: bool) -> str:
    """Why this run must rebuild every golden id ("" when it can run incrementally)."""
    if full_rebuild:
        return "full_rebuild requested"
    for table in (name, name + "_lineage", name + "_conflicts", name + STATE_SUFFIX):
        if not table_exists(con, "golden", table):
            return f"first run (no golden.{table})"
    stored = table_comment(con, "golden", name + STATE_SUFFIX)
    if stored != wanted_hash:
        return "rules, entity definition or engine changed since the last run"
    return ""


def build_golden(warehouse: Path, entity: CanonicalEntity, rules: SurvivorshipRules,
                 system_of_record: dict[str, str], now: datetime | None = None,
                 full_rebuild: bool = False) -> GoldenResult:
    """Update `golden.<entity>`, `golden.<entity>_lineage` and `golden.<entity>_conflicts` from
    `staged.<entity>` and `golden.<entity>_xref` (which must exist): only the golden ids whose
    records changed, or all of them on the first run, after a change of the rules or entity,
    or with `full_rebuild` (see the module docstring)."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    name = entity.entity
    staged, xref = f"staged.{quote(name)}", f"golden.{quote(name + '_xref')}"
    state = f"golden.{quote(name + STATE_SUFFIX)}"
    with connect(warehouse) as con:
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staged' "
            "AND table_name = ?", [name]).fetchall()}
        deleted = "coalesce(s.is_deleted, false)" if "is_deleted" in columns else "false"
        modified = "s.modified_at" if "modified_at" in columns else "NULL::TIMESTAMP"
        fields = _rule_fields(entity)
        field_rules, priorities = _rules_frame(entity, rules, system_of_record)
        wanted_hash = rules_hash(entity, field_rules, priorities, [deleted, modified])
        con.register("_sv_rules_df", field_rules)
        con.register("_sv_prio_df", priorities)
        con.execute("CREATE OR REPLACE TEMP TABLE _sv_rules AS SELECT * FROM _sv_rules_df")
        con.execute("CREATE OR REPLACE TEMP TABLE _sv_prio AS SELECT * FROM _sv_prio_df")
        # every value survivorship reads, per (golden id, record): what the next run compares
        fingerprint = ", ".join([f"s.{quote(f)}" for f in fields] + [deleted, f"{modified}::TIMESTAMP"])
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _sv_inputs AS
            SELECT *, hash(golden_id, source_system, source_table, source_id, fingerprint) AS h
            FROM (SELECT x.golden_id::VARCHAR AS golden_id, s.source_system, s.source_table,
                         s.source_id, hash({fingerprint}) AS fingerprint
                  FROM {staged} s JOIN {xref} x USING (source_system, source_table, source_id))""")
        unresolved = con.execute(f"""
            SELECT count(*) FROM {staged} s ANTI JOIN {xref} x
            USING (source_system, source_table, source_id)""").fetchall()[0][0]
        reason = _full_reason(con, name, wanted_hash, full_rebuild)
        changed = removed = 0
        if reason:
            scope = ""
        else:
            # records whose inputs or golden id differ from the last run, in either direction:
            # the row hashes held a different number of times by this and the last run
            con.execute("CREATE OR REPLACE TEMP TABLE _sv_moved AS "
                        + moved_hashes_sql("SELECT h FROM _sv_inputs", f"SELECT h FROM {state}"))
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _sv_changed AS
                SELECT * FROM _sv_inputs WHERE h IN (SELECT h FROM _sv_moved)
                UNION ALL
                SELECT * FROM {state} WHERE h IN (SELECT h FROM _sv_moved)""")
            # ... and, as a safety net, golden ids present in only one of inputs and output
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _sv_affected AS
                SELECT golden_id FROM _sv_changed
                UNION
                SELECT coalesce(i.golden_id, g.golden_id) FROM (
                    SELECT DISTINCT golden_id FROM _sv_inputs) i
                FULL JOIN golden.{quote(name)} g ON g.golden_id = i.golden_id
                WHERE i.golden_id IS NULL OR g.golden_id IS NULL""")
            changed = con.execute("SELECT count(*) FROM (SELECT DISTINCT source_system, "
                                  "source_table, source_id FROM _sv_changed)").fetchall()[0][0]
            removed = con.execute("SELECT count(*) FROM _sv_affected ANTI JOIN _sv_inputs "
                                  "USING (golden_id)").fetchall()[0][0]
            scope = "SEMI JOIN _sv_affected a ON a.golden_id = x.golden_id::VARCHAR"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _sv_records AS
            SELECT x.golden_id::VARCHAR AS golden_id, s.*, {deleted} AS _deleted,
                   {modified}::TIMESTAMP AS _modified
            FROM {staged} s JOIN {xref} x USING (source_system, source_table, source_id)
            {scope}""")
        recomputed = con.execute(
            "SELECT count(DISTINCT golden_id) FROM _sv_records").fetchall()[0][0]
        _survive(con, entity, rules, fields)
        if reason:
            _write_full(con, entity, fields, now, wanted_hash)
        else:
            _write_incremental(con, entity, fields, now)
            compact_when_needed(con, [*_outputs(entity, fields), state])
        counts = con.execute(f"""
            SELECT (SELECT count(*) FROM golden.{quote(name)}),
                   (SELECT count(*) FROM golden.{quote(name)} WHERE is_deleted),
                   (SELECT count(*) FROM _sv_inputs),
                   (SELECT count(*) FROM golden.{quote(name + '_lineage')}),
                   (SELECT count(*) FROM golden.{quote(name + '_conflicts')})""").fetchall()[0]
        by_field = dict(con.execute(
            f"SELECT field, count(*) FROM golden.{quote(name + '_conflicts')} "
            "GROUP BY field ORDER BY field").fetchall())
    return GoldenResult(
        entity=name, golden_records=counts[0], deleted_golden_records=counts[1],
        source_records=counts[2], unresolved_records=unresolved, lineage_rows=counts[3],
        conflicts=counts[4], conflicts_by_field=by_field,
        tables=[f"golden.{name}", f"golden.{name}_lineage", f"golden.{name}_conflicts"],
        mode="full" if reason else "incremental", reason=reason,
        changed_records=counts[2] if reason else changed, recomputed_golden_ids=recomputed,
        removed_golden_ids=removed)


def _survive(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, rules: SurvivorshipRules,
             fields: list[str]) -> None:
    """`_sv_candidates` and `_sv_winners` of the records in `_sv_records`."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _sv_contrib AS
        SELECT r.* FROM _sv_records r JOIN (
            SELECT golden_id, bool_and(_deleted) AS all_deleted FROM _sv_records
            GROUP BY golden_id) g USING (golden_id)
        WHERE NOT r._deleted OR g.all_deleted""")
    unpivot = " UNION ALL ".join(
        f"SELECT golden_id, '{f}' AS field, CAST({quote(f)} AS VARCHAR) AS value, "
        f"source_system, source_table, source_id, _modified AS modified_at FROM _sv_contrib"
        for f in fields)
    # per-value and per-field counts as grouped aggregates joined back: the same numbers as
    # window functions over the three partitions, without sorting every candidate row
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sv_candidates AS
        WITH c AS (
            SELECT * FROM ({unpivot}) WHERE value IS NOT NULL AND trim(value) <> ''),
        per_value AS (
            SELECT golden_id, field, value, count(*) AS freq, max(modified_at) AS value_latest
            FROM c GROUP BY golden_id, field, value),
        per_field AS (
            SELECT golden_id, field, count(*) AS n_values FROM per_value
            GROUP BY golden_id, field)
        SELECT c.*, f.n_values, v.freq, v.value_latest, length(trim(c.value)) AS completeness
        FROM c JOIN per_value v USING (golden_id, field, value)
        JOIN per_field f USING (golden_id, field)""")
    con.register("_sv_scores_df", _custom_scores(con, entity, rules))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _sv_ranked AS
        SELECT c.*, r.rule, r.ordering, r.sor_system,
               row_number() OVER (
                   PARTITION BY c.golden_id, c.field ORDER BY
                   coalesce(c.source_system = r.sor_system, false) DESC,
                   CASE WHEN r.ordering = 'custom' THEN coalesce(s.custom_score, '-inf'::DOUBLE)
                        ELSE 0 END DESC,
                   CASE WHEN r.ordering = 'source_priority'
                        THEN coalesce(p.prio, 1000000) ELSE 0 END ASC,
                   CASE r.ordering WHEN 'most_complete' THEN c.completeness
                        WHEN 'most_frequent' THEN c.freq ELSE 0 END DESC,
                   CASE WHEN r.ordering = 'most_frequent' THEN c.value_latest END
                        DESC NULLS LAST,
                   c.modified_at DESC NULLS LAST,
                   c.source_system, c.source_id, c.source_table, c.value) AS pick
        FROM _sv_candidates c
        JOIN _sv_rules r USING (field)
        LEFT JOIN _sv_prio p ON p.field = c.field AND p.source_system = c.source_system
        LEFT JOIN _sv_scores_df s ON s.golden_id = c.golden_id AND s.field = c.field
            AND s.source_system = c.source_system AND s.source_table = c.source_table
            AND s.source_id = c.source_id""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _sv_winners AS
        SELECT golden_id, field, value, source_system, source_table, source_id, modified_at,
               CASE WHEN sor_system IS NULL THEN rule
                    WHEN source_system = sor_system
                    THEN 'system_of_record:' || sor_system
                    ELSE ordering || ' (fallback: ' || sor_system || ' has no value)'
               END AS rule, n_values
        FROM _sv_ranked WHERE pick = 1""")


def _outputs(entity: CanonicalEntity, fields: list[str]) -> dict[str, str]:
    """The SELECT of each output table over `_sv_records` / `_sv_winners` / `_sv_candidates`
    (the golden one takes `now` as its one parameter)."""
    pivot = ",\n".join(
        f"CAST(max(w.value) FILTER (WHERE w.field = '{f}') AS "
        f"{SQL_TYPES[entity.field(f).type]}) AS {quote(f)}"
        for f in fields)
    ordered = ", ".join(
        quote(f) if f != "is_deleted" else "g.is_deleted" for f in entity.field_names)
    if "is_deleted" not in entity.field_names:
        ordered += ", g.is_deleted"
    golden = f"""
        WITH g AS (
            SELECT golden_id, bool_and(_deleted) AS is_deleted, count(*) AS source_count
            FROM _sv_records GROUP BY golden_id),
        v AS (SELECT w.golden_id, {pivot} FROM _sv_winners w GROUP BY w.golden_id)
        SELECT g.golden_id, {ordered}, ?::TIMESTAMP AS updated_at, g.source_count
        FROM g LEFT JOIN v USING (golden_id) ORDER BY g.golden_id"""
    # is_deleted is explained by the most recent record that decided it.
    lineage = """
        SELECT golden_id, field, value, source_system, source_table, source_id, rule,
               modified_at
        FROM (
            SELECT golden_id, field, value, source_system, source_table, source_id, rule,
                   modified_at FROM _sv_winners
            UNION ALL
            SELECT golden_id, 'is_deleted', CAST(_deleted AS VARCHAR), source_system,
                   source_table, source_id,
                   CASE WHEN _deleted THEN 'all_sources_deleted'
                        ELSE 'active_in_a_source' END, _modified
            FROM (SELECT *, row_number() OVER (
                      PARTITION BY golden_id ORDER BY _deleted ASC, _modified DESC NULLS LAST,
                      source_system, source_id, source_table) AS pick
                  FROM _sv_records) WHERE pick = 1)
        ORDER BY golden_id, field"""
    conflicts = """
        SELECT w.golden_id, w.field, w.value AS chosen_value,
               w.source_system AS chosen_source_system, w.source_table AS chosen_source_table,
               w.source_id AS chosen_source_id, w.rule,
               to_json(list(struct_pack(value := c.value, source_system := c.source_system,
                                        source_table := c.source_table,
                                        source_id := c.source_id,
                                        modified_at := c.modified_at)
                            ORDER BY c.source_system, c.source_id, c.source_table))
                   AS rejected
        FROM _sv_winners w
        JOIN _sv_candidates c ON c.golden_id = w.golden_id AND c.field = w.field
            AND c.value <> w.value
        WHERE w.n_values > 1 AND w.field <> 'modified_at'
        GROUP BY ALL ORDER BY w.golden_id, w.field"""
    name = entity.entity
    return {f"golden.{quote(name)}": golden, f"golden.{quote(name + '_lineage')}": lineage,
            f"golden.{quote(name + '_conflicts')}": conflicts}


def _write_full(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, fields: list[str],
                now: datetime, wanted_hash: str) -> None:
    """Replace the three output tables and the input state in one transaction."""
    state = f"golden.{quote(entity.entity + STATE_SUFFIX)}"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        for table, select in _outputs(entity, fields).items():
            params = [now] if "?::TIMESTAMP" in select else []
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}", params)
        con.execute(f"CREATE OR REPLACE TABLE {state} AS SELECT * FROM _sv_inputs")
        con.execute(f"COMMENT ON TABLE {state} IS '{wanted_hash}'")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _write_incremental(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity,
                       fields: list[str], now: datetime) -> None:
    """Replace the rows of the affected golden ids and the state rows of the changed records
    in one transaction."""
    state = f"golden.{quote(entity.entity + STATE_SUFFIX)}"
    con.execute("BEGIN TRANSACTION")
    try:
        for table, select in _outputs(entity, fields).items():
            params = [now] if "?::TIMESTAMP" in select else []
            con.execute(f"DELETE FROM {table} WHERE golden_id IN (SELECT golden_id FROM _sv_affected)")
            con.execute(f"INSERT INTO {table} {select}", params)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _sv_changed_keys AS
            SELECT DISTINCT source_system, source_table, source_id FROM _sv_changed""")
        con.execute(f"""
            DELETE FROM {state} USING _sv_changed_keys k
            WHERE {state}.source_system = k.source_system AND {state}.source_table = k.source_table
              AND {state}.source_id = k.source_id""")
        con.execute(f"""
            INSERT INTO {state} SELECT i.* FROM _sv_inputs i
            SEMI JOIN _sv_changed_keys k USING (source_system, source_table, source_id)""")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
