"""PostgreSQL for real: accounting as a PostgreSQL database, and the dagster-postgres instance.

Both skip with a reason when no PostgreSQL is reachable at 127.0.0.1:5432. Each test works in
its own database (unique name, dropped afterwards), so parallel runs do not collide. The
production setup as a whole (the demo, daemon and webserver on PostgreSQL) is tested in
sync_platform_tests/test_production_setup.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa

from sync_platform_tests.conftest import REPO, fresh_postgres_database
from sync_platform_tests.defs.landing_helpers import count, land_through_dagster, rows_landed


@pytest.fixture
def pg_database() -> Iterator[Callable[[str], tuple[str, str]]]:
    """make(prefix) -> (name, SQLAlchemy URL) of a fresh database; all dropped afterwards."""
    made: list[str] = []

    def make(prefix: str) -> tuple[str, str]:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        made.append(name)
        return name, fresh_postgres_database(name)

    yield make
    if made:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             autocommit=True) as con:
            for name in made:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_accounting_on_postgres_lands_incrementally(sandbox, monkeypatch, pg_database):
    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.sandbox import Sandbox

    _, url = pg_database("sync_platform_test_accounting")
    pg_box = Sandbox(sandbox.root / "pg", seed=7, size=200, accounting_url=url)
    pg_box.seed(reset=True)
    monkeypatch.setenv("ACCOUNTING_DATABASE_URL", url)
    engine = sa.create_engine(url)
    with engine.connect() as con:
        customers = con.execute(sa.text('SELECT count(*) FROM customers')).scalar_one()
    engine.dispose()

    result, landed = land_through_dagster(["accounting"])
    assert result.success
    assert rows_landed(landed)[("accounting", "customers")] == customers
    assert count(load_catalog().warehouse_path, "accounting", "customers") == customers

    report = pg_box.mutate(systems=["accounting"], edits=3, inserts=2, deletes=1)
    _, landed = land_through_dagster(["accounting"])
    assert rows_landed(landed)[("accounting", "customers")] == len(report.changed["accounting"]["customers"])


def test_dagster_postgres_instance_stores_runs(sandbox, monkeypatch, tmp_path, pg_database):
    from dagster import DagsterInstance

    from sync_platform.instance import ensure_dagster_home

    database, _ = pg_database("sync_platform_test_dagster")
    monkeypatch.setenv("DAGSTER_PG_DB", database)
    monkeypatch.chdir(tmp_path)  # found beside the package too, not only in the project folder
    home = ensure_dagster_home("postgres")
    assert (home / "dagster.yaml").read_text() == (REPO / "dagster.postgres.yaml").read_text()
    instance = DagsterInstance.get()
    try:
        result, landed = land_through_dagster(["hr"], instance=instance)
        assert result.success and rows_landed(landed)[("hr", "employees")] > 0
        assert instance.get_run_by_id(result.run_id) is not None
    finally:
        instance.dispose()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as con:
        runs = con.execute("SELECT count(*) FROM runs WHERE run_id = %s", [result.run_id]).fetchone()[0]
        events = con.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", [result.run_id]).fetchone()[0]
    assert runs == 1 and events > 0
