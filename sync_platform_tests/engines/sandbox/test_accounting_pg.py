"""Accounting seeded into PostgreSQL (skipped when 127.0.0.1:5432 is unreachable)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sync_platform.engines.sandbox import Sandbox

DB = "sandbox_accounting_test"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture()
def pg_url():
    if not _pg_up():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {DB}"))
    except Exception as exc:  # noqa: BLE001 - report any connection/auth problem as a skip
        pytest.skip(f"cannot create a test database on 127.0.0.1:5432: {exc}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    admin.dispose()


def test_accounting_in_postgres(tmp_path: Path, pg_url: str) -> None:
    sb = Sandbox(tmp_path / "sb", seed=5, size=200, accounting_url=pg_url)
    counts = sb.seed()
    assert sb.env()["ACCOUNTING_DATABASE_URL"] == pg_url
    engine = create_engine(pg_url)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM customers")).scalar()
        inv = c.execute(text('SELECT count(*) FROM invoices i JOIN customers c '
                             'ON i."CustomerRef" = c."Id"')).scalar()
        before = c.execute(text('SELECT max("LastUpdatedTime") FROM customers')).scalar()
    assert n == counts["accounting"]["customers"] > 0
    assert inv == counts["accounting"]["invoices"]
    report = sb.mutate(systems=["accounting"], edits=3, inserts=2, deletes=1,
                       new_field="x_loyalty_tier")
    with engine.connect() as c:
        rows = c.execute(text('SELECT "Id", "Active" FROM customers '
                              'WHERE "LastUpdatedTime" > :m'), {"m": before}).all()
    assert sorted(str(r[0]) for r in rows) == sorted(report.changed["accounting"]["customers"])
    assert sum(1 for r in rows if r[1] == 0) == 1
    assert sb.seed()["accounting"] == counts["accounting"]  # reset drops and recreates
    engine.dispose()
