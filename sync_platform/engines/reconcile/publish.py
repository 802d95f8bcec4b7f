"""Publish a read-only copy of the warehouse for analysts, swapped in atomically.

DuckDB allows one writer per file, and an analyst's open session on the pipeline's warehouse
would block every run. Analysts therefore open `published/warehouse.duckdb` (read-only), which
the pipeline never writes in place: after each reconciliation the analyst-facing schemas are
copied into a new file next to it, in one consistent snapshot taken on the pipeline's own
connection, and the new file replaces the old with one rename. An open analyst session keeps
reading the copy it opened (the old file stays alive until it closes); the next session sees
the new one. Left out: dlt's bookkeeping and load-staging schemas and the identity engine's
working tables, which only the pipeline needs.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.warehouse import connect, quote

WORK_TABLE_SUFFIXES = ("_recs", "_keys", "_pairs", "_shared", "_skipped_blocks", "_match_weights")


@dataclass
class Published:
    path: Path
    tables: int
    rows: int
    seconds: float


def published_path(warehouse: Path | str) -> Path:
    """Where the analysts' copy of `warehouse` lives: `published/<name>` beside it."""
    warehouse = Path(warehouse)
    return warehouse.parent / "published" / warehouse.name


def _wanted(schema: str, table: str) -> bool:
    if schema.endswith("_staging") or table.startswith("_dlt"):
        return False
    return not (schema == "golden" and table.endswith(WORK_TABLE_SUFFIXES))


def publish(warehouse: Path | str, target: Path | str | None = None) -> Published:
    """Copy the analyst-facing tables of `warehouse` to `target` (default published_path) and
    swap it in atomically."""
    started = time.perf_counter()
    target = Path(target) if target else published_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tables = rows = 0
    try:
        with connect(warehouse) as con:
            con.execute(f"ATTACH '{tmp}' AS pub")
            found = con.execute(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() AND NOT temporary "
                "ORDER BY 1, 2").fetchall()
            con.execute("BEGIN")  # one snapshot for every table
            for schema, table, size in found:
                if not _wanted(schema, table):
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{quote(schema)}")
                con.execute(f"CREATE TABLE pub.{quote(schema)}.{quote(table)} AS "
                            f"SELECT * FROM {quote(schema)}.{quote(table)}")
                tables += 1
                rows += size or 0
            con.execute("COMMIT")
            con.execute("DETACH pub")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return Published(target, tables, rows, time.perf_counter() - started)
