"""What incremental staging remembers between runs, and when it must rebuild a mapping instead.

Two tables in `meta` (never in `staged`, whose every table is read as an entity):

- `meta.staging_state`: one row per (entity, mapping) staged by the last run: the source table,
  the fingerprint of everything the output depends on besides the raw rows, and the totals;
- `meta.staging_rows`: one row per raw row staged: a 64-bit hash of the whole raw row (every
  column, dlt's too), its source id and whether it was rejected.

The fingerprint is a hash per part, so a rebuild can say which part changed: the staging code
and the libraries behind the transform UDFs (`engine`), the entity definition, the raw table's
columns and types, the SQL text of the mapping query (rules, transforms, typing, key and
external-id columns all end up in it) and the values of any scalar the query reads besides the
row (`outside`: the latest load time, modified_at of the records without one when the table has
no `_dlt_load_id`). A change of `outside` alone does not rebuild the mapping: the rows whose
modified_at came from it (staged with modified_at NULL or derived; rejected rows too when
modified_at is required) are staged again with the changed rows.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import duckdb

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.staging.query import MappingQuery
from sync_platform.engines.warehouse import moved_hashes_sql, quote, table_exists

# Bump when the same rows and mappings would be staged differently in a way the code hash
# below does not see: the next run rebuilds every mapping.
ENGINE_VERSION = 1
STATE = "meta.staging_state"
ROWS = "meta.staging_rows"
_STATE_COLUMNS = ("entity VARCHAR, mapping_id VARCHAR, source_system VARCHAR, source_table VARCHAR, "
                  "fingerprint VARCHAR, rows_total BIGINT, staged_rows BIGINT, rejected_rows BIGINT, "
                  "mode VARCHAR, staged_at TIMESTAMP")
_ROWS_COLUMNS = "entity VARCHAR, mapping_id VARCHAR, row_hash UBIGINT, source_id VARCHAR, rejected BOOLEAN"
_LIBRARIES = ("duckdb", "phonenumbers", "email-validator", "nameparser", "pyarrow")
REASONS = {
    "engine": "staging code or a transform library changed",
    "entity": "entity definition changed",
    "columns": "columns of the raw table changed",
    "query": "mapping query changed (rules, transforms, key or external-id column)",
}
OUTSIDE = "outside"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the staging and transform modules and the versions of the libraries the UDFs
    use: a change there may change what the same rows stage to."""
    engines = Path(__file__).resolve().parents[1]
    files = sorted((engines / "staging").glob("*.py")) + sorted((engines / "transforms").glob("*.py"))
    files += [engines / "canonical" / "geo.py"]
    digest = hashlib.sha256(str(ENGINE_VERSION).encode())
    for path in files:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity, query: MappingQuery,
                columns: list[tuple[str, str]]) -> dict[str, str]:
    """Per part (see REASONS), a hash of what the mapping's output depends on besides its rows."""
    outside = [con.execute(f"SELECT CAST({sql} AS VARCHAR)").fetchall()[0][0] for sql in query.outside]
    return {
        "engine": code_version(),
        "entity": _sha(entity.model_dump_json()),
        "columns": _sha(json.dumps(columns)),
        "query": _sha(query.sql),
        "outside": _sha(json.dumps(outside)),
    }


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE} ({_STATE_COLUMNS})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {ROWS} ({_ROWS_COLUMNS})")


def load_state(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, dict]:
    """mapping id -> its state row of the last run (empty before the first run)."""
    if not all(table_exists(con, *table.split(".")) for table in (STATE, ROWS)):
        return {}
    cursor = con.execute(f"SELECT * FROM {STATE} WHERE entity = ?", [entity])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["fingerprint"] = json.loads(row["fingerprint"])
    return {row["mapping_id"]: row for row in rows}


def rebuild_reason(stored: dict | None, wanted: dict[str, str], query: MappingQuery,
                   source: tuple[str, str]) -> str:
    """Why this mapping must be rebuilt rather than staged incrementally ('' when it need not)."""
    if not query.stable_source_id:
        return "source_id is the row number (no usable key, no _dlt_id): rows cannot be matched across runs"
    if stored is None:
        return "no staging state yet (first run, or the mapping is new or applied again)"
    if (stored["source_system"], stored["source_table"]) != source:
        return "source table changed"
    changed = [REASONS[part] for part in wanted
               if part != OUTSIDE and stored["fingerprint"].get(part) != wanted[part]]
    return "; ".join(changed)


def hash_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], into: str) -> None:
    """Temp table `into(__rowid, __h)`: every row of `relation`, hashed over all its columns."""
    values = ", ".join(quote(c) for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT rowid AS __rowid, hash({values}) AS __h "
                f"FROM {relation}")


def changed_rows(con: duckdb.DuckDBPyConnection, entity: str, mapping_id: str, hashes: str,
                 todo: str, gone: str, again: str | None = None) -> None:
    """Compare the raw rows now (`hashes`) with the rows staged last (as multisets of row
    hashes): temp table `todo(__rowid)` holds the rows to stage (new or changed), `gone(source_id)`
    the source ids of staged rows no longer in the raw table as they were (changed or deleted).
    `again`: a query of stored row hashes to stage again although their rows did not change."""
    also = f" UNION SELECT row_hash FROM ({again})" if again else ""
    moved = moved_hashes_sql(f"SELECT __h AS h FROM {hashes}",
                             f"SELECT row_hash AS h FROM {ROWS} WHERE entity = ? AND mapping_id = ?")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __staging_changed AS {moved}{also}",
                [entity, mapping_id])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {todo} AS SELECT __rowid FROM {hashes} "
                f"WHERE __h IN (SELECT h FROM __staging_changed)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {gone} AS SELECT DISTINCT source_id FROM {ROWS} "
                f"WHERE entity = ? AND mapping_id = ? AND row_hash IN (SELECT h FROM __staging_changed)",
                [entity, mapping_id])


def shared_ids(con: duckdb.DuckDBPyConnection, entity: str, mapping_id: str, affected: str) -> int:
    """Unchanged staged rows whose source id is also the id of a changed or deleted row (a key
    that is not unique): staging only the changed rows of such an id would lose the others."""
    return con.execute(
        f"SELECT count(*) FROM {ROWS} WHERE entity = ? AND mapping_id = ? "
        f"AND source_id IN (SELECT source_id FROM {affected}) "
        f"AND row_hash NOT IN (SELECT h FROM __staging_changed)", [entity, mapping_id]).fetchall()[0][0]
