"""SQLite record store shared by the three HTTP systems (crm, marketing, shop).

One table of records (object, id, modified_at, deleted, JSON data plus a few lookup keys) and a
table of custom fields. The servers open a connection per request, so edits made by `mutate`
from any process are visible immediately (WAL mode).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE records (
    rid INTEGER PRIMARY KEY,
    object TEXT NOT NULL,
    id TEXT NOT NULL,
    ext_key TEXT,
    email_key TEXT,
    parent TEXT,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE TABLE fields (
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (object, name)
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS ix_records_id ON records(object, id);
CREATE INDEX IF NOT EXISTS ix_records_mod ON records(object, modified_at, id);
CREATE INDEX IF NOT EXISTS ix_records_ext ON records(object, ext_key) WHERE ext_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_records_email ON records(object, email_key)
    WHERE email_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_records_parent ON records(object, parent) WHERE parent IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_records_deleted ON records(object, deleted, rid);
"""

COLUMNS = "rid, object, id, ext_key, email_key, parent, created_at, modified_at, deleted, data"
INSERT = ("INSERT INTO records (object, id, ext_key, email_key, parent, created_at, modified_at,"
          " deleted, data) VALUES (?,?,?,?,?,?,?,?,?)")


@dataclass(slots=True)
class Record:
    """One stored record."""

    rid: int
    object: str
    id: str
    ext_key: str | None
    email_key: str | None
    parent: str | None
    created_at: int
    modified_at: int
    deleted: bool
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: tuple) -> Record:
        return cls(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]),
                   json.loads(row[9]))


def now_ms() -> int:
    """Wall-clock UTC time in epoch milliseconds."""
    return int(time.time() * 1000)


class RecordStore:
    """A SQLite file holding the records of one HTTP system."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def connect(self) -> sqlite3.Connection:
        """A new connection (autocommit off; use `transaction` for writes)."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taking the write lock up front (serialises timestamp bumps)."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A short-lived read connection."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()

    # -- seeding -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Delete and recreate the store file (empty, without the secondary indexes)."""
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path)
        conn.executescript(SCHEMA)
        conn.close()

    def bulk_insert(self, rows: Iterable[tuple]) -> int:
        """Insert seed rows (object, id, ext_key, email_key, parent, created, modified, deleted,
        data_json) fast, in one transaction."""
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        cur = conn.executemany(INSERT, rows)
        n = cur.rowcount
        conn.commit()
        conn.close()
        return n

    def finish_seed(self, fields: dict[str, list[dict[str, Any]]],
                    counters: dict[str, int]) -> None:
        """Build indexes and record base field specs and id counters."""
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(INDEXES)
        conn.executemany(
            "INSERT OR REPLACE INTO fields (object, name, spec) VALUES (?,?,?)",
            [(obj, f["name"], json.dumps(f)) for obj, fl in fields.items() for f in fl])
        conn.executemany("INSERT OR REPLACE INTO counters (name, value) VALUES (?,?)",
                         list(counters.items()))
        conn.commit()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()

    # -- reads ---------------------------------------------------------------------------------

    @staticmethod
    def get(conn: sqlite3.Connection, obj: str, rec_id: str) -> Record | None:
        row = conn.execute(f"SELECT {COLUMNS} FROM records WHERE object=? AND id=?",
                           (obj, rec_id)).fetchone()
        return Record.from_row(row) if row else None

    @staticmethod
    def find(conn: sqlite3.Connection, obj: str, column: str, value: str,
             live: bool = False) -> Record | None:
        """First record whose `ext_key` or `email_key` equals `value` (`live`: not deleted)."""
        assert column in ("ext_key", "email_key", "id")
        row = conn.execute(
            f"SELECT {COLUMNS} FROM records WHERE object=? AND {column}=?"
            f"{' AND deleted = 0' if live else ''} ORDER BY rid LIMIT 1",
            (obj, value)).fetchone()
        return Record.from_row(row) if row else None

    @staticmethod
    def children(conn: sqlite3.Connection, obj: str, parents: list[str]) -> list[Record]:
        if not parents:
            return []
        marks = ",".join("?" * len(parents))
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM records WHERE object=? AND parent IN ({marks}) ORDER BY rid",
            (obj, *parents)).fetchall()
        return [Record.from_row(r) for r in rows]

    @staticmethod
    def query(conn: sqlite3.Connection, obj: str, *, deleted: bool | None = None,
              min_modified: int | None = None, min_inclusive: bool = True,
              max_modified: int | None = None, after_mod: tuple[int, str] | None = None,
              after_rid: int | None = None, order: str = "modified", limit: int | None = None,
              extra_where: str = "", extra_params: tuple = ()) -> list[Record]:
        """Records of `obj` filtered by deletion flag and modified-time window.

        order="modified" sorts by (modified_at, id) with keyset `after_mod`;
        order="rid" sorts by insertion order with keyset `after_rid`.
        """
        where, params = _where(obj, deleted, min_modified, min_inclusive, max_modified)
        if after_mod is not None:
            where += " AND (modified_at > ? OR (modified_at = ? AND id > ?))"
            params += [after_mod[0], after_mod[0], after_mod[1]]
        if after_rid is not None:
            where += " AND rid > ?"
            params.append(after_rid)
        if extra_where:
            where += " AND " + extra_where
            params += list(extra_params)
        sql = f"SELECT {COLUMNS} FROM records WHERE {where} "
        sql += "ORDER BY modified_at, id" if order == "modified" else "ORDER BY rid"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Record.from_row(r) for r in conn.execute(sql, params).fetchall()]

    @staticmethod
    def count(conn: sqlite3.Connection, obj: str, *, deleted: bool | None = None,
              min_modified: int | None = None, min_inclusive: bool = True,
              max_modified: int | None = None, extra_where: str = "",
              extra_params: tuple = ()) -> int:
        where, params = _where(obj, deleted, min_modified, min_inclusive, max_modified)
        if extra_where:
            where += " AND " + extra_where
            params += list(extra_params)
        return conn.execute(f"SELECT count(*) FROM records WHERE {where}", params).fetchone()[0]

    @staticmethod
    def max_modified(conn: sqlite3.Connection, obj: str) -> int:
        row = conn.execute("SELECT max(modified_at) FROM records WHERE object=?",
                           (obj,)).fetchone()
        return int(row[0] or 0)

    @staticmethod
    def fields(conn: sqlite3.Connection, obj: str) -> list[dict[str, Any]]:
        """Field specs of `obj` in definition order (base fields first, then custom ones)."""
        rows = conn.execute("SELECT spec FROM fields WHERE object=? ORDER BY rowid",
                            (obj,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- writes --------------------------------------------------------------------------------

    @staticmethod
    def next_timestamp(conn: sqlite3.Connection, objects: Iterable[str], step_ms: int = 1) -> int:
        """A modified time strictly greater than every stored one: max(now, max + step)."""
        top = max((RecordStore.max_modified(conn, o) for o in objects), default=0)
        now = now_ms()
        if step_ms >= 1000:
            now = (now // 1000 + 1) * 1000
        return max(now, top + step_ms)

    @staticmethod
    def next_counter(conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        value = (row[0] if row else 0) + 1
        conn.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?,?)", (name, value))
        return value

    @staticmethod
    def insert(conn: sqlite3.Connection, obj: str, rec_id: str, data: dict[str, Any], ts: int, *,
               ext_key: str | None = None, email_key: str | None = None,
               parent: str | None = None, deleted: bool = False) -> None:
        conn.execute(INSERT, (obj, rec_id, ext_key, email_key, parent, ts, ts, int(deleted),
                              json.dumps(data)))

    @staticmethod
    def update(conn: sqlite3.Connection, rec: Record, ts: int) -> None:
        """Write back `rec` (data, keys, deleted flag) with modified time `ts`."""
        conn.execute(
            "UPDATE records SET data=?, ext_key=?, email_key=?, deleted=?, modified_at=? "
            "WHERE rid=?",
            (json.dumps(rec.data), rec.ext_key, rec.email_key, int(rec.deleted), ts, rec.rid))
        rec.modified_at = ts

    @staticmethod
    def remove(conn: sqlite3.Connection, obj: str, rec_ids: Iterable[str]) -> int:
        """Delete records for good (no tombstone); returns how many rows went."""
        return sum(conn.execute("DELETE FROM records WHERE object=? AND id=?", (obj, rid)).rowcount
                   for rid in rec_ids)

    @staticmethod
    def add_field(conn: sqlite3.Connection, obj: str, spec: dict[str, Any]) -> bool:
        """Add a custom field spec; False if it already exists."""
        cur = conn.execute("INSERT OR IGNORE INTO fields (object, name, spec) VALUES (?,?,?)",
                           (obj, spec["name"], json.dumps(spec)))
        return cur.rowcount > 0


def _where(obj: str, deleted: bool | None, min_modified: int | None, min_inclusive: bool,
           max_modified: int | None) -> tuple[str, list]:
    where = "object = ?"
    params: list = [obj]
    if deleted is not None:
        where += " AND deleted = ?"
        params.append(int(deleted))
    if min_modified is not None:
        where += " AND modified_at >= ?" if min_inclusive else " AND modified_at > ?"
        params.append(min_modified)
    if max_modified is not None:
        where += " AND modified_at <= ?"
        params.append(max_modified)
    return where, params
