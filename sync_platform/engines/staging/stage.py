"""stage_entity / stage_all: write `staged.<entity>` and `quality.rejects` from landed tables.

For each applied mapping of the entity, one SELECT over `raw_<system>.<table>` (see query.py) is
materialised into a temp table; then, in one transaction, the entity's staged rows and reject rows
are replaced. Rows of *paused* mappings are kept as they were (a paused mapping is frozen, e.g. after
a breaking schema change); rows of other non-applied mappings are removed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sync_platform.engines.canonical import APPLIED, CanonicalEntity, SystemMapping
from sync_platform.engines.staging.query import build_mapping_query, raw_relation
from sync_platform.engines.staging.results import MappingCounts, SkippedMapping, StagingResult
from sync_platform.engines.staging.tables import (
    REJECTS,
    ensure_rejects,
    ensure_staged,
    staged_table,
)
from sync_platform.engines.transforms import register_udfs
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import connect, quote

KeyColumns = dict[tuple[str, str], list[str]]


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


def stage_entity(warehouse: Path, entity: CanonicalEntity, mappings: list[SystemMapping],
                 key_columns: KeyColumns,
                 external_ids: dict[tuple[str, str], str] | None = None) -> StagingResult:
    """Rebuild `staged.<entity>` (and its rows of `quality.rejects`) from the applied mappings.
    `external_ids` names the column of each (system, table) where the platform writes its golden
    id back (`landing.landed_external_ids`); it is staged as `platform_id`."""
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
        work: list[tuple[MappingCounts, str]] = []
        for i, mapping in enumerate(applied):
            columns = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
                "table_name = ?", ["raw_" + mapping.source_system, mapping.source_table]).fetchall()}
            if not columns:
                result.skipped.append(SkippedMapping(
                    mapping.id, mapping.status, f"source table {raw_relation(mapping)} not landed"))
                continue
            key = key_columns.get((mapping.source_system, mapping.source_table), [])
            query = build_mapping_query(con, entity, mapping, columns, key, (external_ids or {}).get(
                (mapping.source_system, mapping.source_table)))
            temp = f"__staging_{i}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT *, coalesce(list_bool_or("
                        f"list_transform(__issues, lambda x: x.severity = 'error')), FALSE) "
                        f"AS __rejected FROM ({query.sql})")
            counts = MappingCounts(mapping.id, mapping.source_system, mapping.source_table,
                                   notes=query.notes)
            read, rejected, warnings = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE __rejected), sum(len(list_filter(__issues, "
                f"lambda x: x.severity = 'warning'))) FROM {temp}").fetchall()[0]
            counts.read, counts.rejected, counts.warnings = read, rejected, int(warnings or 0)
            counts.staged = read - rejected
            work.append((counts, temp))
            result.mappings.append(counts)

        fields = [quote(f.name) for f in entity.fields]
        hashed = [quote(f.name) for f in entity.fields if f.name != "modified_at"] + ["__platform_id"]
        kept_pairs = [(m.source_system, m.source_table) for m in paused]
        con.execute("BEGIN TRANSACTION")
        try:
            ensure_rejects(con)
            can_keep = ensure_staged(con, entity)
            keep = _pairs_sql(kept_pairs)
            if can_keep and kept_pairs:
                con.execute(f"DELETE FROM {staged_table(entity)} WHERE (source_system, "
                            f"source_table) NOT IN ({keep})")
                result.kept_rows = con.execute(
                    f"SELECT count(*) FROM {staged_table(entity)}").fetchall()[0][0]
            else:
                con.execute(f"DELETE FROM {staged_table(entity)}")
            not_kept = f" AND (source_system, source_table) NOT IN ({keep})" if kept_pairs else ""
            con.execute(f"DELETE FROM {REJECTS} WHERE entity = ?{not_kept}", [entity.entity])
            for counts, temp in work:
                lineage = (f"{literal(counts.source_system)}, {literal(counts.source_table)}, "
                           f"__source_id")
                con.execute(
                    f"INSERT INTO {staged_table(entity)} SELECT {', '.join(fields)}, {lineage}, "
                    f"md5(CAST(to_json(struct_pack({', '.join(f'{h} := {h}' for h in hashed)})) "
                    f"AS VARCHAR)), {literal(staged_at.isoformat())}::TIMESTAMP, _enriched, __platform_id "
                    f"FROM {temp} WHERE NOT __rejected")
                con.execute(
                    f"INSERT INTO {REJECTS} SELECT {lineage}, {literal(entity.entity)}, "
                    f"i.field, i.reason, i.raw_value, i.severity, to_json(src), "
                    f"{literal(staged_at.isoformat())}::TIMESTAMP "
                    f"FROM (SELECT __rowid, __source_id, unnest(__issues) AS i FROM {temp} "
                    f"WHERE len(__issues) > 0) AS t "
                    f"JOIN {raw_relation_of(counts)} AS src ON src.rowid = t.__rowid")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        for _, temp in work:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    result.seconds = time.perf_counter() - started
    return result


def raw_relation_of(counts: MappingCounts) -> str:
    return f"{quote('raw_' + counts.source_system)}.{quote(counts.source_table)}"


def _pairs_sql(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"({literal(s)}, {literal(t)})" for s, t in pairs) or "(NULL, NULL)"


def stage_all(warehouse: Path, entities: dict[str, CanonicalEntity] | Iterable[CanonicalEntity],
              mappings: list[SystemMapping], key_columns: KeyColumns,
              external_ids: dict[tuple[str, str], str] | None = None) -> dict[str, StagingResult]:
    """stage_entity for every entity (each in its own transaction), keyed by entity name."""
    items = entities.values() if isinstance(entities, dict) else entities
    return {entity.entity: stage_entity(warehouse, entity,
                                        [m for m in mappings if m.entity_type == entity.entity],
                                        key_columns, external_ids)
            for entity in items}
