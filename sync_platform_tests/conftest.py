"""Shared fixtures: temporary data folders, a copy of the mappings, the real sandbox systems.

The sandbox runs as real HTTP servers on 127.0.0.1 (ephemeral ports) with SQLite/CSV systems
under a temporary folder; Dagster runs use an ephemeral instance unless a test needs another.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_SIZE = 200


def execute_sql(warehouse: Path | str, *statements: str) -> None:
    """Run SQL statements on a DuckDB file (tests edit warehouses between runs with it)."""
    from sync_platform.engines.warehouse import connect

    with connect(warehouse) as con:
        for statement in statements:
            con.execute(statement)


def handwritten_mappings(folder: Path) -> Path:
    """Copy the hand-written parts of mappings/ (systems, entities, seed knowledge) to `folder`:
    tests start with no generated mappings and no decisions."""
    folder.mkdir(parents=True)
    shutil.copyfile(REPO / "mappings" / "systems.yaml", folder / "systems.yaml")
    shutil.copytree(REPO / "mappings" / "entities", folder / "entities")
    shutil.copytree(REPO / "mappings" / "knowledge", folder / "knowledge",
                    ignore=shutil.ignore_patterns("decisions.yaml", "learned.yaml"))
    return folder


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """Commands under test set variables (sandbox URLs, DAGSTER_HOME); none may leak onward."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SYNC_DATA_DIR", str(folder))
    monkeypatch.delenv("SYNC_WAREHOUSE", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return folder


@pytest.fixture
def mappings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's mappings, copied, with fast retry backoff so fault tests stay quick."""
    folder = handwritten_mappings(tmp_path / "mappings")
    systems = yaml.safe_load((folder / "systems.yaml").read_text())
    for system in systems["systems"].values():
        if system["kind"] == "rest":
            system["connection"]["retry"] = {"max_attempts": 4, "backoff_factor": 0.05,
                                             "max_delay_s": 0.5, "timeout_s": 10}
    (folder / "systems.yaml").write_text(yaml.safe_dump(systems, sort_keys=False))
    monkeypatch.setenv("SYNC_MAPPINGS_DIR", str(folder))
    return folder


@pytest.fixture
def sandbox(data_dir: Path, mappings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Seeded, running sandbox systems; their URLs and tokens are in the environment."""
    from sync_platform.engines.sandbox import Sandbox

    box = Sandbox(data_dir / "sandbox", seed=7, size=TEST_SIZE)
    box.seeded = box.seed(reset=True)  # {system: {table: rows}} as the sandbox reports them
    box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
    for key, value in box.env().items():
        monkeypatch.setenv(key, value)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def catalog(sandbox):
    from sync_platform.engines.catalog import load_catalog

    return load_catalog()


def postgres_url(database: str = "postgres") -> str | None:
    """A URL of the local PostgreSQL server, or None when none is reachable."""
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            pass
    except Exception:
        return None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def fresh_postgres_database(name: str) -> str:
    """(Re)create a PostgreSQL database for a test and return its SQLAlchemy URL, or skip."""
    if postgres_url() is None:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (trust auth, user postgres)")
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


@pytest.fixture(scope="session")
def landed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding every sandbox system landed once (seed 7, size 300), built once per
    session. Read-only for tests: use `warehouse_copy` to write."""
    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.landing import land
    from sync_platform.engines.sandbox import Sandbox

    root = tmp_path_factory.mktemp("landed")
    saved = dict(os.environ)
    os.environ["SYNC_DATA_DIR"] = str(root / "data")
    os.environ["SYNC_MAPPINGS_DIR"] = str(REPO / "mappings")
    box = Sandbox(root / "data" / "sandbox", seed=7, size=300)
    box.seed(reset=True)
    box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
    try:
        os.environ.update(box.env())
        catalog = load_catalog()
        for system in catalog.systems:
            land(catalog, system)
        return catalog.warehouse_path
    finally:
        box.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def warehouse_copy(landed_warehouse: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the landed sandbox warehouse."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(landed_warehouse, target)
    return target
