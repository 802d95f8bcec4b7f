"""`ops.push_review`: creates the push did not dare to make (an uncertain match), and their
decisions: create a new record, match an existing one, or skip the write. Personal data of the
change (its `sensitive` values) is masked in the reason and candidates (redact.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.push import ledger, tables
from sync_platform.engines.push.changes import Change
from sync_platform.engines.push.redact import pii_values, redact
from sync_platform.engines.push.tables import transaction
from sync_platform.engines.push.targets import Target


def add(con: duckdb.DuckDBPyConnection, reviews: Sequence[Change], decisions: dict[str, Any],
        at: datetime) -> None:
    for c in reviews:
        d = decisions[c.key]
        pii = pii_values(c.payload, c.sensitive)
        con.execute("""INSERT OR IGNORE INTO ops.push_review (idempotency_key, target, table_name,
                entity, golden_id, reason, candidates, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)""",
                    [c.key, c.target, c.table, c.entity, c.golden_id, redact(d.review, pii=pii),
                     redact(str(d.candidates), pii=pii), at])


def decide_review(catalog: Catalog, key: str, action: str, target_key: str | None = None,
                  warehouse: Path | None = None, by: str = "cli") -> None:
    """Decide an uncertain match: `create` a new target record, `match` an existing one
    (`target_key`), or `skip` the write. The next push or resume delivers the decision."""
    if action not in ("create", "match", "skip") or (action == "match") != bool(target_key):
        raise ValueError("action is create, skip, or match with a target key")
    warehouse = Path(warehouse or catalog.warehouse_path)
    with transaction(warehouse) as con:
        found = con.execute("SELECT target, table_name FROM ops.push_ledger WHERE idempotency_key = ? "
                            "AND state = 'review'", [key]).fetchall()
        if not found:
            raise KeyError(f"no open push review {key!r}")
        target = Target(catalog, found[0][0], None, 0)
        table = found[0][1]
        if action == "skip":
            con.execute("UPDATE ops.push_ledger SET state = 'skipped', updated_at = ?, error = ? "
                        "WHERE idempotency_key = ?", [ledger.now(), f"skipped in review by {by}", key])
            ledger.scrub(con, [key])
        else:
            key_field = target.key_field(table) if action == "create" else \
                (target.address_field(table) or target.key_field(table))
            con.execute("""UPDATE ops.push_ledger SET state = 'intent', updated_at = ?, operation = ?,
                    target_key = ?, key_field = ? WHERE idempotency_key = ?""",
                        [ledger.now(), "create" if action == "create" else "update", target_key,
                         key_field, key])
        con.execute("UPDATE ops.push_review SET status = ?, decided_at = ? WHERE idempotency_key = ?",
                    [action, ledger.now(), key])


def open_reviews(warehouse: Path | str) -> list[dict[str, Any]]:
    """Open push reviews, oldest first: idempotency_key, target, table_name, entity, golden_id,
    reason and candidates (as stored: personal data already masked)."""
    if not tables.exists(warehouse):
        return []
    columns = ["idempotency_key", "target", "table_name", "entity", "golden_id", "reason",
               "candidates"]
    with tables.connect(warehouse, read_only=True) as con:
        return [dict(zip(columns, row, strict=True)) for row in con.execute(
            f"SELECT {', '.join(columns)} FROM ops.push_review WHERE status = 'open' "
            "ORDER BY created_at, idempotency_key").fetchall()]
