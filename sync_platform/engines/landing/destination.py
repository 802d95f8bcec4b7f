"""Where landing writes: the DuckDB warehouse file (default) or PostgreSQL.

`warehouse.destination: postgres` lands every system's raw tables into PostgreSQL (schema
`raw_<system>`, dlt's cursors in `raw_<system>._dlt_pipeline_state` there, committed with the data)
and then mirrors each load into the DuckDB file (see `mirror.py`), on which every later engine
computes. The password (or a whole DSN) is read from the environment when a connection is made:
it never enters the catalog object, logs, tables or Dagster metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dlt
import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from sync_platform.engines.catalog.models import Catalog, PostgresWarehouse

# DuckDB ingests Parquet load files ~4x faster than INSERT files. PostgreSQL cannot take Parquet
# without the ADBC driver, and dlt's CSV files (COPY) lose data there: `FORCE_NULL` turns every
# empty string of a column that also has NULLs into NULL (a DuckDB landing keeps ''), and its
# writer counts fields as rows. dlt's INSERT files keep every value.
DUCKDB_LOAD_FILE_FORMAT = "parquet"
POSTGRES_LOAD_FILE_FORMAT = "insert_values"
# Set for a PostgreSQL landing only: Arrow items (the SQL and file connectors) get dlt's
# `_dlt_load_id` there, so every PostgreSQL row names the load that wrote it and the mirror can
# copy exactly the rows of the loads it has not mirrored yet. The mirror leaves the column out
# in DuckDB, where a DuckDB landing would not have it.
_ARROW_LOAD_ID_ENV = "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"


class WarehouseSecretMissing(Exception):
    """The environment variable holding the PostgreSQL secret is not set."""


def uses_postgres(catalog: Catalog) -> bool:
    return catalog.warehouse.destination == "postgres"


def load_file_format(catalog: Catalog) -> str:
    return POSTGRES_LOAD_FILE_FORMAT if uses_postgres(catalog) else DUCKDB_LOAD_FILE_FORMAT


def _settings(catalog: Catalog) -> PostgresWarehouse:
    assert catalog.warehouse.postgres is not None  # validated with destination: postgres
    return catalog.warehouse.postgres


def _secret(catalog: Catalog, strict: bool = True) -> str:
    settings = _settings(catalog)
    name = settings.secret_env()
    value = os.environ.get(name)
    if not value and not strict:
        return ""
    if not value:
        field = "dsn_env" if settings.dsn_env else "password_env"
        where = f"{catalog.source_file}: " if catalog.source_file else ""
        raise WarehouseSecretMissing(
            f"{where}warehouse.postgres.{field}: environment variable {name} is not set")
    return value


def _dsn_credentials(dsn: str) -> ConnectionStringCredentials:
    credentials = ConnectionStringCredentials()
    credentials.parse_native_representation(dsn)
    credentials.drivername = "postgresql"  # a SQLAlchemy URL may name its driver (+psycopg)
    return credentials


def postgres_connection_kwargs(catalog: Catalog, strict: bool = True) -> dict[str, Any]:
    """psycopg.connect() arguments for the PostgreSQL warehouse (the secret included; with
    `strict=False` a missing secret is left empty instead of raising)."""
    settings = _settings(catalog)
    if settings.dsn_env:
        c = _dsn_credentials(_secret(catalog, strict) or f"postgresql://localhost/{settings.database or 'postgres'}")
        kwargs: dict[str, Any] = {"host": c.host, "port": c.port or 5432, "dbname": c.database,
                                  "user": c.username, "password": c.password or ""}
        kwargs.update({k: v for k, v in (c.query or {}).items() if k in ("sslmode", "options")})
    else:
        kwargs = {"host": settings.host, "port": settings.port, "dbname": settings.database,
                  "user": settings.user, "password": _secret(catalog, strict)}
    if settings.sslmode:
        kwargs["sslmode"] = settings.sslmode
    kwargs["connect_timeout"] = settings.connect_timeout_s
    return kwargs


def connect_postgres(catalog: Catalog) -> psycopg.Connection:
    """A new psycopg connection to the PostgreSQL warehouse; close it when done."""
    return psycopg.connect(**postgres_connection_kwargs(catalog))


def postgres_label(catalog: Catalog) -> str:
    """`user@host:port/database` of the PostgreSQL warehouse: safe for logs (no secret)."""
    settings = _settings(catalog)
    if settings.dsn_env:
        return f"the database in ${settings.dsn_env}"
    return f"{settings.user}@{settings.host}:{settings.port}/{settings.database}"


def dlt_destination(catalog: Catalog, strict: bool = True) -> Any:
    """The dlt destination landing writes to. `strict=False` (building Dagster definitions, which
    runs nothing) does not require the PostgreSQL secret to be set yet."""
    if not uses_postgres(catalog):
        return dlt.destinations.duckdb(str(catalog.warehouse_path))
    kwargs = postgres_connection_kwargs(catalog, strict)
    query = {"connect_timeout": str(kwargs["connect_timeout"])}
    if "sslmode" in kwargs:
        query["sslmode"] = kwargs["sslmode"]
    credentials = {"database": kwargs["dbname"], "username": kwargs["user"],
                   "password": kwargs["password"], "host": kwargs["host"], "port": int(kwargs["port"]),
                   "connect_timeout": int(kwargs["connect_timeout"]), "query": query}
    return dlt.destinations.postgres(credentials=credentials)


@contextmanager
def landing_settings(catalog: Catalog) -> Iterator[None]:
    """dlt settings a landing into `catalog`'s destination needs while it runs (none for DuckDB);
    a value the user configured (toml, environment) wins."""
    if not uses_postgres(catalog) or _ARROW_LOAD_ID_ENV in os.environ:
        yield
        return
    os.environ[_ARROW_LOAD_ID_ENV] = "true"
    try:
        yield
    finally:
        os.environ.pop(_ARROW_LOAD_ID_ENV, None)
