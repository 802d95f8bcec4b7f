"""Dead letters: permanent failures with the payload hash, error class, HTTP status, the target's
message (secrets redacted) and attempts; listed, replayed or discarded by a person.

Replay rebuilds each payload from the *current* golden record through a callable the caller
passes (so a fix upstream is picked up and the engine stays independent of rendering), pushes it
again, and marks the dead letter replayed: replaying the same dead letters again is a no-op.
The ledger keeps no personal data once a write settles (redact.py): a rebuilt payload that still
holds PII masks (e.g. the ledger's own, with no renderer) is refused with `MaskedPayload`, and
nothing is replayed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sync_platform.engines.push.ledger import now
from sync_platform.engines.push.redact import MaskedPayload, masked_fields, redact
from sync_platform.engines.push.tables import connect, exists, transaction

COLUMNS = ("dlq_id", "idempotency_key", "target", "table_name", "entity", "golden_id", "version",
           "operation", "payload_hash", "error_class", "http_status", "message", "attempts",
           "status", "created_at", "resolved_at", "resolution")

# rebuild(dead letter row) -> the current payload for that record, or None when the golden
# record no longer exists (the dead letter is then discarded with that reason)
Rebuild = Callable[[dict[str, Any]], dict[str, Any] | None]


def add(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]],
        secrets: list[str] | None = None) -> None:
    """Insert dead letters (one per failed write attempt that ended permanently)."""
    if not rows:
        return
    at = now()
    for r in rows:
        seed = f"{r.get('idempotency_key')}|{r.get('golden_id')}|{r.get('payload_hash')}|{at.isoformat()}"
        r["dlq_id"] = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        r["message"] = redact(r.get("message"), secrets, pii=r.pop("pii", None) or ())
    text = [c for c in COLUMNS if c not in ("http_status", "attempts", "created_at", "resolved_at")]
    table = pa.table({
        **{k: pa.array([r.get(k) for r in rows], pa.string()) for k in text},
        "http_status": pa.array([r.get("http_status") for r in rows], pa.int32()),
        "attempts": pa.array([r.get("attempts") for r in rows], pa.int32()),
    })
    con.register("dead_rows", table)
    try:
        con.execute("""INSERT OR IGNORE INTO ops.dead_letters (dlq_id, idempotency_key, target,
                table_name, entity, golden_id, version, operation, payload_hash, error_class,
                http_status, message, attempts, status, created_at)
            SELECT dlq_id, idempotency_key, target, table_name, entity, golden_id, version,
                operation, payload_hash, error_class, http_status, message, attempts, 'open', ?
            FROM dead_rows""", [at])
    finally:
        con.unregister("dead_rows")


def list_dead_letters(warehouse: Path | str, status: str | None = "open", target: str | None = None,
                      limit: int = 1000) -> list[dict[str, Any]]:
    if not exists(warehouse):
        return []
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(f"""SELECT {', '.join(COLUMNS)} FROM ops.dead_letters
            WHERE (? IS NULL OR status = ?) AND (? IS NULL OR target = ?)
            ORDER BY created_at, dlq_id LIMIT ?""", [status, status, target, target, limit]).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def _select(warehouse: Path | str, ids: Sequence[str] | None, target: str | None) -> list[dict]:
    rows = list_dead_letters(warehouse, status="open", target=target, limit=1_000_000)
    return [r for r in rows if ids is None or r["dlq_id"] in set(ids)]


def discard(warehouse: Path | str, ids: Sequence[str] | None = None, target: str | None = None,
            reason: str = "discarded by a person") -> int:
    chosen = _select(warehouse, ids, target)
    if not chosen:
        return 0
    with transaction(warehouse) as con:
        con.execute("UPDATE ops.dead_letters SET status = 'discarded', resolved_at = ?, resolution = ? "
                    "WHERE dlq_id IN (SELECT unnest(?::VARCHAR[])) AND status = 'open'",
                    [now(), redact(reason), [r["dlq_id"] for r in chosen]])
    return len(chosen)


def replay(catalog: Any, rebuild: Rebuild, ids: Sequence[str] | None = None,
           target: str | None = None, **push_options: Any) -> dict[str, Any]:
    """Push open dead letters again from their current golden record; returns a summary."""
    from sync_platform.engines.push.changes import Change, canonical_json
    from sync_platform.engines.push.deliver import push

    warehouse = push_options.pop("warehouse", None) or catalog.warehouse_path
    chosen = _select(warehouse, ids, target)
    if not chosen:
        return {"replayed": 0, "gone": 0, "report": None}
    with connect(warehouse, read_only=True) as con:
        meta = {k: (p, f, t, s) for k, p, f, t, s in con.execute(
            "SELECT idempotency_key, priority, flow, target_key, sensitive FROM ops.push_ledger "
            "WHERE idempotency_key IN (SELECT unnest(?::VARCHAR[]))",
            [[r["idempotency_key"] for r in chosen]]).fetchall()}
    changes, gone, keys = [], [], []
    for row in chosen:
        payload = rebuild(row)
        if payload is None:
            gone.append(row["dlq_id"])
            continue
        masked = masked_fields(payload)
        if masked:
            raise MaskedPayload(
                f"dead letter {row['dlq_id']} ({row['target']}.{row['table_name']} {row['golden_id']}): "
                f"the payload to replay holds masked personal data in {masked} (the ledger scrubs "
                "personal data once a write settles); replay it with a rebuild from the golden record "
                "(`sync-platform dlq replay --renderer module:function`); nothing was replayed")
        priority, flow, target_key, fields = meta.get(row["idempotency_key"], ("normal", None, None, None))
        change = Change(target=row["target"], table=row["table_name"], entity=row["entity"],
                        golden_id=row["golden_id"], operation=row["operation"] or "update",
                        payload=payload, target_key=target_key, priority=priority or "normal",
                        flow=flow, sensitive=json.loads(fields) if fields else [])
        changes.append(change)
        keys.append((row["dlq_id"], change.key))
    with transaction(warehouse) as con:
        # the same payload again (nothing changed upstream): the target may have been fixed, so
        # the rejected ledger row is re-opened instead of being ignored as already recorded
        # (with the payload put back: the settled row's personal data was scrubbed)
        for change in changes:
            con.execute("UPDATE ops.push_ledger SET state = 'intent', not_before = NULL, updated_at = ?, "
                        "payload = ? WHERE state = 'rejected' AND idempotency_key = ?",
                        [now(), canonical_json(change.payload), change.key])
        for dlq_id, key in keys:
            con.execute("UPDATE ops.dead_letters SET status = 'replayed', resolved_at = ?, "
                        "resolution = ? WHERE dlq_id = ? AND status = 'open'",
                        [now(), f"replayed as {key}", dlq_id])
        if gone:
            con.execute("UPDATE ops.dead_letters SET status = 'discarded', resolved_at = ?, "
                        "resolution = 'the golden record no longer exists' "
                        "WHERE dlq_id IN (SELECT unnest(?::VARCHAR[]))", [now(), gone])
    report = push(catalog, changes, warehouse=warehouse, **push_options)
    return {"replayed": len(changes), "gone": len(gone), "report": report}


def ledger_payload(warehouse: Path | str) -> Rebuild:
    """A rebuild for the CLI when no renderer is given: the newest payload the ledger holds for
    the record and target (a later push of the fixed golden record), else the dead one. A settled
    payload with personal data holds masks: `replay` refuses it (MaskedPayload)."""

    def rebuild(row: dict[str, Any]) -> dict[str, Any] | None:
        with connect(warehouse, read_only=True) as con:
            found = con.execute("""SELECT payload FROM ops.push_ledger WHERE target = ? AND
                table_name = ? AND golden_id = ? ORDER BY seq DESC LIMIT 1""",
                                [row["target"], row["table_name"], row["golden_id"]]).fetchall()
        return json.loads(found[0][0]) if found else None

    return rebuild
