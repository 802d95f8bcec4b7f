"""DDL of the staging outputs: `staged.<entity>` and `quality.rejects`."""

from __future__ import annotations

import duckdb

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.transforms import SQL_TYPES
from sync_platform.engines.warehouse import quote

REJECTS = "quality.rejects"
REJECTS_COLUMNS = [
    ("source_system", "VARCHAR"), ("source_table", "VARCHAR"), ("source_id", "VARCHAR"),
    ("entity", "VARCHAR"), ("field", "VARCHAR"), ("reason", "VARCHAR"), ("raw_value", "VARCHAR"),
    ("severity", "VARCHAR"), ("record", "JSON"), ("rejected_at", "TIMESTAMP"),
]
# platform_id: the golden id the platform wrote back to the source (its external id field)
LINEAGE_COLUMNS = [("source_system", "VARCHAR"), ("source_table", "VARCHAR"),
                   ("source_id", "VARCHAR"), ("row_hash", "VARCHAR"), ("staged_at", "TIMESTAMP"),
                   ("_enriched", "VARCHAR[]"), ("platform_id", "VARCHAR")]


def staged_table(entity: CanonicalEntity) -> str:
    return f"staged.{quote(entity.entity)}"


def staged_columns(entity: CanonicalEntity) -> list[tuple[str, str]]:
    """Every canonical field typed per its CanonicalField.type, then the lineage columns."""
    return [(f.name, SQL_TYPES[f.type]) for f in entity.fields] + LINEAGE_COLUMNS


def _ddl(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in columns)


def existing_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    return [(r[0], r[1]) for r in rows]


def ensure_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(f"CREATE TABLE IF NOT EXISTS {REJECTS} ({_ddl(REJECTS_COLUMNS)})")


def staged_reusable(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity) -> str:
    """'' when `staged.<entity>` exists with the expected columns (its rows can be kept), else
    why not."""
    current = existing_columns(con, "staged", entity.entity)
    if not current:
        return f"first run (no {staged_table(entity)})"
    if current != staged_columns(entity):
        return f"columns of {staged_table(entity)} changed (entity definition)"
    return ""


def ensure_staged(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity) -> bool:
    """Create `staged.<entity>`; True when an existing table already had the expected columns
    (its rows can be kept), False when it was (re)created."""
    con.execute("CREATE SCHEMA IF NOT EXISTS staged")
    if not staged_reusable(con, entity):
        return True
    con.execute(f"CREATE OR REPLACE TABLE {staged_table(entity)} ({_ddl(staged_columns(entity))})")
    return False
