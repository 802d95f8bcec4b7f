"""Publish a read-only copy of the warehouse for analysts, swapped in atomically.

DuckDB allows one writer per file, and an analyst's open session on the pipeline's warehouse
would block every run. Analysts therefore open `published/warehouse.duckdb` (read-only), which
the pipeline never writes in place: after each reconciliation the analyst-facing schemas are
copied into a new file next to it (the database file itself, copied right after a checkpoint
while the pipeline holds the write lock: one consistent snapshot), and the new file replaces the
old with one rename. An open analyst session keeps reading the copy it opened (the old file
stays alive until it closes); the next session sees the new one. Left out: dlt's bookkeeping and load-staging schemas and the identity engine's
working tables, which only the pipeline needs.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sync_platform.engines.warehouse import NO_VACUUM, connect, quote

PIPELINE_STATE_TABLES = ("staging_rows",)  # incremental staging's row hashes: no use to analysts
WORK_TABLE_SUFFIXES = ("_recs", "_keys", "_pairs", "_shared", "_skipped_blocks", "_match_weights")
RECON_STATE_PREFIX = "_state_"  # recon._state_*: incremental reconciliation's bookkeeping (golden.py)


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
    if schema == "recon" and table.startswith(RECON_STATE_PREFIX):
        return False
    if schema == "meta" and table in PIPELINE_STATE_TABLES:
        return False
    return not (schema == "golden" and table.endswith(WORK_TABLE_SUFFIXES))


def publish(warehouse: Path | str, target: Path | str | None = None) -> Published:
    """Copy the analyst-facing tables of `warehouse` to `target` (default published_path) and
    swap it in atomically.

    The copy is the database file itself, taken right after a CHECKPOINT while this process
    holds DuckDB's one write lock: one consistent snapshot at disk speed. Re-encoding every table
    into a new file (CREATE TABLE AS per table) took 13-16 s at 1M source rows; the file copy
    takes a few seconds. What analysts do not need is then dropped from the copy (its pages are
    freed, the file keeps its size)."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    target = Path(target) if target else published_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tables = rows = 0
    try:
        with connect(warehouse) as con:
            con.execute("CHECKPOINT")  # every commit in the file, none left in the WAL
            shutil.copyfile(warehouse, tmp)
        with duckdb.connect(str(tmp)) as pub:
            pub.execute(NO_VACUUM)  # the copy is read as it is: no row groups rewritten
            found = pub.execute(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() AND NOT temporary ORDER BY 1, 2").fetchall()
            for schema, table, size in found:
                if _wanted(schema, table):
                    tables += 1
                    rows += size or 0
                else:
                    pub.execute(f"DROP TABLE {quote(schema)}.{quote(table)}")
            for (schema,) in pub.execute(
                    "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
                    "AND NOT internal AND schema_name NOT IN (SELECT schema_name FROM duckdb_tables() "
                    "WHERE database_name = current_database()) AND schema_name <> 'main'").fetchall():
                pub.execute(f"DROP SCHEMA {quote(schema)} CASCADE")  # emptied load-staging schemas
            pub.execute("CHECKPOINT")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return Published(target, tables, rows, time.perf_counter() - started)
