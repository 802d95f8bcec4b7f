"""Record what the landed schema gained: new tables, new columns, changed types.

After each successful load the columns of `raw_<system>` are compared with
`meta.landed_columns`; differences become rows of `meta.schema_changes` that later stages
(profiling, mapping) read. dlt never drops columns, so removals are found by discovery, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.warehouse import connect

DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.landed_columns (
    system VARCHAR, table_name VARCHAR, column_name VARCHAR, data_type VARCHAR,
    first_seen_at TIMESTAMPTZ, first_load_id VARCHAR,
    PRIMARY KEY (system, table_name, column_name));
CREATE TABLE IF NOT EXISTS meta.schema_changes (
    detected_at TIMESTAMPTZ, system VARCHAR, table_name VARCHAR, column_name VARCHAR,
    change VARCHAR, old_type VARCHAR, new_type VARCHAR, load_id VARCHAR, source VARCHAR);
"""


@dataclass(frozen=True)
class SchemaChange:
    system: str
    table_name: str
    column_name: str | None
    change: str  # added_table | added_column | retyped_column
    old_type: str | None
    new_type: str | None


def record_schema_changes(warehouse: Path, system: str, load_id: str | None) -> list[SchemaChange]:
    """Compare raw_<system> with what was seen before; log and return the differences."""
    with connect(warehouse) as con:
        con.execute(DDL)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE current_columns AS
            SELECT ? AS system, table_name, column_name, data_type
            FROM information_schema.columns
            WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\'
            """,
            [system, f"raw_{system}"],
        )
        changes = con.execute(
            """
            WITH known_tables AS (SELECT DISTINCT table_name FROM meta.landed_columns WHERE system = $1)
            SELECT DISTINCT c.system, c.table_name, NULL, 'added_table', NULL, NULL
            FROM current_columns c
            WHERE c.table_name NOT IN (SELECT table_name FROM known_tables)
            UNION ALL
            SELECT c.system, c.table_name, c.column_name,
                   CASE WHEN k.column_name IS NULL THEN 'added_column' ELSE 'retyped_column' END,
                   k.data_type, c.data_type
            FROM current_columns c
            LEFT JOIN meta.landed_columns k
              ON k.system = c.system AND k.table_name = c.table_name AND k.column_name = c.column_name
            WHERE c.table_name IN (SELECT table_name FROM known_tables)
              AND (k.column_name IS NULL OR k.data_type <> c.data_type)
            ORDER BY 2, 3
            """,
            [system],
        ).fetchall()
        if changes:
            con.executemany(
                "INSERT INTO meta.schema_changes VALUES (now(), ?, ?, ?, ?, ?, ?, ?, 'landing')",
                [[*row, load_id] for row in changes],
            )
        con.execute(
            """
            INSERT INTO meta.landed_columns
            SELECT system, table_name, column_name, data_type, now(), ? FROM current_columns
            ON CONFLICT (system, table_name, column_name) DO UPDATE SET data_type = excluded.data_type
            """,
            [load_id],
        )
    return [SchemaChange(*row) for row in changes]
