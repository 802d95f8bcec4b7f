"""`warehouse.destination: postgres`: landing into PostgreSQL, mirrored into the DuckDB warehouse.

Against the local PostgreSQL (skipped with a reason when it is unreachable), each test in a fresh
database that is dropped afterwards. The sandbox systems are real HTTP/SQLite/CSV systems.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
import yaml

from sync_platform.engines.catalog import CatalogError, load_catalog
from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.landing import LandingError, land
from sync_platform_tests.engines.landing.pg_warehouse import PASSWORD_ENV, postgres_warehouse

DLT_COLUMNS = ("_dlt_load_id", "_dlt_id", "_dlt_root_id", "_dlt_parent_id")


@pytest.fixture
def pg_warehouse(sandbox, mappings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    with postgres_warehouse(mappings_dir, monkeypatch) as settings:
        yield settings


def _on_duckdb(catalog: Catalog, path: Path) -> Catalog:
    """The same catalog landing into a DuckDB file of its own (the default destination)."""
    return catalog.model_copy(update={"warehouse": catalog.warehouse.model_copy(
        update={"path": str(path), "destination": "duckdb", "postgres": None})})


def _duckdb_tables(path: Path, system: str) -> dict[str, tuple[list, list]]:
    """table -> (columns with types and nullability, rows sorted, dlt's per-run ids left out)."""
    found = {}
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' "
            "ORDER BY table_name, ordinal_position", [f"raw_{system}"]).fetchall()
        for table in sorted({c[0] for c in columns}):
            cols = [c[1:] for c in columns if c[0] == table]
            keep = ", ".join(f'"{c[0]}"' for c in cols if c[0] not in DLT_COLUMNS)
            rows = con.execute(f'SELECT {keep} FROM "raw_{system}"."{table}"').fetchall()
            found[table] = (cols, sorted(rows, key=repr))
    return found


def _pg_count(database: str, system: str, table: str, load_id: str | None = None) -> int:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as con:
        where = " WHERE _dlt_load_id = %s" if load_id else ""
        return con.execute(f'SELECT count(*) FROM "raw_{system}"."{table}"{where}',
                           [load_id] if load_id else []).fetchone()[0]


def test_postgres_landing_mirrors_what_a_duckdb_landing_gives(pg_warehouse, sandbox, tmp_path):
    """Every sandbox system landed into PostgreSQL and mirrored equals a DuckDB landing of the
    same systems, column for column and row for row, after the initial and an incremental run."""
    catalog = load_catalog()
    plain = _on_duckdb(catalog, tmp_path / "duckdb_destination.duckdb")
    systems = list(catalog.systems)
    rounds = []
    for round_ in range(2):
        if round_:
            report = sandbox.mutate(edits=3, inserts=2, deletes=1, systems=systems)
        results = {s: (land(catalog, s), land(plain, s)) for s in systems}
        rounds.append(results)
        for system, (mirrored, direct) in results.items():
            assert _duckdb_tables(catalog.warehouse_path, system) == _duckdb_tables(plain.warehouse_path, system)
            assert mirrored.mirror is not None and direct.mirror is None
            landed = {t: v.rows_landed for t, v in mirrored.tables.items() if v.rows_landed}
            assert landed == {t: v.rows_landed for t, v in direct.tables.items() if v.rows_landed}, system
            assert mirrored.mirror.load_ids == ([mirrored.load_id] if mirrored.load_id else [])
            for table, stats in mirrored.tables.items():  # the raw layer in PostgreSQL holds the same
                assert _pg_count(pg_warehouse["database"], system, table) == stats.row_count
            assert [c.change for c in mirrored.schema_changes] == [c.change for c in direct.schema_changes]

    first, second = rounds
    assert first["crm"][0].tables["contacts"].rows_landed == sandbox.seeded["crm"]["Contact"]
    assert first["shop"][0].mirror.rows["products__variants"] > 0  # dlt child tables are mirrored
    # the incremental run landed and mirrored the changed rows only
    changed = report.changed
    crm = second["crm"][0]
    assert crm.tables["contacts"].rows_landed == len(changed["crm"]["Contact"]) > 0
    assert crm.mirror.rows["contacts"] == crm.tables["contacts"].rows_landed
    accounting = second["accounting"][0]  # an Arrow (SQL) table: `_dlt_load_id` in PostgreSQL only
    assert accounting.tables["customers"].rows_landed == len(changed["accounting"]["customers"]) > 0
    assert _pg_count(pg_warehouse["database"], "accounting", "customers", accounting.load_id) \
        == accounting.tables["customers"].rows_landed
    with duckdb.connect(str(catalog.warehouse_path), read_only=True) as con:
        loads = con.execute("SELECT count(*) FROM raw_crm._dlt_loads").fetchall()[0][0]
    assert loads == sum(1 for r in rounds if r["crm"][0].load_id)


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process with the DuckDB file open (an analyst's session): writers cannot start."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("holding", flush=True)
            sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_failed_mirror_is_copied_by_the_next_run(pg_warehouse, sandbox, monkeypatch):
    from sync_platform.engines import warehouse

    catalog = load_catalog()
    land(catalog, "crm")
    report = sandbox.mutate(edits=4, inserts=1, deletes=0, systems=["crm"])
    monkeypatch.setattr(warehouse, "LOCK_WAIT_S", 0.5)
    holder = _hold_lock(catalog.warehouse_path)
    try:
        with pytest.raises(LandingError, match="mirroring it into the DuckDB warehouse failed") as failed:
            land(catalog, "crm")
    finally:
        holder.communicate("done\n", timeout=30)
    assert "committed in PostgreSQL" in str(failed.value)
    # the rows and the cursor are committed in PostgreSQL; DuckDB still has the first run's rows
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={pg_warehouse['database']}") as con:
        failed_load = con.execute("SELECT max(load_id) FROM raw_crm._dlt_loads").fetchone()[0]
    assert _pg_count(pg_warehouse["database"], "crm", "contacts", failed_load) \
        == len(report.changed["crm"]["Contact"])
    with duckdb.connect(str(catalog.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_crm._dlt_loads WHERE load_id = ?",
                           [failed_load]).fetchall()[0][0] == 0

    again = land(catalog, "crm")  # nothing new at the source; the missing load is mirrored
    assert again.tables["contacts"].rows_landed == 0
    assert failed_load in again.mirror.load_ids
    assert again.mirror.rows["contacts"] == len(report.changed["crm"]["Contact"])
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={pg_warehouse['database']}") as con:
        in_pg = sorted(con.execute("SELECT id, last_name, email, last_modified_date, _dlt_id "
                                   "FROM raw_crm.contacts").fetchall(), key=repr)
    with duckdb.connect(str(catalog.warehouse_path), read_only=True) as con:
        in_duckdb = sorted(con.execute("SELECT id, last_name, email, last_modified_date, _dlt_id "
                                       "FROM raw_crm.contacts").fetchall(), key=repr)
    assert in_duckdb == in_pg
    assert land(catalog, "crm").mirror.rows == {}  # converged: nothing left to copy


def test_the_password_is_never_written(pg_warehouse, sandbox, caplog, capfd):
    """Landing through Dagster: the secret appears in no DuckDB table, no Dagster event (logs,
    metadata), no captured output and no file under the data folder."""
    from dagster import DagsterInstance

    from sync_platform_tests.defs.landing_helpers import land_through_dagster, rows_landed

    password = pg_warehouse["password"]
    instance = DagsterInstance.ephemeral()
    result, landed = land_through_dagster(["crm", "accounting", "shop"], instance=instance)
    assert result.success
    assert rows_landed(landed)[("crm", "contacts")] == sandbox.seeded["crm"]["Contact"]
    assert landed[("shop", "products")]["rows_mirrored_to_duckdb"] > 0

    records = instance.get_records_for_run(result.run_id).records
    assert records and not [r for r in records if password in repr(r.event_log_entry)]
    assert password not in caplog.text
    out, err = capfd.readouterr()
    assert password not in out and password not in err
    catalog = load_catalog()
    with duckdb.connect(str(catalog.warehouse_path), read_only=True) as con:
        text_columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON')").fetchall()
        hits = [c for c in text_columns if con.execute(
            f'SELECT count(*) FROM "{c[0]}"."{c[1]}" WHERE CAST("{c[2]}" AS VARCHAR) LIKE ?',
            [f"%{password}%"]).fetchall()[0][0]]
    assert len(text_columns) > 50 and hits == []
    data = Path(catalog.warehouse_path).parent
    leaked = [p for p in data.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert leaked == []


def test_landing_without_the_secret_names_the_variable(pg_warehouse, monkeypatch):
    catalog = load_catalog()
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(LandingError, match=rf"systems.yaml: warehouse.postgres.password_env: "
                                           rf"environment variable {PASSWORD_ENV} is not set"):
        land(catalog, "hr")


@pytest.mark.parametrize(("warehouse", "expected"), [
    ({"destination": "postgres"}, "warehouse: `destination: postgres` needs a `postgres:`"),
    ({"destination": "snowflake"}, "warehouse.destination: Input should be 'duckdb' or 'postgres'"),
    ({"destination": "postgres", "postgres": {"database": "raw", "user": "sync", "password": "hunter2"}},
     "warehouse.postgres.password: a password is never written in systems.yaml"),
    ({"destination": "postgres", "postgres": {"database": "raw"}},
     "warehouse.postgres: give `database` and `user`"),
    ({"destination": "postgres", "postgres": {"database": "raw", "user": "sync", "port": 0}},
     "warehouse.postgres.port: Input should be greater than or equal to 1"),
    ({"destination": "postgres", "postgres": {"database": "raw", "user": "sync", "password_env": "not a name"}},
     "warehouse.postgres.password_env: 'not a name' is not an environment variable name"),
    ({"postgres": {"database": "raw", "user": "sync"}},
     "a `postgres:` section is only used with `destination: postgres`"),
    ({"destination": "postgres", "postgres": {"database": "raw", "user": "sync", "password_env": "NO_SUCH_PG_VAR"}},
     "warehouse.postgres.password_env: environment variable NO_SUCH_PG_VAR is not set"),
])
def test_config_errors_name_the_file_and_field(tmp_path, monkeypatch, warehouse, expected):
    monkeypatch.delenv("NO_SUCH_PG_VAR", raising=False)
    file = tmp_path / "systems.yaml"
    file.write_text(yaml.safe_dump({
        "version": 1, "warehouse": {"path": str(tmp_path / "w.duckdb"), **warehouse},
        "systems": {"hr": {"kind": "files", "connection": {"path": str(tmp_path)},
                           "tables": {"employees": {"source": "*.csv", "primary_key": "id"}}}}}))
    with pytest.raises(CatalogError) as error:
        load_catalog(tmp_path)
    message = str(error.value)
    assert f"{file}: " in message and expected in message.replace("\n", " "), message
    assert "hunter2" not in message
