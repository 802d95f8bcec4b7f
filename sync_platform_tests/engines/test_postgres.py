"""PostgreSQL for real: accounting as a PostgreSQL database, and the dagster-postgres instance.

Both skip with a reason when no PostgreSQL is reachable at 127.0.0.1:5432.
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from sync_platform_tests.conftest import REPO, fresh_postgres_database
from sync_platform_tests.defs.landing_helpers import count, land_through_dagster, rows_landed


def test_accounting_on_postgres_lands_incrementally(sandbox, monkeypatch):
    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.sandbox import Sandbox

    url = fresh_postgres_database("sync_platform_test_accounting")
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


def test_dagster_postgres_instance_stores_runs(sandbox, monkeypatch, tmp_path):
    from dagster import DagsterInstance

    from sync_platform.instance import ensure_dagster_home

    fresh_postgres_database("sync_platform_test_dagster")
    monkeypatch.setenv("DAGSTER_PG_DB", "sync_platform_test_dagster")
    monkeypatch.chdir(REPO)
    home = ensure_dagster_home("postgres")
    assert "postgres" in (home / "dagster.yaml").read_text()
    instance = DagsterInstance.get()
    try:
        result, landed = land_through_dagster(["hr"], instance=instance)
        assert result.success and rows_landed(landed)[("hr", "employees")] > 0
        assert instance.get_run_by_id(result.run_id) is not None
    finally:
        instance.dispose()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=sync_platform_test_dagster") as con:
        runs = con.execute("SELECT count(*) FROM runs WHERE run_id = %s", [result.run_id]).fetchone()[0]
        events = con.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", [result.run_id]).fetchone()[0]
    assert runs == 1 and events > 0
