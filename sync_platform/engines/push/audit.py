"""`ops.audit_log`: one row per attempted operation, with before/after values and the lineage
of each value (which source and rule made it win), written in the same transaction as the
ledger outcome it explains. A row's `sensitive` fields (personal data) are stored as their
masks, and their values are masked in every text of the row (redact.py)."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from sync_platform.engines.push.changes import canonical_json
from sync_platform.engines.push.ledger import now
from sync_platform.engines.push.redact import mask_fields, pii_values, redact

_TEXT = ("run_id", "idempotency_key", "target", "table_name", "golden_id", "operation", "outcome",
         "error_class", "target_id", "before", "after", "lineage", "message")


def write(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]],
          secrets: list[str] | None = None) -> None:
    if not rows:
        return
    at = now()
    prepared = []
    for r in rows:
        item = dict(r)
        fields = item.pop("sensitive", None) or []
        pii = [v for k in ("before", "after") if isinstance(item.get(k), dict)
               for v in pii_values(item[k], fields)]
        for k in ("before", "after", "lineage"):
            value = item.get(k)
            if fields and k != "lineage" and isinstance(value, dict):
                value = mask_fields(value, fields)
            item[k] = None if value is None else redact(canonical_json(value), secrets, limit=20_000,
                                                        pii=pii)
        item["message"] = redact(item.get("message"), secrets, pii=pii) if item.get("message") else None
        prepared.append(item)
    table = pa.table({
        **{k: pa.array([p.get(k) for p in prepared], pa.string()) for k in _TEXT},
        "attempt": pa.array([p.get("attempt") for p in prepared], pa.int32()),
        "http_status": pa.array([p.get("http_status") for p in prepared], pa.int32()),
    })
    con.register("audit_rows", table)
    try:
        con.execute("""INSERT INTO ops.audit_log ("at", run_id, idempotency_key, target, table_name,
                golden_id, operation, outcome, attempt, http_status, error_class, target_id,
                "before", "after", lineage, message)
            SELECT ?, run_id, idempotency_key, target, table_name, golden_id, operation, outcome,
                attempt, http_status, error_class, target_id, "before", "after", lineage, message
            FROM audit_rows""", [at])
    finally:
        con.unregister("audit_rows")
