"""Golden ids for entities identified by their key alone: no matching, nothing to review.

Inventory is one SKU at one location. Records of every system with the same identifier values
(trimmed, case-insensitive) are one golden record, `<entity>:<value>|<value>`, and survivorship
picks the values as for any entity (the data type's system of record first). A record that lacks
part of the key (a shop keeping one stock figure per SKU has no location) is in no golden record
of the entity: a flow's `rollup` reaches it at its own grain (survivorship/rollup.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.identity.config import RESOLVED_ENTITIES
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import connect, quote, table_exists


@dataclass(frozen=True)
class KeyedResult:
    entity: str
    key: list[str]
    records: int  # staged records with the whole key, now in the xref
    golden_ids: int
    partial_key: int  # staged records lacking part of the key (in no golden record)


def keyed_entities(catalog: Catalog, entities: dict[str, CanonicalEntity]) -> list[str]:
    """Entities a flow carries that are not resolved by matching but have an identifier."""
    return sorted(e for e in {f.entity for f in catalog.flows}
                  if e not in RESOLVED_ENTITIES and e in entities and entities[e].identifiers)


def golden_entity_names(catalog: Catalog, entities: dict[str, CanonicalEntity]) -> set[str]:
    """Every entity that gets golden records: matched ones and keyed ones."""
    return {*(e for e in RESOLVED_ENTITIES if e in entities), *keyed_entities(catalog, entities)}


def key_sql(columns: list[str], alias: str = "") -> tuple[str, str]:
    """(SQL of the normalised key text, SQL of 'the whole key is present') for `columns`."""
    prefix = f"{alias}." if alias else ""
    parts = [f"upper(trim(CAST({prefix}{quote(c)} AS VARCHAR)))" for c in columns]
    present = " AND ".join(f"coalesce({p}, '') <> ''" for p in parts)
    return " || '|' || ".join(parts), present


def key_xref(warehouse: Path | str, entity: CanonicalEntity, now: datetime | None = None) -> KeyedResult:
    """Write `golden.<entity>_xref` (every staged record with the whole key -> its golden id) in
    the columns a matched entity's xref has."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    name, key = entity.entity, list(entity.identifiers[0])
    key_text, present = key_sql(key, "s")
    xref = f"golden.{quote(name + '_xref')}"
    with connect(warehouse) as con:
        if not table_exists(con, "staged", name):
            raise LookupError(f"nothing staged for {name!r} yet (no staged.{name})")
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        con.execute(f"""
            CREATE OR REPLACE TABLE {xref} AS
            SELECT {literal(name + ':')} || {key_text} AS golden_id, s.source_system, s.source_table,
                   s.source_id, 1.0 AS match_score, {literal('key: ' + ', '.join(key))} AS evidence,
                   CAST(? AS TIMESTAMP) AS resolved_at, 'accepted' AS review_status
            FROM staged.{quote(name)} s WHERE {present}""", [now])
        records, golden_ids = con.execute(
            f"SELECT count(*), count(DISTINCT golden_id) FROM {xref}").fetchall()[0]
        staged = con.execute(f"SELECT count(*) FROM staged.{quote(name)}").fetchall()[0][0]
    return KeyedResult(name, key, records, golden_ids, staged - records)
