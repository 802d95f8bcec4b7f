"""The push's tables in the warehouse (`ops` schema) and short-lived, lock-patient connections.

DuckDB has one writer per file: the push opens, writes a step, commits and closes, so other
writers (a landing run, a second push) interleave. A connect that meets another process's lock
waits and tries again instead of failing the push.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sync_platform.engines import warehouse

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SEQUENCE IF NOT EXISTS ops.push_ledger_seq;
CREATE TABLE IF NOT EXISTS ops.push_ledger (
    idempotency_key VARCHAR PRIMARY KEY,
    seq BIGINT, run_id VARCHAR, target VARCHAR, table_name VARCHAR, entity VARCHAR, flow VARCHAR,
    golden_id VARCHAR, version VARCHAR, operation VARCHAR, target_key VARCHAR,
    key_field VARCHAR, priority VARCHAR, priority_rank INTEGER,
    payload VARCHAR, payload_hash VARCHAR, lineage VARCHAR, "before" VARCHAR,
    state VARCHAR, attempts INTEGER DEFAULT 0, not_before TIMESTAMP, owner VARCHAR,
    lease_until TIMESTAMP, target_id VARCHAR, created BOOLEAN, error_class VARCHAR,
    http_status INTEGER, error VARCHAR, approval_id VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP, sensitive VARCHAR);
CREATE TABLE IF NOT EXISTS ops.dead_letters (
    dlq_id VARCHAR PRIMARY KEY, idempotency_key VARCHAR, target VARCHAR, table_name VARCHAR,
    entity VARCHAR, golden_id VARCHAR, version VARCHAR, operation VARCHAR, payload_hash VARCHAR,
    error_class VARCHAR, http_status INTEGER, message VARCHAR, attempts INTEGER,
    status VARCHAR, created_at TIMESTAMP, resolved_at TIMESTAMP, resolution VARCHAR);
CREATE TABLE IF NOT EXISTS ops.audit_log (
    "at" TIMESTAMP, run_id VARCHAR, idempotency_key VARCHAR, target VARCHAR, table_name VARCHAR,
    golden_id VARCHAR, operation VARCHAR, outcome VARCHAR, attempt INTEGER, http_status INTEGER,
    error_class VARCHAR, target_id VARCHAR, "before" VARCHAR, "after" VARCHAR, lineage VARCHAR,
    message VARCHAR);
CREATE TABLE IF NOT EXISTS ops.push_review (
    idempotency_key VARCHAR PRIMARY KEY, target VARCHAR, table_name VARCHAR, entity VARCHAR,
    golden_id VARCHAR, reason VARCHAR, candidates VARCHAR, status VARCHAR,
    created_at TIMESTAMP, decided_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS ops.push_approvals (
    approval_id VARCHAR PRIMARY KEY, target VARCHAR, table_name VARCHAR, changes INTEGER,
    target_records INTEGER, share DOUBLE, threshold DOUBLE, status VARCHAR,
    requested_at TIMESTAMP, decided_at TIMESTAMP, decided_by VARCHAR);
"""

_ENSURED: set[str] = set()  # files whose ops tables this process has created or seen


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
                       "AND table_name IN ('push_ledger', 'dead_letters', 'audit_log', 'push_review', "
                       "'push_approvals')").fetchall()[0][0] == 5


@contextmanager
def connect(path: Path | str, read_only: bool = False, patience_s: float = 120.0
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that waits while another process holds the file (pushes run in parallel
    and wait longer than the warehouse default)."""
    with warehouse.connect(path, read_only=read_only, wait_s=patience_s) as con:
        yield con


@contextmanager
def transaction(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """One committed step: open, ensure the tables, BEGIN ... COMMIT, close."""
    with connect(path) as con:
        key = str(Path(path).resolve())
        if key not in _ENSURED and not _has_tables(con):
            con.execute(DDL)
        _ENSURED.add(key)
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
                            "AND table_name = 'push_ledger'").fetchall()[0][0])


def exists(path: Path | str) -> bool:
    if not Path(path).exists():
        return False
    with connect(path, read_only=True) as con:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                "table_schema='ops' AND table_name='push_ledger'").fetchall()[0][0])
