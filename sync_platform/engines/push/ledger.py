"""`ops.push_ledger`: every write's life, committed before anything is sent.

States: intent -> sent -> acknowledged | rejected (dead letter) | in_doubt, plus
parked (retry after `not_before`), review (uncertain match; decided to intent or skipped),
held (mass-change guard, released by an approval), superseded (a newer version of the record
replaced it before it was sent).

`sent` is committed *before* the request leaves, with the run's owner and a lease. After a crash a
`sent` row whose owner is gone (dead pid on this host, or lease expired) is `in_doubt`: the next
run looks the record up in the target by external id and marks it acknowledged when the target
already holds the payload, or sends it again (writes are upserts by external id, so a resend
cannot duplicate). Claims are one UPDATE ... RETURNING inside a DuckDB transaction, so two
overlapping runs never send the same row.

Personal data (redact.py): `sensitive` names the payload fields holding personal data. The clear
payload is kept while the write is open (a resume needs it); when the row settles in a FINAL
state its sensitive values (and `before`'s) are replaced by their masks in the same transaction.
`before` and `lineage` hold masks from the start (nothing sent needs them).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from sync_platform.engines.push.changes import PRIORITY_RANK, Change, canonical_json
from sync_platform.engines.push.redact import mask_fields, mask_pii, pii_values

FINAL = ("acknowledged", "rejected", "superseded", "skipped")
OPEN = ("intent", "parked", "held", "review", "in_doubt", "sent")
LEDGER_COLUMNS = ("idempotency_key", "target", "table_name", "entity", "flow", "golden_id",
                  "version", "operation", "target_key", "key_field", "priority", "payload",
                  "lineage", "before", "state", "attempts", "target_id", "error_class",
                  "http_status", "error", "not_before", "owner", "approval_id", "sensitive")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_owner() -> str:
    """host:pid:nonce of this run (pid lets a rerun on the same host see a dead owner at once)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: trust its lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scrub(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> int:
    """Mask the sensitive payload and `before` values of the settled rows among `keys`."""
    keys = list(keys)
    if not keys:
        return 0
    rows = con.execute("""SELECT idempotency_key, payload, "before", sensitive FROM ops.push_ledger
        WHERE sensitive IS NOT NULL AND state IN (SELECT unnest(?::VARCHAR[]))
          AND idempotency_key IN (SELECT unnest(?::VARCHAR[]))""", [list(FINAL), keys]).fetchall()
    changed = 0
    for key, payload, before, sensitive in rows:
        fields = json.loads(sensitive)
        clean = canonical_json(mask_fields(json.loads(payload), fields)) if payload else payload
        clean_before = canonical_json(mask_fields(json.loads(before), fields)) if before else before
        if (clean, clean_before) != (payload, before):
            con.execute('UPDATE ops.push_ledger SET payload = ?, "before" = ? WHERE idempotency_key = ?',
                        [clean, clean_before, key])
            changed += 1
    return changed


def record(con: duckdb.DuckDBPyConnection, changes: Sequence[Change], run_id: str,
           key_fields: dict[str, str | None], state: str = "intent",
           approval_id: str | None = None) -> int:
    """Insert changes (once per idempotency key) and supersede older open versions; returns
    the number of new ledger rows."""
    if not changes:
        return 0
    at = now()
    final = state in FINAL
    table = pa.table({
        "idempotency_key": [c.key for c in changes],
        "target": [c.target for c in changes], "table_name": [c.table for c in changes],
        "entity": [c.entity for c in changes], "flow": [c.flow for c in changes],
        "golden_id": [c.golden_id for c in changes], "version": [c.version for c in changes],
        "operation": [c.operation for c in changes],
        "target_key": [c.target_key for c in changes],
        "key_field": [key_fields.get(c.key) for c in changes],
        "priority": [c.priority for c in changes],
        "priority_rank": pa.array([PRIORITY_RANK[c.priority] for c in changes], pa.int32()),
        "payload": [canonical_json(mask_fields(c.payload, c.sensitive) if final else c.payload)
                    for c in changes],
        "lineage": [canonical_json(mask_pii(c.lineage, pii_values(c.payload, c.sensitive)))
                    for c in changes],
        "before": [canonical_json(mask_fields(c.before, c.sensitive)) if c.before is not None else None
                   for c in changes],
        "sensitive": [canonical_json(sorted(set(c.sensitive))) if c.sensitive else None
                      for c in changes],
        "ord": pa.array(range(len(changes)), pa.int64()),
    })
    con.register("incoming_changes", table)
    try:
        before = con.execute("SELECT count(*) FROM ops.push_ledger").fetchall()[0][0]
        con.execute("""
            INSERT OR IGNORE INTO ops.push_ledger (idempotency_key, seq, run_id, target, table_name,
                entity, flow, golden_id, version, operation, target_key, key_field, priority,
                priority_rank, payload, payload_hash, lineage, "before", state, attempts,
                approval_id, created_at, updated_at, sensitive)
            SELECT idempotency_key, nextval('ops.push_ledger_seq'), ?, target, table_name, entity,
                flow, golden_id, version, operation, target_key, key_field, priority, priority_rank,
                payload, version, lineage, "before", ?, 0, ?, ?, ?, sensitive
            FROM (SELECT * FROM incoming_changes ORDER BY ord)""", [run_id, state, approval_id, at, at])
        added = con.execute("SELECT count(*) FROM ops.push_ledger").fetchall()[0][0] - before
        if state == "superseded":
            return int(added)
        gone = con.execute("""
            UPDATE ops.push_ledger l SET state = 'superseded', updated_at = ?,
                error = 'a newer version of the record was pushed before this one was sent'
            FROM incoming_changes i
            WHERE l.target = i.target AND l.table_name = i.table_name AND l.golden_id = i.golden_id
              AND l.idempotency_key <> i.idempotency_key
              AND l.state IN ('intent', 'parked', 'held', 'review')
            RETURNING l.idempotency_key""", [at]).fetchall()
        scrub(con, [r[0] for r in gone])
    finally:
        con.unregister("incoming_changes")
    return int(added)


def states(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> dict[str, str]:
    keys = list(keys)
    if not keys:
        return {}
    rows = con.execute("SELECT idempotency_key, state FROM ops.push_ledger "
                       "WHERE idempotency_key IN (SELECT unnest(?::VARCHAR[]))", [keys]).fetchall()
    return dict(rows)


def mark_stale(con: duckdb.DuckDBPyConnection, targets: Sequence[str]) -> int:
    """`sent` rows whose owner died or whose lease ran out become `in_doubt`."""
    rows = con.execute("""SELECT DISTINCT owner, lease_until < ? FROM ops.push_ledger
                          WHERE state = 'sent' AND target IN (SELECT unnest(?::VARCHAR[]))""",
                       [now(), list(targets)]).fetchall()
    stale = [owner for owner, expired in rows if expired or not owner_alive(owner)]
    if not stale:
        return 0
    result = con.execute("""UPDATE ops.push_ledger SET state = 'in_doubt', updated_at = ?,
                  error = 'the run sending this write stopped before the target answered'
                  WHERE state = 'sent' AND owner IN (SELECT unnest(?::VARCHAR[]))""",
                         [now(), stale]).fetchall()
    return int(result[0][0]) if result else 0


def claim(con: duckdb.DuckDBPyConnection, owner: str, target: str, limit: int, lease_s: float,
          state: str = "intent") -> list[dict[str, Any]]:
    """Mark up to `limit` ready rows of the next (table, key field) group as `sent` for `owner`,
    highest priority first; returns them."""
    at = now()
    group = con.execute("""SELECT table_name, key_field FROM ops.push_ledger
        WHERE target = ? AND state = ? AND (not_before IS NULL OR not_before <= ?)
        ORDER BY priority_rank, seq LIMIT 1""", [target, state, at]).fetchall()
    if not group:
        return []
    table_name, key_field = group[0]
    rows = con.execute("""
        UPDATE ops.push_ledger SET state = 'sent', owner = ?, lease_until = ?, updated_at = ?,
            attempts = attempts + 1, run_id = ?
        WHERE idempotency_key IN (
            SELECT idempotency_key FROM ops.push_ledger
            WHERE target = ? AND table_name = ? AND key_field IS NOT DISTINCT FROM ?
              AND state = ? AND (not_before IS NULL OR not_before <= ?)
            ORDER BY priority_rank, seq LIMIT ?)
        RETURNING idempotency_key, seq, target, table_name, entity, golden_id, version, operation,
            target_key, key_field, priority, payload, lineage, "before", attempts, sensitive""",
        [owner, at + timedelta(seconds=lease_s), at, owner.rsplit(":", 1)[-1], target, table_name,
         key_field, state, at, limit]).fetchall()
    names = ("idempotency_key", "seq", "target", "table_name", "entity", "golden_id", "version",
             "operation", "target_key", "key_field", "priority", "payload", "lineage", "before",
             "attempts", "sensitive")
    out = [dict(zip(names, r, strict=True)) for r in rows]
    for row in out:
        row["sensitive"] = json.loads(row["sensitive"]) if row["sensitive"] else []
        row["payload"] = json.loads(row["payload"])
        row["lineage"] = json.loads(row["lineage"] or "{}")
        row["before"] = json.loads(row["before"]) if row["before"] else None
    return sorted(out, key=lambda r: r["seq"])


def claim_next(con: duckdb.DuckDBPyConnection, owner: str, target: str, limit: int, lease_s: float,
               doubt_limit: int = 20) -> tuple[str | None, list[dict[str, Any]]]:
    """Claim the next work of `target`: in-doubt rows first (to be looked up), else up to
    `limit` intents; returns (the state they were in, the rows)."""
    found = con.execute("""SELECT state FROM ops.push_ledger
        WHERE target = ? AND state IN ('in_doubt', 'intent') AND (not_before IS NULL OR not_before <= ?)
        ORDER BY state = 'intent', priority_rank, seq LIMIT 1""", [target, now()]).fetchall()
    if not found:
        return None, []
    state = found[0][0]
    if state == "in_doubt":
        return state, claim(con, owner, target, doubt_limit, lease_s=max(lease_s, 600), state=state)
    return state, claim(con, owner, target, limit, lease_s, state=state)


def settle(con: duckdb.DuckDBPyConnection, updates: list[dict[str, Any]]) -> None:
    """Write outcomes: each dict has idempotency_key, state and optional target_id, created,
    error_class, http_status, error, not_before, attempts_delta."""
    if not updates:
        return
    at = now()
    cols = {k: [u.get(k) for u in updates] for k in
            ("idempotency_key", "state", "target_id", "error_class", "error", "target_key")}
    table = pa.table({
        **{k: pa.array(v, pa.string()) for k, v in cols.items()},
        "created": pa.array([u.get("created") for u in updates], pa.bool_()),
        "http_status": pa.array([u.get("http_status") for u in updates], pa.int32()),
        "not_before": pa.array([u.get("not_before") for u in updates], pa.timestamp("us")),
        "refund": pa.array([int(u.get("refund", 0)) for u in updates], pa.int32()),
    })
    con.register("settled", table)
    try:
        con.execute("""
            UPDATE ops.push_ledger l SET state = s.state,
                target_id = coalesce(s.target_id, l.target_id),
                target_key = coalesce(s.target_key, l.target_key),
                created = coalesce(s.created, l.created), error_class = s.error_class,
                http_status = s.http_status, error = s.error, not_before = s.not_before,
                attempts = l.attempts - s.refund, owner = NULL, lease_until = NULL, updated_at = ?
            FROM settled s WHERE l.idempotency_key = s.idempotency_key""", [at])
    finally:
        con.unregister("settled")
    scrub(con, [u["idempotency_key"] for u in updates if u["state"] in FINAL])


def summary(con: duckdb.DuckDBPyConnection, keys: Iterable[str] | None = None) -> dict[str, int]:
    if keys is None:
        rows = con.execute("SELECT state, count(*) FROM ops.push_ledger GROUP BY 1").fetchall()
    else:
        rows = con.execute("SELECT state, count(*) FROM ops.push_ledger WHERE idempotency_key IN "
                           "(SELECT unnest(?::VARCHAR[])) GROUP BY 1", [list(keys)]).fetchall()
    return {state: int(n) for state, n in rows}
