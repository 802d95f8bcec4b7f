"""Mass-change guard: a push that would change more than `mass_change_share` of a target table's
records (and more than `mass_change_min` records) is held until a person approves or cancels it
(`pending_approvals` lists them; `approve_push` / `cancel_push` decide).

The approval is for that exact change set (its id hashes the idempotency keys); held writes sit
in the ledger as `held` and an approval turns them into intents for the next push or resume. A
target whose size is unknown (not landed yet) counts as fully changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.catalog.models import PushConfig
from sync_platform.engines.push import ledger, tables
from sync_platform.engines.push.changes import Change
from sync_platform.engines.push.redact import mask_fields
from sync_platform.engines.push.tables import has_ledger, transaction
from sync_platform.engines.warehouse import quote, table_exists


def approval_id(target: str, table: str, keys: Iterable[str]) -> str:
    raw = "\x1f".join([target, table, *sorted(keys)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _count_rows(con: duckdb.DuckDBPyConnection, system: str, table: str) -> int | None:
    """Records in the target's landed copy (None when it has not been landed)."""
    if not table_exists(con, f"raw_{system}", table):
        return None
    return int(con.execute(f"SELECT count(*) FROM {quote('raw_' + system)}.{quote(table)}")
               .fetchall()[0][0])


def blocked_groups(con: duckdb.DuckDBPyConnection, changes: Sequence[Change], known: dict[str, str],
                   config: PushConfig, approve: bool) -> dict[tuple[str, str], dict[str, Any]]:
    """(target, table) -> approval request, for each group of new writes that changes too much."""
    groups: dict[tuple[str, str], list[str]] = {}
    for c in changes:
        if c.key not in known:
            groups.setdefault((c.target, c.table), []).append(c.key)
    has = has_ledger(con)
    blocked: dict[tuple[str, str], dict[str, Any]] = {}
    for (system, table), keys in groups.items():
        if len(keys) <= config.mass_change_min:
            continue
        total = _count_rows(con, system, table)
        share = len(keys) / total if total else 1.0
        if total and share <= config.mass_change_share:
            continue
        aid = approval_id(system, table, keys)
        status = None
        if has:
            found = con.execute("SELECT status FROM ops.push_approvals WHERE approval_id = ?",
                                [aid]).fetchall()
            status = found[0][0] if found else None
        if status == "approved" or approve:
            continue
        blocked[(system, table)] = {
            "approval_id": aid, "target": system, "table_name": table, "changes": len(keys),
            "target_records": total, "share": round(share, 4), "threshold": config.mass_change_share}
    return blocked


def request_approvals(con: duckdb.DuckDBPyConnection, blocked: dict[tuple[str, str], dict[str, Any]],
                      at: datetime) -> None:
    for (system, table), row in blocked.items():
        con.execute("""INSERT OR IGNORE INTO ops.push_approvals (approval_id, target, table_name,
                changes, target_records, share, threshold, status, requested_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)""",
                    [row["approval_id"], system, table, row["changes"], row["target_records"],
                     row["share"], row["threshold"], at])


def approve_push(warehouse: Path | str, approval: str, by: str = "cli") -> int:
    """Approve a blocked mass change: its held writes become intents (sent by the next push)."""
    with transaction(warehouse) as con:
        found = con.execute("SELECT status FROM ops.push_approvals WHERE approval_id = ?",
                            [approval]).fetchall()
        if not found:
            raise KeyError(f"no push approval {approval!r}")
        con.execute("UPDATE ops.push_approvals SET status = 'approved', decided_at = ?, decided_by = ? "
                    "WHERE approval_id = ?", [ledger.now(), by, approval])
        n = con.execute("UPDATE ops.push_ledger SET state = 'intent', updated_at = ? "
                        "WHERE approval_id = ? AND state = 'held'", [ledger.now(), approval]).fetchall()
    return int(n[0][0]) if n else 0


def cancel_push(warehouse: Path | str, approval: str, by: str = "cli") -> int:
    """Cancel a blocked mass change: its held writes are skipped (never sent; a later version of
    a record is a new change and meets the guard again). Returns the writes cancelled."""
    with transaction(warehouse) as con:
        found = con.execute("SELECT status FROM ops.push_approvals WHERE approval_id = ?",
                            [approval]).fetchall()
        if not found:
            raise KeyError(f"no push approval {approval!r}")
        if found[0][0] != "pending":
            raise ValueError(f"push approval {approval!r} is {found[0][0]}, not pending")
        con.execute("UPDATE ops.push_approvals SET status = 'cancelled', decided_at = ?, "
                    "decided_by = ? WHERE approval_id = ?", [ledger.now(), by, approval])
        keys = [k for (k,) in con.execute(
            "SELECT idempotency_key FROM ops.push_ledger WHERE approval_id = ? AND state = 'held'",
            [approval]).fetchall()]
        con.execute("UPDATE ops.push_ledger SET state = 'skipped', updated_at = ?, error = ? "
                    "WHERE approval_id = ? AND state = 'held'",
                    [ledger.now(), f"mass change cancelled by {by}", approval])
        ledger.scrub(con, keys)
    return len(keys)


def pending_approvals(warehouse: Path | str, sample: int = 5) -> list[dict[str, Any]]:
    """Mass changes waiting for a person, oldest first, each with up to `sample` of its held
    writes (`writes`: golden id, operation, payload and before, personal data masked)."""
    if not tables.exists(warehouse):
        return []
    with tables.connect(warehouse, read_only=True) as con:
        columns = ["approval_id", "target", "table_name", "changes", "target_records", "share",
                   "threshold", "requested_at"]
        rows = [dict(zip(columns, r, strict=True)) for r in con.execute(
            f"SELECT {', '.join(columns)} FROM ops.push_approvals WHERE status = 'pending' "
            "ORDER BY requested_at, approval_id").fetchall()]
        for row in rows:
            held = con.execute("""SELECT golden_id, operation, payload, "before", sensitive
                FROM ops.push_ledger WHERE approval_id = ? AND state = 'held'
                ORDER BY seq LIMIT ?""", [row["approval_id"], sample]).fetchall()
            row["writes"] = [{"golden_id": g, "operation": op,
                              "payload": mask_fields(json.loads(p) if p else {}, json.loads(s or "[]")),
                              "before": mask_fields(json.loads(b) if b else None, json.loads(s or "[]"))}
                             for g, op, p, b, s in held]
    return rows
