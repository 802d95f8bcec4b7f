"""Downstream of a PostgreSQL landing: the `understand` job (landing, profiling, mappings,
staging) on `warehouse.destination: postgres` gives what it gives on the default DuckDB
destination. Skips when PostgreSQL is unreachable; its database is dropped afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import DagsterInstance

from sync_platform.defs import build_definitions
from sync_platform.engines.catalog import load_catalog
from sync_platform_tests.conftest import handwritten_mappings
from sync_platform_tests.engines.landing.pg_warehouse import postgres_warehouse


def _tables(path: Path, schema: str, leave_out: set[str]) -> dict[str, list]:
    """schema's tables -> rows sorted (columns in `leave_out` left out)."""
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = ? ORDER BY table_name, ordinal_position", [schema]).fetchall()
        found = {}
        for table in sorted({c[0] for c in columns}):
            keep = ", ".join(f'"{c[1]}"' for c in columns if c[0] == table and c[1] not in leave_out)
            found[table] = sorted(con.execute(f'SELECT {keep} FROM "{schema}"."{table}"').fetchall(), key=repr)
    return found


def test_understand_on_a_postgres_landing_equals_a_duckdb_landing(sandbox, mappings_dir, tmp_path,
                                                                  monkeypatch):
    with postgres_warehouse(mappings_dir, monkeypatch):
        on_postgres = build_definitions().resolve_job_def("understand").execute_in_process(
            instance=DagsterInstance.ephemeral())
        assert on_postgres.success
        pg_warehouse = load_catalog().warehouse_path

    # the same sandbox understood again with the default destination, in a warehouse of its own
    monkeypatch.setenv("SYNC_MAPPINGS_DIR", str(handwritten_mappings(tmp_path / "duckdb_mappings")))
    monkeypatch.setenv("SYNC_WAREHOUSE", str(tmp_path / "duckdb_destination.duckdb"))
    on_duckdb = build_definitions().resolve_job_def("understand").execute_in_process(
        instance=DagsterInstance.ephemeral())
    assert on_duckdb.success
    duck_warehouse = load_catalog().warehouse_path
    assert duck_warehouse != pg_warehouse

    staged_pg = _tables(pg_warehouse, "staged", {"staged_at", "_loaded_at"})
    staged_duck = _tables(duck_warehouse, "staged", {"staged_at", "_loaded_at"})
    assert staged_pg.keys() == staged_duck.keys() and staged_pg
    assert sum(len(rows) for rows in staged_pg.values()) > 100
    for table in staged_pg:
        assert staged_pg[table] == staged_duck[table], table
    profile_columns = ["system", "table_name", "column_name", "semantic_type", "row_count", "null_count",
                       "distinct_count"]
    profiles = [duckdb.connect(str(w), read_only=True).execute(
        f"SELECT {', '.join(profile_columns)} FROM meta.column_profiles ORDER BY ALL").fetchall()
        for w in (pg_warehouse, duck_warehouse)]
    assert profiles[0] == profiles[1] and len(profiles[0]) > 50
