"""Mirror PostgreSQL landings into the DuckDB warehouse (`warehouse.destination: postgres`).

PostgreSQL holds the durable raw layer (what dlt landed, its cursors with it); every engine after
landing computes on the DuckDB file. After each landing the rows of every load PostgreSQL has and
DuckDB lacks are copied into DuckDB's `raw_<system>`, shaped as a DuckDB landing would have
shaped them:

- Which loads: the DuckDB mirror keeps a copy of dlt's `_dlt_loads` rows of the loads it holds;
  every completed PostgreSQL load (`_dlt_loads.status = 0`) not among them is copied. The rows of
  all tables and those `_dlt_loads` rows are written in one DuckDB transaction, so a mirror that
  fails leaves DuckDB as it was and the next one copies the same loads again.
- Which rows: a root table's rows whose `_dlt_load_id` is one of those loads (the SQL and file
  connectors' Arrow tables get `_dlt_load_id` in PostgreSQL only for this; it is left out in
  DuckDB, as a DuckDB landing has none there), and the rows of its child tables (`products__options`)
  below those rows by `_dlt_root_id`.
- Columns and types: from dlt's stored schema (PostgreSQL's `_dlt_version`) through dlt's own
  DuckDB type mapper, the same DDL the DuckDB destination runs (`CREATE TABLE`, `ALTER TABLE ADD
  COLUMN` for a new column).
- Merge: as dlt's delete-insert merge: rows of the primary key (else of `_dlt_id`) are replaced,
  with their child rows; a `replace` table is replaced whole.
- Transfer: PostgreSQL `COPY (SELECT ...) TO STDOUT (FORMAT csv)` into a temporary file, read by
  DuckDB's CSV reader as text and cast to the target types (no per-row Python).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import duckdb
import psycopg
from dlt.common.schema import Schema
from dlt.common.schema.typing import TTableSchema
from dlt.common.schema.utils import is_complete_column
from psycopg import sql

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.landing.destination import connect_postgres
from sync_platform.engines.warehouse import connect, quote, table_exists

LOADS_TABLE = "_dlt_loads"
LOAD_ID = "__mirror_load_id"  # the staged rows' load (roots: `_dlt_load_id`; children: their root's)
LOADS_DDL = ("load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, "
             "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL, schema_version_hash VARCHAR")


@dataclass(frozen=True)
class MirrorResult:
    system: str
    load_ids: list[str]  # the PostgreSQL loads copied into DuckDB by this call, oldest first
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    seconds: float = 0.0
    # load id -> table -> rows of that load copied (a child row counts for its root row's load)
    rows_by_load: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Table:
    name: str
    root: str  # the root table (itself for a root)
    columns: list[dict[str, Any]]  # dlt column schemas, in the order DuckDB gets them
    disposition: str
    primary_key: list[str]
    has_row_id: bool  # `_dlt_id`
    by_load: bool  # rows are selected by `_dlt_load_id` (roots); else through the root


def _pg_columns(pg: psycopg.Connection, dataset: str) -> dict[str, list[str]]:
    rows = pg.execute("SELECT table_name, column_name FROM information_schema.columns "
                      "WHERE table_schema = %s ORDER BY table_name, ordinal_position", [dataset]).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def _mirrored_loads(con: duckdb.DuckDBPyConnection, dataset: str) -> set[str]:
    """The loads the DuckDB mirror holds: its copy of `_dlt_loads` is the watermark."""
    if not table_exists(con, dataset, LOADS_TABLE):
        return set()
    return {row[0] for row in con.execute(f"SELECT load_id FROM {quote(dataset)}.{LOADS_TABLE}").fetchall()}


def _schema(pg: psycopg.Connection, dataset: str, loads: list[tuple]) -> Schema:
    """dlt's schema as of the newest of `loads` (stored by dlt in `_dlt_version`)."""
    name, version_hash = loads[-1][1], loads[-1][4]
    row = pg.execute(
        sql.SQL("SELECT schema FROM {}._dlt_version WHERE schema_name = %s "
                "ORDER BY (version_hash = %s) DESC, inserted_at DESC LIMIT 1").format(sql.Identifier(dataset)),
        [name, version_hash]).fetchone()
    if row is None:
        raise RuntimeError(f"{dataset}._dlt_version in PostgreSQL holds no schema {name!r}")
    return Schema.from_dict(json.loads(row[0]))


def _root_of(schema: Schema, table: TTableSchema) -> str:
    while table.get("parent"):
        table = schema.tables[table["parent"]]
    return table["name"]


def _tables(schema: Schema, pg_columns: dict[str, list[str]]) -> list[_Table]:
    """The data tables to mirror, each root before its children."""
    found = []
    for table in schema.data_tables():
        name = table["name"]
        if name not in pg_columns:
            continue
        in_pg = set(pg_columns[name])
        columns = [c for c in table["columns"].values() if is_complete_column(c) and c["name"] in in_pg]
        names = {c["name"] for c in columns}
        root = _root_of(schema, table)
        is_root = root == name
        if is_root and "_dlt_id" not in names:
            # an Arrow table: `_dlt_load_id` exists in PostgreSQL only (see destination.py)
            columns = [c for c in columns if c["name"] != "_dlt_load_id"]
        root_table = schema.tables[root]
        found.append(_Table(
            name=name, root=root, columns=columns,
            disposition=str(root_table.get("write_disposition") or "append"),
            primary_key=[c["name"] for c in table["columns"].values() if c.get("primary_key")] if is_root else [],
            has_row_id="_dlt_id" in names, by_load=is_root and "_dlt_load_id" in in_pg,
        ))
    found.sort(key=lambda t: (t.root, t.name != t.root, t.name))
    return found


def _copy_out(pg: psycopg.Connection, query: sql.Composable, params: list, target: Path) -> None:
    with pg.cursor() as cur, target.open("wb") as out:
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
        with cur.copy(statement, params or None) as copy:
            for chunk in copy:
                out.write(chunk)


def _cast(column: dict[str, Any], duck_type: str) -> str:
    name = quote(column["name"])
    if column["data_type"] == "binary":  # PostgreSQL writes bytea as \x<hex>
        return f"from_hex(substr({name}, 3))"
    return name if duck_type == "VARCHAR" else f"CAST({name} AS {duck_type})"


def _where_pk(pk: list[str], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(c)} IS NOT DISTINCT FROM {right}.{quote(c)}" for c in pk)


def mirror_system(catalog: Catalog, system: str) -> MirrorResult:
    """Copy into the DuckDB warehouse every PostgreSQL load of `system` it does not hold yet."""
    started = time.perf_counter()
    dataset = f"raw_{system}"
    warehouse = catalog.warehouse_path
    mirrored: set[str] = set()
    if warehouse.exists():
        with connect(warehouse, read_only=True) as con:
            mirrored = _mirrored_loads(con, dataset)
    with connect_postgres(catalog) as pg:
        # one snapshot for all tables; timestamptz as text in UTC ('...+00'), read by DuckDB exactly
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        pg.execute("SET TIME ZONE 'UTC'")
        pg_columns = _pg_columns(pg, dataset)
        if LOADS_TABLE not in pg_columns:
            return MirrorResult(system, [], {}, time.perf_counter() - started)
        loads = [row for row in pg.execute(
            sql.SQL("SELECT load_id, schema_name, status, inserted_at, schema_version_hash FROM {}.{} "
                    "WHERE status = 0 ORDER BY inserted_at, load_id").format(
                sql.Identifier(dataset), sql.Identifier(LOADS_TABLE))).fetchall()
            if row[0] not in mirrored]
        if not loads:
            return MirrorResult(system, [], {}, time.perf_counter() - started)
        load_ids = [row[0] for row in loads]
        tables = _tables(_schema(pg, dataset, loads), pg_columns)
        with tempfile.TemporaryDirectory(prefix=f"mirror_{system}_", dir=warehouse.parent) as folder:
            files = _export(pg, dataset, tables, load_ids, Path(folder))
            pg.rollback()
            rows = _apply(warehouse, dataset, tables, files, loads)
    if rows is None:  # another process mirrored these loads meanwhile
        return MirrorResult(system, [], {}, time.perf_counter() - started)
    totals = {table: sum(counts.get(table, 0) for counts in rows.values()) for table in files}
    return MirrorResult(system, load_ids, totals, time.perf_counter() - started, rows)


def _export(pg: psycopg.Connection, dataset: str, tables: list[_Table], load_ids: list[str],
            folder: Path) -> dict[str, Path]:
    """Each table's rows of `load_ids` as a CSV file (columns in `_Table.columns` order)."""
    files = {}
    replace_roots = {t.name for t in tables if t.name == t.root and t.disposition == "replace"}
    for index, table in enumerate(tables):
        columns = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c["name"])) for c in table.columns)
        if table.by_load:  # the row's load, for the per-load counts (also where DuckDB leaves it out)
            columns = sql.SQL("{}, t._dlt_load_id").format(columns)
        source = sql.SQL("{}.{} t").format(sql.Identifier(dataset), sql.Identifier(table.name))
        params: list = []
        if table.root in replace_roots:  # PostgreSQL holds the last load's rows only: take them all
            query = sql.SQL("SELECT {} FROM {}").format(columns, source)
        elif table.by_load:
            query = sql.SQL("SELECT {} FROM {} WHERE t._dlt_load_id = ANY(%s)").format(columns, source)
            params = [load_ids]
        elif table.name != table.root:
            query = sql.SQL("SELECT {} FROM {} WHERE t._dlt_root_id IN (SELECT r._dlt_id FROM {}.{} r "
                            "WHERE r._dlt_load_id = ANY(%s))").format(
                columns, source, sql.Identifier(dataset), sql.Identifier(table.root))
            params = [load_ids]
        else:  # a root without `_dlt_load_id` (landed before it was added): all of it
            query = sql.SQL("SELECT {} FROM {}").format(columns, source)
        files[table.name] = folder / f"{index}.csv"
        _copy_out(pg, query, params, files[table.name])
    return files


def _apply(warehouse: Path, dataset: str, tables: list[_Table], files: dict[str, Path],
           loads: list[tuple]) -> dict[str, dict[str, int]] | None:
    """Merge the exported rows into DuckDB and record the loads: one transaction (None, and
    nothing written, when another process mirrored any of these loads meanwhile)."""
    mapper = dlt.destinations.duckdb().capabilities().get_type_mapper()
    rows: dict[str, dict[str, int]] = {}
    schema = quote(dataset)
    with connect(warehouse) as con:
        con.execute("BEGIN")
        try:
            if _mirrored_loads(con, dataset) & {row[0] for row in loads}:
                con.execute("ROLLBACK")
                return None
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{LOADS_TABLE} ({LOADS_DDL})")
            staged = {}
            for table in tables:
                types = {c["name"]: mapper.to_destination_type(c, {"name": table.name}) for c in table.columns}
                _ensure_table(con, dataset, table, types)
                staged[table.name] = _stage(con, table, types, files[table.name])
            for table in tables:
                if table.name == table.root:
                    _delete_replaced(con, dataset, table, [t for t in tables if t.root == table.name],
                                     staged[table.name])
            for table in tables:
                names = ", ".join(quote(c["name"]) for c in table.columns)
                con.execute(f"INSERT INTO {schema}.{quote(table.name)} ({names}) "
                            f"SELECT {names} FROM {staged[table.name]}")
                for load_id, count in _counts_by_load(con, table, staged):
                    rows.setdefault(load_id, {})[table.name] = count
            con.executemany(f"INSERT INTO {schema}.{LOADS_TABLE} VALUES (?, ?, ?, ?, ?)",
                            [list(row) for row in loads])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return rows


def _counts_by_load(con: duckdb.DuckDBPyConnection, table: _Table,
                    staged: dict[str, str]) -> list[tuple[str | None, int]]:
    if table.by_load:
        query = f"SELECT {LOAD_ID}, count(*) FROM {staged[table.name]} GROUP BY ALL"
    elif table.name != table.root and table.root in staged:
        query = (f"SELECT r.{LOAD_ID}, count(*) FROM {staged[table.name]} c "
                 f"LEFT JOIN {staged[table.root]} r ON c._dlt_root_id = r._dlt_id GROUP BY ALL")
    else:
        query = f"SELECT NULL, count(*) FROM {staged[table.name]}"
    return [(row[0], row[1]) for row in con.execute(query).fetchall()]


def _ensure_table(con: duckdb.DuckDBPyConnection, dataset: str, table: _Table, types: dict[str, str]) -> None:
    """The table as dlt's DuckDB destination would create it, or the columns it lacks added."""
    name = f"{quote(dataset)}.{quote(table.name)}"
    existing = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [dataset, table.name]).fetchall()}
    if not existing:
        defs = ",\n".join(f"{quote(c['name'])} {types[c['name']]} "
                          f"{'' if c.get('nullable', True) else 'NOT NULL'}" for c in table.columns)
        con.execute(f"CREATE TABLE {name} (\n{defs})")
        return
    missing = [c for c in table.columns if c["name"] not in existing]
    for column in missing:
        con.execute(f"ALTER TABLE {name} ADD COLUMN {quote(column['name'])} {types[column['name']]}")


def _stage(con: duckdb.DuckDBPyConnection, table: _Table, types: dict[str, str], file: Path) -> str:
    """Read an exported CSV (text) into a temp table with the DuckDB types; returns its name."""
    staged = quote(f"__mirror_{table.name}")
    names = [c["name"] for c in table.columns] + ([LOAD_ID] if table.by_load else [])
    spec = "{" + ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for name in names) + "}"
    casts = ", ".join([f"{_cast(c, types[c['name']])} AS {quote(c['name'])}" for c in table.columns]
                      + ([LOAD_ID] if table.by_load else []))
    path = str(file).replace("'", "''")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT {casts} FROM read_csv('{path}', "
        f"columns = {spec}, header = false, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', allow_quoted_nulls = false, strict_mode = true)")
    return staged


def _delete_replaced(con: duckdb.DuckDBPyConnection, dataset: str, root: _Table, family: list[_Table],
                     staged: str) -> None:
    """Remove the DuckDB rows the staged root rows replace, with their child rows (dlt's
    delete-insert merge); all of a `replace` table; nothing for appends without a row key."""
    schema = quote(dataset)
    target = f"{schema}.{quote(root.name)}"
    if root.disposition == "replace":
        for table in family:
            con.execute(f"DELETE FROM {schema}.{quote(table.name)}")
        return
    if root.disposition == "merge" and root.primary_key:
        match = f"EXISTS (SELECT 1 FROM {staged} s WHERE {_where_pk(root.primary_key, 's', 'd')})"
    elif root.has_row_id:
        match = f"d._dlt_id IN (SELECT _dlt_id FROM {staged})"
    else:
        return
    if root.has_row_id:
        for child in family:
            if child.name != root.name:
                con.execute(f"DELETE FROM {schema}.{quote(child.name)} WHERE _dlt_root_id IN "
                            f"(SELECT d._dlt_id FROM {target} d WHERE {match})")
    con.execute(f"DELETE FROM {target} d WHERE {match}")
