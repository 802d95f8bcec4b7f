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


LOCK_WAIT_S = 30.0  # how long to wait for another process's hold on the file (see connect)


def _locked(exc: duckdb.Error) -> bool:
    return "could not set lock" in str(exc).lower()


@contextmanager
def connect(path: Path | str, read_only: bool = False,
            wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection. While another process holds the file (a run writing, a
    sensor recording alert state) it waits up to `wait_s` (default LOCK_WAIT_S) with backoff
    instead of failing at once; then the lock error is raised."""
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
