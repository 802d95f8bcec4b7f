"""Helpers of the push fault tests: changes for the sandbox targets, and what the targets hold."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.sandbox import Sandbox


def crm_contacts(n: int, prefix: str = "g", **extra: Any) -> list[dict[str, Any]]:
    """n valid contact changes for crm.contacts (Salesforce style)."""
    return [{"target": "crm", "table": "contacts", "entity": "contact", "golden_id": f"{prefix}-{i:05d}",
             "operation": "create", "payload": {"LastName": f"Push{i}", "FirstName": "Ada",
                                                "Email": f"{prefix}{i}@push.example"},
             "lineage": {"LastName": {"source": "hr", "rule": "system_of_record"}}, **extra}
            for i in range(n)]


def hs_contacts(n: int, prefix: str = "h", **extra: Any) -> list[dict[str, Any]]:
    """n valid contact changes for marketing.contacts (HubSpot style)."""
    return [{"target": "marketing", "table": "contacts", "entity": "contact",
             "golden_id": f"{prefix}-{i:05d}", "operation": "create",
             "payload": {"firstname": "Grace", "lastname": f"Push{i}",
                         "email": f"{prefix}{i}@push.example"}, **extra}
            for i in range(n)]


def store_counts(sb: Sandbox, system: str, obj: str, prefix: str) -> Counter:
    """external id -> number of live records holding it in the sandbox's own store."""
    path = Path(sb.root) / f"{system}.sqlite"
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT ext_key FROM records WHERE object = ? AND ext_key LIKE ? "
                           "AND deleted = 0", (obj, f"{prefix}-%")).fetchall()
    return Counter(r[0] for r in rows)


def store_record(sb: Sandbox, system: str, obj: str, ext: str) -> dict | None:
    import json

    with sqlite3.connect(Path(sb.root) / f"{system}.sqlite") as con:
        row = con.execute("SELECT data FROM records WHERE object = ? AND ext_key = ?", (obj, ext)).fetchone()
    return json.loads(row[0]) if row else None


def ledger_states(warehouse: Path, prefix: str = "") -> Counter:
    if not warehouse.exists():
        return Counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
                           "AND table_name = 'push_ledger'").fetchall()[0][0]:
            return Counter()  # a run killed before it recorded anything
        rows = con.execute("SELECT state, count(*) FROM ops.push_ledger WHERE golden_id LIKE ? GROUP BY 1",
                           [f"{prefix}%"]).fetchall()
    return Counter(dict(rows))


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def all_text(warehouse: Path) -> str:
    """Every value of every ops table, as one text (for secret scans)."""
    parts = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = 'ops'").fetchall():
            parts += [repr(r) for r in con.execute(f"SELECT * FROM ops.{table}").fetchall()]
    return "\n".join(parts)
