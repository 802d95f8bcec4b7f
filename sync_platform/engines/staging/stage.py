"""stage_entity / stage_all: write `staged.<entity>` and `quality.rejects` from landed tables.

For each applied mapping of the entity, one SELECT over `raw_<system>.<table>` (see query.py) is
materialised into a temp table; then, in one transaction, the entity's staged rows and reject rows
are written. Rows of *paused* mappings are kept as they were (a paused mapping is frozen, e.g. after
a breaking schema change); rows of other non-applied mappings are removed.

Runs are incremental. Every staged row and every reject row depends only on its own raw row
(given the mapping, the entity and the code), so a mapping whose inputs besides the rows are
unchanged stages only the raw rows that changed since its last run and keeps every other row.
Changes are found by hashing every raw row (all columns) and comparing the hashes, as multisets,
with the ones stored for the rows staged last (`meta.staging_rows`, see state.py):

- new or edited raw rows (a hash not stored before) are staged; soft deletes are edits;
- the source ids of stored rows whose hash is gone (edited or hard-deleted rows) and of the new
  rows are "affected": their staged rows, reject rows and stored hashes are replaced in one
  transaction; an id whose raw row was hard-deleted simply loses its rows;
- a second run without changes reads nothing (0 rows processed).

Why hashes and not dlt's `_dlt_load_id` watermark: tables landed from Arrow/Parquet items (the
SQL and file connectors: accounting, hr, payroll, warehouse) have no `_dlt_load_id` column, hard
deletes leave no load id behind, and a full export merged again (files) gets new load ids for
unchanged rows. Hashing reads the raw table once per run (a fraction of the staging query, which
runs Python UDFs per row) and catches every change, including hard deletes, exactly.

A mapping is rebuilt (today's full path: all its raw rows) instead, with the reason in the
result, when: `full=True`; `staged.<entity>` or `quality.rejects` is new or `staged.<entity>`'s
columns changed (every mapping); the mapping has no state yet (first run, new or re-applied
mapping); its fingerprint changed (staging/transform code or libraries, entity definition, raw
columns, mapping query text, or the latest load time when modified_at falls back to it); the
source id is the row number; the stored state no longer matches the staged rows; or a source id is
shared by a changed row and an unchanged one (a key that is not unique).

Equal to a full rebuild row for row but `staged_at` and `rejected_at`: they keep the time of the
run that last staged the record (the time its values were last computed). An incremental run
checks whether its tables need compacting (`warehouse.compact_when_needed`): the warehouse
checkpoints without DuckDB's vacuum until then.

Counts (results.py): read/staged/rejected/warnings are the rows this run processed; rows_total,
staged_total and rejected_total the whole mapping after the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sync_platform.engines.canonical import APPLIED, CanonicalEntity, SystemMapping
from sync_platform.engines.staging import state
from sync_platform.engines.staging.query import build_mapping_query, raw_relation
from sync_platform.engines.staging.results import MappingCounts, SkippedMapping, StagingResult
from sync_platform.engines.staging.tables import (
    REJECTS,
    ensure_rejects,
    ensure_staged,
    existing_columns,
    staged_reusable,
    staged_table,
)
from sync_platform.engines.transforms import register_udfs
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import compact_when_needed, connect, quote

KeyColumns = dict[tuple[str, str], list[str]]


@dataclass
class _Work:
    """One mapping's work, in temp tables: `temp` (the rows processed; absent when there are
    none), `hashes` (every raw row), `affected` (incremental: the source ids replaced)."""

    counts: MappingCounts
    i: int
    fingerprint: dict[str, str]
    incremental: bool = False
    rows: bool = True  # False: no row to stage (incremental, nothing new or changed)

    def name(self, part: str) -> str:
        return f"__staging_{part}_{self.i}"

    @property
    def temp(self) -> str:
        return self.name("rows")

    @property
    def hashes(self) -> str:
        return self.name("hashes")

    @property
    def affected(self) -> str | None:
        return self.name("affected") if self.incremental else None

    def temps(self) -> list[str]:
        return [self.name(part) for part in ("rows", "hashes", "todo", "gone", "affected")]


def _skip_reason(entity: CanonicalEntity, mapping: SystemMapping) -> str | None:
    if mapping.target_system != "canonical":
        return f"targets system {mapping.target_system!r}, not the canonical model"
    if mapping.status not in APPLIED:
        why = f": {mapping.status_reason}" if mapping.status_reason else ""
        kept = " (rows staged earlier are kept)" if mapping.status == "paused" else ""
        return f"status {mapping.status}{why}{kept}"
    covered = {target for rule in mapping.applied_rules() for target in rule.targets}
    missing = [f.name for f in entity.fields if f.required and f.name not in covered]
    if missing:
        # Staging would reject every record; wait for the mapping to be completed instead.
        return (f"incomplete: required field(s) {', '.join(missing)} have no applied rule yet "
                "(review pending: sync-platform mappings review)")
    return None


def _entity_reason(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity,
                   applied: list[SystemMapping], full: bool) -> str:
    """Why every mapping of the entity must be rebuilt ('' when each may run incrementally)."""
    if full:
        return "full rebuild requested"
    if reason := staged_reusable(con, entity):
        return reason
    if not existing_columns(con, "quality", "rejects"):
        return f"first run (no {REJECTS})"
    pairs = [(m.source_system, m.source_table) for m in applied]
    if len(set(pairs)) < len(pairs):
        return "several applied mappings read the same source table"
    return ""


def _materialise(con: duckdb.DuckDBPyConnection, sql: str, temp: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT *, coalesce(list_bool_or("
                f"list_transform(__issues, lambda x: x.severity = 'error')), FALSE) "
                f"AS __rejected FROM ({sql})")


def _out_of_step(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, mapping: SystemMapping,
                 stored: dict) -> str:
    """'' when the stored state still describes the staged rows of the mapping."""
    staged = con.execute(f"SELECT count(*) FROM {staged_table(entity)} WHERE source_system = ? "
                         "AND source_table = ?", [mapping.source_system, mapping.source_table]
                         ).fetchall()[0][0]
    rows, rejected = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE rejected) FROM {state.ROWS} "
        "WHERE entity = ? AND mapping_id = ?", [entity.entity, mapping.id]).fetchall()[0]
    if staged != stored["staged_rows"] or rows - rejected != staged or rows != stored["rows_total"]:
        return "staged rows no longer match the staging state (changed outside staging)"
    return ""


def _fallback_rows(entity: CanonicalEntity, mapping: SystemMapping) -> str:
    """Stored row hashes of the records whose output may depend on the latest load time (the
    modified_at fallback): staged without a modified_at or with a derived one, and, when a
    missing modified_at rejects a record, the rejected ones."""
    pair = f"{literal(mapping.source_system)}, {literal(mapping.source_table)}"
    rejected = "rejected OR " if entity.field("modified_at").required else ""
    return (f"SELECT row_hash FROM {state.ROWS} WHERE entity = {literal(entity.entity)} AND "
            f"mapping_id = {literal(mapping.id)} AND ({rejected}source_id IN (SELECT source_id "
            f"FROM {staged_table(entity)} WHERE (source_system, source_table) = ({pair}) AND "
            f"(modified_at IS NULL OR list_contains(_enriched, 'modified_at'))))")


def _prepare(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, mapping: SystemMapping,
             i: int, columns: list[tuple[str, str]], key: list[str], external_id: str | None,
             stored: dict | None, entity_reason: str) -> _Work:
    """Decide full vs incremental for one mapping and materialise the rows it stages."""
    names = {c for c, _ in columns}
    query = build_mapping_query(con, entity, mapping, names, key, external_id)
    wanted = state.fingerprint(con, entity, query, columns)
    reason = entity_reason or state.rebuild_reason(
        stored, wanted, query, (mapping.source_system, mapping.source_table))
    if not reason and stored is not None:
        reason = _out_of_step(con, entity, mapping, stored)
    counts = MappingCounts(mapping.id, mapping.source_system, mapping.source_table,
                           notes=query.notes)
    work = _Work(counts, i, wanted)
    state.hash_rows(con, raw_relation(mapping), [c for c, _ in columns], work.hashes)
    if not reason:
        todo, gone, affected = work.name("todo"), work.name("gone"), work.name("affected")
        again = None
        if stored is not None and stored["fingerprint"].get(state.OUTSIDE) != wanted[state.OUTSIDE]:
            again = _fallback_rows(entity, mapping)
        state.changed_rows(con, entity.entity, mapping.id, work.hashes, todo, gone, again)
        # nothing new or changed: no staging query at all (planning it alone takes a while)
        work.rows = bool(con.execute(f"SELECT count(*) FROM {todo}").fetchall()[0][0])
        new_ids = ""
        if work.rows:
            changed = build_mapping_query(con, entity, mapping, names, key, external_id, rows=todo)
            _materialise(con, changed.sql, work.temp)
            new_ids = f" UNION SELECT __source_id FROM {work.temp}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {affected} AS SELECT source_id FROM {gone}{new_ids}")
        if state.shared_ids(con, entity.entity, mapping.id, affected):
            reason = "a source id is shared by a changed and an unchanged raw row (key not unique)"
        else:
            work.incremental = True
            counts.mode = "incremental"
            counts.removed = con.execute(
                f"SELECT count(*) FROM {gone} WHERE source_id NOT IN "
                f"(SELECT __source_id FROM {work.temp})" if work.rows else
                f"SELECT count(*) FROM {gone}").fetchall()[0][0]
    if reason:
        counts.reason = reason
        work.rows = True
        _materialise(con, query.sql, work.temp)
    if work.rows:
        read, rejected, warnings = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE __rejected), sum(len(list_filter(__issues, "
            f"lambda x: x.severity = 'warning'))) FROM {work.temp}").fetchall()[0]
        counts.read, counts.rejected, counts.warnings = read, rejected, int(warnings or 0)
        counts.staged = read - rejected
    counts.rows_total = con.execute(f"SELECT count(*) FROM {work.hashes}").fetchall()[0][0]
    return work


def stage_entity(warehouse: Path, entity: CanonicalEntity, mappings: list[SystemMapping],
                 key_columns: KeyColumns,
                 external_ids: dict[tuple[str, str], str] | None = None,
                 full: bool = False) -> StagingResult:
    """Update `staged.<entity>` (and its rows of `quality.rejects`) from the applied mappings:
    only the raw rows that changed since the last run, or every row of the mappings that must be
    rebuilt (see the module docstring; `full=True` rebuilds all). `external_ids` names the column
    of each (system, table) where the platform writes its golden id back
    (`landing.landed_external_ids`); it is staged as `platform_id`."""
    started = time.perf_counter()
    result = StagingResult(entity.entity)
    staged_at = datetime.now(UTC).replace(tzinfo=None)
    applied: list[SystemMapping] = []
    for mapping in mappings:
        if mapping.entity_type != entity.entity:
            continue  # another entity's mapping: nothing to report here
        reason = _skip_reason(entity, mapping)
        if reason:
            result.skipped.append(SkippedMapping(mapping.id, mapping.status, reason))
        else:
            applied.append(mapping)
    paused = [m for m in mappings if m.entity_type == entity.entity and m.status == "paused"]

    with connect(warehouse) as con:
        register_udfs(con)
        result.reason = _entity_reason(con, entity, applied, full)
        stored = state.load_state(con, entity.entity)
        work: list[_Work] = []
        for i, mapping in enumerate(applied):
            columns = existing_columns(con, "raw_" + mapping.source_system, mapping.source_table)
            if not columns:
                result.skipped.append(SkippedMapping(
                    mapping.id, mapping.status, f"source table {raw_relation(mapping)} not landed"))
                continue
            key = key_columns.get((mapping.source_system, mapping.source_table), [])
            work.append(_prepare(con, entity, mapping, i, columns, key, (external_ids or {}).get(
                (mapping.source_system, mapping.source_table)), stored.get(mapping.id), result.reason))
            result.mappings.append(work[-1].counts)

        con.execute("BEGIN TRANSACTION")
        try:
            _write(con, entity, work, paused, result, staged_at)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        for temp in [t for item in work for t in item.temps()] + ["__staging_changed"]:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        if work and all(item.incremental for item in work):
            compact_when_needed(con, [staged_table(entity), REJECTS, state.ROWS, state.STATE])
    result.seconds = time.perf_counter() - started
    return result


def _write(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, work: list[_Work],
           paused: list[SystemMapping], result: StagingResult, staged_at: datetime) -> None:
    """Inside the caller's transaction: remove what is no longer staged, replace the rows of each
    mapping (all of them, or those of its affected source ids) and its state."""
    kept_pairs = [(m.source_system, m.source_table) for m in paused]
    staged = staged_table(entity)
    ensure_rejects(con)
    if not ensure_staged(con, entity) and any(item.affected for item in work):
        raise RuntimeError(f"{staged} was recreated during an incremental run")  # decided before
    state.ensure_state(con)
    # rows of mappings neither staged by this run nor paused go; so does their state
    gone = _not_in(kept_pairs + [(w.counts.source_system, w.counts.source_table) for w in work])
    con.execute(f"DELETE FROM {staged} WHERE {gone}")
    con.execute(f"DELETE FROM {REJECTS} WHERE entity = ? AND {gone}", [entity.entity])
    ids = ", ".join(literal(w.counts.mapping_id) for w in work)
    for table in (state.STATE, state.ROWS):
        con.execute(f"DELETE FROM {table} WHERE entity = ?"
                    + (f" AND mapping_id NOT IN ({ids})" if ids else ""), [entity.entity])
    if kept_pairs:
        result.kept_rows = con.execute(
            f"SELECT count(*) FROM {staged} WHERE (source_system, source_table) IN "
            f"({_pairs_sql(kept_pairs)})").fetchall()[0][0]
    stamp = f"{literal(staged_at.isoformat())}::TIMESTAMP"
    for item in work:  # every delete before any insert (mappings may share a source table)
        if item.incremental and not item.rows and not item.counts.removed:
            continue  # nothing changed
        pair = [item.counts.source_system, item.counts.source_table]
        scope = (f" AND source_id IN (SELECT source_id FROM {item.affected})" if item.affected
                 else "")
        con.execute(f"DELETE FROM {staged} WHERE source_system = ? AND source_table = ?{scope}", pair)
        con.execute(f"DELETE FROM {REJECTS} WHERE entity = ? AND source_system = ? AND "
                    f"source_table = ?{scope}", [entity.entity, *pair])
        con.execute(f"DELETE FROM {state.ROWS} WHERE entity = ? AND mapping_id = ?{scope}",
                    [entity.entity, item.counts.mapping_id])
    for item in work:
        counts = item.counts
        pair = [counts.source_system, counts.source_table]
        if item.rows:
            _insert(con, entity, staged, item, stamp)
        counts.staged_total = con.execute(
            f"SELECT count(*) FROM {staged} WHERE source_system = ? AND source_table = ?",
            pair).fetchall()[0][0]
        counts.rejected_total = con.execute(
            f"SELECT count(*) FILTER (WHERE rejected) FROM {state.ROWS} WHERE entity = ? AND "
            "mapping_id = ?", [entity.entity, counts.mapping_id]).fetchall()[0][0]
        con.execute(f"DELETE FROM {state.STATE} WHERE entity = ? AND mapping_id = ?",
                    [entity.entity, counts.mapping_id])
        con.execute(f"INSERT INTO {state.STATE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [entity.entity, counts.mapping_id, *pair, json.dumps(item.fingerprint),
                     counts.rows_total, counts.staged_total, counts.rejected_total, counts.mode,
                     staged_at])


def _insert(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, staged: str, item: _Work,
            stamp: str) -> None:
    """The processed rows of one mapping into staged, rejects and the stored row hashes."""
    counts = item.counts
    fields = [quote(f.name) for f in entity.fields]
    hashed = [quote(f.name) for f in entity.fields if f.name != "modified_at"] + ["__platform_id"]
    lineage = f"{literal(counts.source_system)}, {literal(counts.source_table)}, __source_id"
    con.execute(
        f"INSERT INTO {staged} SELECT {', '.join(fields)}, {lineage}, "
        f"md5(CAST(to_json(struct_pack({', '.join(f'{h} := {h}' for h in hashed)})) "
        f"AS VARCHAR)), {stamp}, _enriched, __platform_id "
        f"FROM {item.temp} WHERE NOT __rejected")
    con.execute(
        f"INSERT INTO {REJECTS} SELECT {lineage}, {literal(entity.entity)}, "
        f"i.field, i.reason, i.raw_value, i.severity, to_json(src), {stamp} "
        f"FROM (SELECT __rowid, __source_id, unnest(__issues) AS i FROM {item.temp} "
        f"WHERE len(__issues) > 0) AS t "
        f"JOIN {raw_relation_of(counts)} AS src ON src.rowid = t.__rowid")
    con.execute(
        f"INSERT INTO {state.ROWS} SELECT ?, ?, h.__h, t.__source_id, t.__rejected "
        f"FROM {item.temp} AS t JOIN {item.hashes} AS h USING (__rowid)",
        [entity.entity, counts.mapping_id])


def raw_relation_of(counts: MappingCounts) -> str:
    return f"{quote('raw_' + counts.source_system)}.{quote(counts.source_table)}"


def _pairs_sql(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"({literal(s)}, {literal(t)})" for s, t in pairs) or "(NULL, NULL)"


def _not_in(pairs: list[tuple[str, str]]) -> str:
    """Condition: a row's (source_system, source_table) is none of `pairs` (TRUE when empty)."""
    return f"(source_system, source_table) NOT IN ({_pairs_sql(pairs)})" if pairs else "TRUE"


def stage_all(warehouse: Path, entities: dict[str, CanonicalEntity] | Iterable[CanonicalEntity],
              mappings: list[SystemMapping], key_columns: KeyColumns,
              external_ids: dict[tuple[str, str], str] | None = None,
              full: bool = False) -> dict[str, StagingResult]:
    """stage_entity for every entity (each in its own transaction), keyed by entity name."""
    items = entities.values() if isinstance(entities, dict) else entities
    return {entity.entity: stage_entity(warehouse, entity,
                                        [m for m in mappings if m.entity_type == entity.entity],
                                        key_columns, external_ids, full)
            for entity in items}
