"""`postgres_warehouse()`: systems.yaml switched to `warehouse.destination: postgres` in a
fresh PostgreSQL database (dropped afterwards); skips when PostgreSQL is unreachable."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import yaml

from sync_platform_tests.conftest import fresh_postgres_database

PASSWORD_ENV = "SYNC_WAREHOUSE_PG_PASSWORD"


def _admin() -> psycopg.Connection:
    return psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True)


@contextmanager
def postgres_warehouse(mappings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """systems.yaml switched to `destination: postgres` in a fresh database; the password (trust
    auth ignores it) is a random secret in the environment."""
    database = f"sync_platform_test_wh_{uuid.uuid4().hex[:10]}"
    fresh_postgres_database(database)  # skips when PostgreSQL is unreachable
    password = "pw-" + secrets.token_hex(12)
    monkeypatch.setenv(PASSWORD_ENV, password)
    file = mappings_dir / "systems.yaml"
    config = yaml.safe_load(file.read_text())
    config["warehouse"] = {"path": config["warehouse"]["path"], "destination": "postgres",
                           "postgres": {"host": "127.0.0.1", "port": 5432, "database": database,
                                        "user": "postgres", "password_env": PASSWORD_ENV}}
    file.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        yield {"database": database, "password": password}
    finally:
        with _admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
