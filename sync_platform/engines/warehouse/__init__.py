"""Access to the DuckDB warehouse: short-lived connections and safe identifiers.

DuckDB allows one writing process per file and rejects a second in-process connection with a
different configuration, so callers open, do their work and close: never hold a connection.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


def quote(identifier: str) -> str:
    """A DuckDB identifier quoted for SQL (names from source systems are untrusted)."""
    return '"' + identifier.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists on `con`."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                            "AND table_name = ?", [schema, table]).fetchall()[0][0])


def column_types(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of `schema.table`, in column order (empty when it is missing)."""
    return columns_of(con, [(schema, table)])[(schema, table)]


def columns_of(con: duckdb.DuckDBPyConnection,
               tables: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """column_types of several (schema, table) pairs in one query: each lists every column of
    every table first (what information_schema.columns is a view of), milliseconds apiece."""
    pairs = list(dict.fromkeys(tables))
    found: dict[tuple[str, str], dict[str, str]] = {p: {} for p in pairs}
    if pairs:
        where = " OR ".join(["(schema_name = ? AND table_name = ?)"] * len(pairs))
        for schema, table, column, dtype in con.execute(
                f"SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
                f"WHERE {where} ORDER BY column_index", [v for p in pairs for v in p]).fetchall():
            found[(schema, table)][column] = dtype
    return found


def table_comment(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """The COMMENT of `schema.table` (engines label stored state with what it was built by)."""
    rows = con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = ? AND table_name = ?", [schema, table]).fetchall()
    return rows[0][0] if rows else None


def moved_hashes_sql(now: str, before: str) -> str:
    """SQL of the hashes (column `h`) that the relations `now` and `before` (queries with a
    column `h`: this run's and the last run's row hashes) hold a different number of times:
    the rows to look at again, both ways."""
    return (f"SELECT h FROM (SELECT h, count(*) AS n FROM ({now}) GROUP BY h) AS now "
            f"FULL JOIN (SELECT h, count(*) AS n FROM ({before}) GROUP BY h) AS before USING (h) "
            "WHERE now.n IS DISTINCT FROM before.n")


NO_VACUUM = "SET max_vacuum_tasks = 0"  # checkpoints leave tombstones (see compact_when_needed)
ROW_GROUP_ROWS = 122_880  # DuckDB's rows per row group
SPARE_ROW_GROUPS = 8  # small row groups incremental runs may add before a checkpoint compacts
# a row group this small was appended by an incremental run (a parallel CREATE TABLE AS writes
# row groups a third or more full, which no vacuum merges: they do not count)
SMALL_ROW_GROUP_ROWS = ROW_GROUP_ROWS // 4
TOMBSTONE_SHARE = 0.25  # share of deleted rows in a table from which a checkpoint compacts


def compact_when_needed(con: duckdb.DuckDBPyConnection, tables: list[str]) -> bool:
    """After an incremental run: compact the file (a checkpoint with DuckDB's vacuum) once one of
    `tables`, the ones the run deleted from and appended to, needs it; return whether it did.

    An incremental run deletes a few rows spread over a table and appends a few. DuckDB's vacuum
    at every checkpoint would then merge the appended row group with the last full one, which has
    deletes: a whole row group (~120k rows, ~0.3-0.6 s for a wide table) rewritten per table on
    every run, more than the run's own work (skipping it in one engine only moved the cost to
    the next engine's checkpoint, measured). So every writing connection (`connect`, the
    landing's too) checkpoints without vacuum: deleted rows stay as tombstones and appended rows
    in small row groups until a table has more than SPARE_ROW_GROUPS small row groups (under
    SMALL_ROW_GROUP_ROWS rows), or TOMBSTONE_SHARE of its stored rows are deleted; then this
    checkpoint vacuums."""
    for table in tables:
        small, stored, rows = con.execute(
            f"SELECT count(*) FILTER (WHERE n < {SMALL_ROW_GROUP_ROWS}), coalesce(sum(n), 0), "
            f"(SELECT count(*) FROM {table}) FROM (SELECT row_group_id, sum(count) AS n "
            f"FROM pragma_storage_info('{table}') WHERE column_path = '[0]' GROUP BY 1)"
        ).fetchall()[0]
        if small > SPARE_ROW_GROUPS or stored - rows > TOMBSTONE_SHARE * max(stored, ROW_GROUP_ROWS):
            con.execute("RESET max_vacuum_tasks")  # DuckDB's default
            try:
                con.execute("CHECKPOINT")
            except duckdb.Error:
                return False  # e.g. another connection in a transaction: the next run compacts
            finally:
                con.execute(NO_VACUUM)
            return True
    return False


LOCK_WAIT_S = 30.0  # how long to wait for another process's hold on the file (see connect)


def _locked(exc: duckdb.Error) -> bool:
    return "could not set lock" in str(exc).lower()


@contextmanager
def connect(path: Path | str, read_only: bool = False,
            wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection. While another process holds the file (a run writing, a
    sensor recording alert state) it waits up to `wait_s` (default LOCK_WAIT_S) with backoff
    instead of failing at once; then the lock error is raised. A writing connection checkpoints
    without vacuum (see compact_when_needed)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (LOCK_WAIT_S if wait_s is None else wait_s)
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _locked(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay + random.uniform(0, delay))  # jitter: several waiters do not retry in step
        delay = min(delay * 2, 0.5)
    try:
        if not read_only:
            con.execute(NO_VACUUM)
        yield con
    finally:
        con.close()


def markdown_table(columns: list[str], rows: list[tuple], max_width: int = 40) -> str:
    """A small Markdown table, for Dagster metadata previews and CLI output files."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
