"""Ad hoc resolution: which records of a few exported files are the same real-world entity.

`resolve_files("contact", [salesforce.csv, hubspot.csv, quickbooks.csv], out=...)` lets a user try
the platform on their own exports before connecting anything. Everything happens in a temporary
DuckDB warehouse; the mappings folder is only read (canonical entities, learned knowledge, the
auto-apply threshold). Per file:

1. load it as `raw_<source>.<file name>` (read like `mappings suggest` reads it: CSV as text);
2. profile it (profiling engine) and find its record key: given (`keys`), else the best candidate
   primary key that is unique over the whole file, else the row number (1 = first data row);
3. map it to the entity with the mapping engine as `propose_mappings` does (values already mapped
   in the other files are evidence): rules at or above the auto-apply threshold are used as
   "auto", the engine's best remaining proposal per field as "top proposal" (never for the key
   column, which is the record id);
4. stage every file into `staged.<entity>` with the staging engine. Nothing is rejected here:
   required / identifier flags are dropped for this run, so a missing or invalid value becomes
   NULL (counted as a warning) and every input row is resolved.

Then `identity.resolve()` clusters the records; the result lists every input row with its
golden id, in file order, and the CSV (`out`) has the columns source, record_id, golden_id.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from sync_platform import settings
from sync_platform.engines.canonical import (
    CanonicalEntity,
    FieldRule,
    SystemMapping,
    load_entities,
)
from sync_platform.engines.catalog.loader import read_yaml, validate_model
from sync_platform.engines.catalog.models import MappingConfig
from sync_platform.engines.identity.config import MatchConfig, ResolutionResult
from sync_platform.engines.identity.prepare import supported
from sync_platform.engines.identity.resolve import resolve
from sync_platform.engines.mapping.features import targets_from_entity
from sync_platform.engines.mapping.knowledge import Knowledge
from sync_platform.engines.mapping.proposals import add_references, build_rules, with_references
from sync_platform.engines.mapping.scoring import score_table
from sync_platform.engines.mapping.steps import notes
from sync_platform.engines.mapping.suggest import relation_for
from sync_platform.engines.profiling import ColumnProfile, candidate_keys, profile_relation
from sync_platform.engines.staging import stage_entity
from sync_platform.engines.warehouse import connect, quote

ROW_NUMBER = "__row_number"  # key column added when a file has no unique key
ALL_FILES = "*"  # in `keys`: the key column of every file not named
OUTPUT_COLUMNS = ("source", "record_id", "golden_id")
TOP_PROPOSAL = "top proposal"


class AdhocError(ValueError):
    """A problem with the input files or options; the message names the file."""


@dataclass(frozen=True)
class FieldUse:
    """One mapping rule used for a file: source column(s) -> canonical field(s)."""

    sources: list[str]
    targets: list[str]
    confidence: float
    used: Literal["auto", "top proposal"]
    steps: list[str]  # transform step kinds, e.g. ["trim", "upper"]
    transform: str  # the steps with their parameters, e.g. "phone(default_region=US)"
    evidence: str


@dataclass
class FileReport:
    """What happened to one input file."""

    file: str
    source: str  # the system name written to the output
    table: str
    rows: int
    key: str | None  # key column; None when the row number is the record id
    key_origin: Literal["given", "detected", "row number"]
    key_note: str
    fields: list[FieldUse] = field(default_factory=list)
    not_used: list[str] = field(default_factory=list)  # columns the mapping did not use
    staging_notes: list[str] = field(default_factory=list)
    warnings: int = 0  # values set to NULL by staging (invalid for their field)
    unresolved: int = 0  # rows without a golden id (e.g. marked deleted in the file)


@dataclass(frozen=True)
class ClusterRow:
    source: str
    record_id: str
    golden_id: str | None


@dataclass
class AdhocResult:
    entity: str
    files: list[FileReport]
    rows: list[ClusterRow]
    resolution: ResolutionResult
    out: Path | None = None

    @property
    def records(self) -> int:
        return len(self.rows)

    @property
    def golden_records(self) -> int:
        return len({r.golden_id for r in self.rows if r.golden_id})

    @property
    def multi_member_clusters(self) -> int:
        sizes: dict[str, int] = {}
        for r in self.rows:
            if r.golden_id:
                sizes[r.golden_id] = sizes.get(r.golden_id, 0) + 1
        return sum(1 for n in sizes.values() if n > 1)


@dataclass
class _Input:
    spec: str
    source: str
    table: str
    key: str | None = None  # given by the caller
    profiles: list[ColumnProfile] = field(default_factory=list)
    report: FileReport | None = None
    mapping: SystemMapping | None = None


def auto_apply_threshold(mappings_dir: Path | str | None = None) -> float:
    """`mapping.auto_apply_threshold` of the folder's systems.yaml (its default without one)."""
    folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    file = folder / "systems.yaml"
    raw = read_yaml(file) if file.is_file() else None
    section = raw.get("mapping") if isinstance(raw, dict) else None
    return validate_model(file, MappingConfig, section or {}).auto_apply_threshold


def _label(spec: str) -> tuple[str, str]:
    """(default source name, table name) of a file path or `db.duckdb::schema.table`."""
    if "::" in spec:
        table = spec.split("::", 1)[1]
        return table.split(".")[-1], table
    return Path(spec).stem, Path(spec).name


def _lookup(option: dict[str, str], inp: _Input) -> str | None:
    """The value of a per-file option, given by file path, file name, stem or source name."""
    for name in (inp.spec, Path(inp.spec).name, _label(inp.spec)[0], inp.source):
        if name in option:
            return option[name]
    return None


def _inputs(files: list[Path | str], keys: dict[str, str] | str | None,
            names: dict[str, str] | None) -> list[_Input]:
    if not files:
        raise AdhocError("no input files")
    inputs = []
    for f in files:
        spec = str(f)
        path = Path(spec.split("::", 1)[0]).expanduser()
        if not path.is_file():
            raise AdhocError(f"{spec}: no such file")
        if "::" not in spec and path.stat().st_size == 0:
            raise AdhocError(f"{spec}: the file is empty")
        stem, table = _label(spec)
        inputs.append(_Input(spec, stem, table))
    names = names or {}
    for inp in inputs:
        inp.source = _lookup(names, inp) or inp.source
        if not inp.source.strip() or "/" in inp.source:
            raise AdhocError(f"{inp.spec}: source name {inp.source!r} must be non-empty without '/'")
    known = {n for inp in inputs for n in (inp.spec, Path(inp.spec).name, _label(inp.spec)[0])}
    unknown = sorted(set(names) - known)
    if unknown:
        raise AdhocError(f"--name for unknown file(s) {unknown}; files: "
                         f"{', '.join(i.spec for i in inputs)}")
    seen: dict[str, str] = {}
    for inp in inputs:
        if inp.source in seen:
            raise AdhocError(f"{inp.spec}: source name {inp.source!r} is also used by {seen[inp.source]};"
                             f" give each file its own name (--name {Path(inp.spec).stem}=SYSTEM)")
        seen[inp.source] = inp.spec
    if isinstance(keys, str):
        for inp in inputs:
            inp.key = keys
    elif keys:
        known |= {inp.source for inp in inputs} | {ALL_FILES}
        unknown = sorted(set(keys) - known)
        if unknown:
            raise AdhocError(f"--key for unknown file(s) {unknown}; files: "
                             f"{', '.join(i.spec for i in inputs)}")
        for inp in inputs:
            inp.key = _lookup(keys, inp) or keys.get(ALL_FILES)
    return inputs


def _load(con: duckdb.DuckDBPyConnection, inp: _Input, alias: str) -> int:
    """Create `raw_<source>.<table>` from the file; returns its row count."""
    try:
        relation, _ = relation_for(con, inp.spec, alias)
        schema = quote("raw_" + inp.source)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE {schema}.{quote(inp.table)} AS SELECT * FROM {relation}")
    except ValueError as exc:  # unsupported file type (relation_for names the file)
        raise AdhocError(str(exc)) from None
    except duckdb.Error as exc:
        raise AdhocError(f"{inp.spec}: cannot read it: {str(exc).splitlines()[0]}") from None
    return con.execute(f"SELECT count(*) FROM {_raw(inp)}").fetchall()[0][0]


def _raw(inp: _Input) -> str:
    return f"{quote('raw_' + inp.source)}.{quote(inp.table)}"


def _key_problem(con: duckdb.DuckDBPyConnection, inp: _Input, column: str) -> str | None:
    """Why `column` cannot identify the file's rows (None when every row has its own value)."""
    col = quote(column)
    empty, dup_values, dup_rows, example = con.execute(
        f"SELECT (SELECT count(*) FROM {_raw(inp)} WHERE nullif(trim(CAST({col} AS VARCHAR)), "
        f"'') IS NULL), count(*), coalesce(sum(n), 0), min(v) FROM (SELECT CAST({col} AS VARCHAR) "
        f"AS v, count(*) AS n FROM {_raw(inp)} WHERE {col} IS NOT NULL GROUP BY 1 HAVING n > 1)"
    ).fetchall()[0]
    if empty:
        return f"{empty} row(s) have no {column!r} value"
    if dup_values:
        return (f"{dup_values} {column!r} value(s) occur more than once ({dup_rows} rows), "
                f"e.g. {example!r}")
    return None


def _choose_key(con: duckdb.DuckDBPyConnection, inp: _Input, rows: int) -> None:
    report = inp.report
    columns = [p.column_name for p in inp.profiles]
    if inp.key is not None:
        if inp.key not in columns:
            raise AdhocError(f"{inp.spec}: key column {inp.key!r} not found; columns: "
                             f"{', '.join(columns)}")
        problem = _key_problem(con, inp, inp.key)
        if problem:
            raise AdhocError(f"{inp.spec}: key column {inp.key!r} does not identify the rows: "
                             f"{problem}")
        report.key, report.key_origin, report.key_note = inp.key, "given", "given with --key"
        return
    rejected = []
    for candidate in candidate_keys(inp.profiles):
        problem = _key_problem(con, inp, candidate.from_column)
        if problem is None:
            report.key, report.key_origin = candidate.from_column, "detected"
            report.key_note = f"detected: {candidate.evidence}"
            return
        rejected.append(f"{candidate.from_column}: {problem}")
    con.execute(f"ALTER TABLE {_raw(inp)} ADD COLUMN {ROW_NUMBER} BIGINT")
    con.execute(f"UPDATE {_raw(inp)} SET {ROW_NUMBER} = rowid + 1")
    report.key, report.key_origin = None, "row number"
    report.key_note = ("no unique, never-empty key column found"
                       + (f" ({'; '.join(rejected)})" if rejected else "")
                       + f": record_id is the row number (1 = first of {rows} data rows)")


def _rules(inp: _Input, entity: CanonicalEntity, knowledge: Knowledge, threshold: float,
           references: dict) -> SystemMapping:
    """The file's mapping: auto-applied rules plus the engine's top proposals, all applied."""
    targets = with_references(targets_from_entity(entity, knowledge), entity.entity, references,
                               f"{inp.source}.{inp.table}.")
    candidates = score_table(inp.profiles, targets, entity=entity.entity, knowledge=knowledge)
    rules = build_rules(candidates, threshold, set(), set())
    return SystemMapping(id=SystemMapping.make_id(inp.source, inp.table, entity.entity),
                         source_system=inp.source, source_table=inp.table,
                         entity_type=entity.entity, mapping_rules=rules, status="auto_applied")


def _usable(mapping: SystemMapping, key: str | None) -> list[FieldRule]:
    """Rules used for staging: auto-applied ones and top proposals not reading the key column."""
    used = []
    for rule in mapping.mapping_rules:
        if rule.status == "auto_applied":
            used.append(rule)
        elif key not in rule.sources:
            used.append(rule.model_copy(update={"status": "approved", "decided_by": TOP_PROPOSAL}))
    return used


def _map_files(inputs: list[_Input], entity: CanonicalEntity, knowledge: Knowledge,
               threshold: float) -> None:
    """Two passes like `propose_mappings`: each file alone, then with the values the other files'
    auto-applied rules map to each field as evidence."""
    references: dict = {}
    for inp in inputs:
        add_references(references, entity.entity, _rules(inp, entity, knowledge, threshold, {}),
                        {p.column_name: p for p in inp.profiles})
    needed = sorted({f.name for f in entity.fields if f.required or f.identifier})
    for inp in inputs:
        mapping = _rules(inp, entity, knowledge, threshold, references)
        mapping.mapping_rules = _usable(mapping, inp.report.key)
        covered = {t for r in mapping.mapping_rules for t in r.targets}
        if not covered & set(needed):
            raise AdhocError(
                f"{inp.spec}: no usable mapping to {entity.entity}: none of its columns "
                f"({', '.join(p.column_name for p in inp.profiles)}) maps to "
                f"{' or '.join(needed)}; rename a column or extend "
                f"mappings/entities/{entity.entity}.yaml")
        inp.mapping = mapping
        inp.report.fields = [
            FieldUse(r.sources, r.targets, r.confidence,
                     TOP_PROPOSAL if r.decided_by == TOP_PROPOSAL else "auto",
                     [step.kind for step in r.transform], notes(r.transform), r.evidence)
            for r in sorted(mapping.mapping_rules, key=lambda r: entity.field_names.index(
                r.targets[0]) if r.targets[0] in entity.field_names else len(entity.fields))]
        used = {s for r in mapping.mapping_rules for s in r.sources}
        inp.report.not_used = [p.column_name for p in inp.profiles
                               if p.column_name not in used and p.column_name != inp.report.key]


def _lenient(entity: CanonicalEntity) -> CanonicalEntity:
    """The entity without required/identifier flags: staging keeps every row (bad values NULL)."""
    fields = [f.model_copy(update={"required": False, "identifier": False})
              for f in entity.fields]
    return entity.model_copy(update={"fields": fields})


def _results(warehouse: Path, entity: str, inputs: list[_Input]) -> list[ClusterRow]:
    """Every input row, in file order, with the golden id of its record."""
    rows: list[ClusterRow] = []
    with connect(warehouse, read_only=True) as con:
        for inp in inputs:
            key = quote(inp.report.key or ROW_NUMBER)
            found = con.execute(
                f"SELECT CAST(r.{key} AS VARCHAR), x.golden_id FROM {_raw(inp)} r "
                f"LEFT JOIN golden.{quote(entity + '_xref')} x ON x.source_system = ? AND "
                f"x.source_table = ? AND x.source_id = CAST(r.{key} AS VARCHAR) ORDER BY r.rowid",
                [inp.source, inp.table]).fetchall()
            inp.report.unresolved = sum(1 for _, g in found if g is None)
            rows += [ClusterRow(inp.source, rid, gid) for rid, gid in found]
    return rows


def write_csv(rows: list[ClusterRow], out: Path | str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows((r.source, r.record_id, r.golden_id or "") for r in rows)
    return out


def resolve_files(entity: str, files: list[Path | str], out: Path | str | None = None,
                  keys: dict[str, str] | str | None = None, names: dict[str, str] | None = None,
                  mappings_dir: Path | str | None = None,
                  config: MatchConfig | None = None) -> AdhocResult:
    """Profile, map, stage and resolve `files` as records of `entity`; see the module doc.

    `keys`: one key column for every file, or {file: column} (file given by path, name, stem or
    source name; "*" for every other file); files without one get a detected key.
    `names`: {file: source name} (default: the file stem). Raises AdhocError (a ValueError naming the file) for unusable input.
    """
    folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    entities = load_entities(folder)
    if entity not in entities:
        raise AdhocError(f"unknown entity {entity!r}; known: {', '.join(sorted(entities))}")
    if not supported(entity):
        raise AdhocError(f"identity resolution does not support entity {entity!r} yet")
    canonical = entities[entity]
    inputs = _inputs(list(files), keys, names)
    knowledge = Knowledge.load(folder)
    threshold = auto_apply_threshold(folder)
    with tempfile.TemporaryDirectory(prefix="sync_adhoc_") as tmp:
        warehouse = Path(tmp) / "adhoc.duckdb"
        with connect(warehouse) as con:
            for i, inp in enumerate(inputs):
                rows = _load(con, inp, f"adhoc_src{i}")
                if rows == 0:
                    raise AdhocError(f"{inp.spec}: no data rows")
                inp.profiles = profile_relation(con, _raw(inp), inp.source, inp.table)
                inp.report = FileReport(inp.spec, inp.source, inp.table, rows, None,
                                        "row number", "")
                _choose_key(con, inp, rows)
        _map_files(inputs, canonical, knowledge, threshold)
        staged = stage_entity(warehouse, _lenient(canonical), [i.mapping for i in inputs],
                              {(i.source, i.table): [i.report.key or ROW_NUMBER] for i in inputs})
        for inp in inputs:
            counts = staged.counts(inp.mapping.id)
            inp.report.warnings = counts.warnings
            inp.report.staging_notes = list(counts.notes)
        # the platform's match decisions name connected systems' records, not these files
        resolution = resolve(warehouse, canonical, full_rebuild=True, config=config,
                             mappings_dir=Path(tmp))
        rows = _results(warehouse, entity, inputs)
    result = AdhocResult(entity, [i.report for i in inputs], rows, resolution)
    if out is not None:
        result.out = write_csv(rows, out)
    return result


def as_mapping(rows: list[ClusterRow]) -> dict[tuple[str, str], str]:
    """(source, record_id) -> golden_id, the shape `identity.evaluate` scores."""
    return {(r.source, r.record_id): r.golden_id for r in rows if r.golden_id}


__all__ = ["ALL_FILES", "AdhocError", "AdhocResult", "ClusterRow", "FieldUse", "FileReport",
                      "as_mapping", "auto_apply_threshold", "resolve_files", "write_csv"]
