"""Deliver changes to targets: match, guard, record intents, then send in batches.

`push()` is the one entry point (CLI, Dagster asset, test): it validates the changes, matches
creates against what the target already holds, shows the plan (dry run) or blocks a mass change,
commits the intents to the ledger, and then delivers everything ready for those targets,
including work left by earlier runs (parked, in doubt, crashed mid-send). Each batch: claim as
`sent` (committed) -> one request -> settle outcome + audit + dead letters (committed).
A batch that fails as a whole with a permanent error is bisected to isolate the bad records.
Deletes go in batches of their own through the connector's `delete()` by the target's record
ids: the change's target key, else the record found by external id, else the id the ledger last
acknowledged; already gone is acknowledged, and an in-doubt delete is acknowledged once a look-up
no longer finds the record.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sync_platform import settings
from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors.base import normalized
from sync_platform.engines.push import audit, dlq, guard, ledger, matching, review
from sync_platform.engines.push.changes import Change, canonical_json, parse_changes
from sync_platform.engines.push.ratelimit import Budget, RateLimiter
from sync_platform.engines.push.redact import masked_fields, pii_values, redact, secret_values
from sync_platform.engines.push.retry import (
    AUTH,
    PERMANENT,
    TRANSIENT,
    Failure,
    backoff,
    classify_exception,
    classify_message,
    classify_status,
)
from sync_platform.engines.push.tables import connect, has_ledger, transaction
from sync_platform.engines.push.targets import (
    LookupFailed,
    LookupUnavailable,
    Parked,
    Target,
    WriteOutcome,
    same_values,
)

DELETE_KEY_FIELD = "(record id)"  # ledger key field of deletes: sent by the target's own ids


class PushAuthError(Exception):
    """A target refused the credentials: the push stops at once (nothing is dead-lettered)."""


@dataclass
class PushReport:
    run_id: str
    dry_run: bool
    plan: dict[str, Counter] = field(default_factory=dict)  # "target.table" -> operation counts
    states: dict[str, int] = field(default_factory=dict)  # ledger states of this push's changes
    blocked: list[dict[str, Any]] = field(default_factory=list)  # approvals waiting
    invalid: int = 0
    requests: int = 0
    seconds: float = 0.0


def limiter_for(catalog: Catalog, path: Path | None = None) -> RateLimiter:
    """The machine-wide limiter of the catalog's targets (state under the data folder)."""
    budgets = {name: Budget(s.rate_limit.requests_per_second, s.rate_limit.burst)
               for name, s in catalog.systems.items() if s.rate_limit is not None}
    return RateLimiter(path or settings.data_dir() / "push" / "ratelimit.sqlite", budgets)


class Pusher:
    """One push run: its owner id, targets, limiter and clock."""

    def __init__(self, catalog: Catalog, warehouse: Path | None = None,
                 limiter: RateLimiter | None = None, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None):
        self.catalog = catalog
        self.config = catalog.push
        self.warehouse = Path(warehouse or catalog.warehouse_path)
        self.limiter = limiter if limiter is not None else limiter_for(catalog)
        self.sleep = sleep
        self.rng = random.Random(seed)
        self.owner = ledger.new_owner()
        self.run_id = self.owner.rsplit(":", 1)[-1]
        self.targets: dict[str, Target] = {}
        self.tries: Counter = Counter()  # attempts per idempotency key in this run
        self.secrets = secret_values(name for _, name in catalog.secret_references())
        self.requests = 0

    def target(self, name: str) -> Target:
        if name not in self.targets:
            self.targets[name] = Target(self.catalog, name, self.limiter, self.config.park_after_s)
        return self.targets[name]

    # -- plan --------------------------------------------------------------------------------

    def plan(self, changes: list[Change]) -> tuple[dict[str, matching.Decision], dict[str, str]]:
        """Match decisions per change key, and the ledger state of keys already recorded."""
        decisions: dict[str, matching.Decision] = {}
        groups: dict[tuple[str, str], list[Change]] = {}
        for c in changes:
            groups.setdefault((c.target, c.table), []).append(c)
        with connect(self.warehouse) as con:
            for (system, table), items in groups.items():
                # a delete needs no match: it addresses the record by its target key, else by
                # external id when sent; its own key field keeps deletes in batches of their own
                decisions.update({c.key: matching.Decision("delete", DELETE_KEY_FIELD, c.target_key)
                                  for c in items if c.operation == "delete"})
                decisions.update(matching.decide(con, self.target(system), table,
                                                 [c for c in items if c.operation != "delete"],
                                                 self.config.match_accept_score))
            known = ledger.states(con, [c.key for c in changes]) if has_ledger(con) else {}
        return decisions, known

    def guard(self, changes: list[Change], known: dict[str, str], approve: bool
              ) -> dict[tuple[str, str], dict[str, Any]]:
        """(target, table) -> approval row, for groups that would change too much."""
        with connect(self.warehouse) as con:
            return guard.blocked_groups(con, changes, known, self.config, approve)

    # -- record ------------------------------------------------------------------------------

    def record(self, changes: list[Change], superseded: list[Change], invalid: list,
               decisions: dict[str, matching.Decision],
               blocked: dict[tuple[str, str], dict[str, Any]]) -> None:
        at = ledger.now()
        with transaction(self.warehouse) as con:
            dlq.add(con, [{"idempotency_key": None, "target": i.target, "table_name": i.table,
                           "entity": i.entity, "golden_id": i.golden_id, "operation": i.operation,
                           "payload_hash": i.payload_hash, "error_class": "invalid_change",
                           "message": i.error, "attempts": 0} for i in invalid])
            guard.request_approvals(con, blocked, at)
            fields = {c.key: decisions[c.key].key_field for c in changes if c.key in decisions}
            reviews = [c for c in changes if decisions[c.key].review]
            held = [c for c in changes if (c.target, c.table) in blocked and not decisions[c.key].review]
            waiting = {c.key for c in reviews} | {c.key for c in held}
            ready = [c for c in changes if c.key not in waiting]
            for c in ready:
                d = decisions[c.key]
                c.operation, c.target_key = d.operation, d.target_key  # type: ignore[assignment]
            ledger.record(con, ready, self.run_id, fields)
            for (system, table), row in blocked.items():
                ledger.record(con, [c for c in held if (c.target, c.table) == (system, table)],
                              self.run_id, fields, state="held", approval_id=row["approval_id"])
            ledger.record(con, reviews, self.run_id, fields, state="review")
            ledger.record(con, superseded, self.run_id, fields, state="superseded")
            review.add(con, reviews, decisions, at)

    # -- deliver -----------------------------------------------------------------------------

    def deliver(self, system: str, force: bool = False, deadline: float | None = None) -> None:
        """Send everything ready for one target until nothing is ready (or parked/blocked)."""
        target = self.target(system)
        with transaction(self.warehouse) as con:
            ledger.mark_stale(con, [system])
            con.execute("""UPDATE ops.push_ledger SET state = 'intent', updated_at = ?
                WHERE target = ? AND state = 'parked' AND (? OR not_before IS NULL OR not_before <= ?)""",
                        [ledger.now(), system, force, ledger.now()])
            if force:
                con.execute("UPDATE ops.push_ledger SET not_before = NULL WHERE target = ? AND "
                            "state IN ('intent', 'in_doubt')", [system])
        if force:
            self.limiter.unblock(system)
        pending: list[dict[str, Any]] = []  # outcomes not yet committed (written with the next claim)
        idle = 0  # rounds in a row that found rows due but claimed none
        try:
            while deadline is None or time.monotonic() < deadline:
                blocked_s = self.limiter.blocked_for(system)
                if blocked_s > self.config.park_after_s:
                    pending = self._flush(pending)
                    self._park_all(system, blocked_s, "the target asked to wait "
                                   f"{blocked_s:.0f}s (Retry-After): parked, not slept")
                    return
                size = self._batch_size(target)
                with transaction(self.warehouse) as con:
                    auth = self._write(con, pending)
                    pending = []
                    state, rows = None, []
                    wake = None
                    if not auth:
                        state, rows = ledger.claim_next(con, self.owner, system,
                                                        size * self.config.batches_per_claim,
                                                        self.config.lease_s)
                    if not auth and not rows:
                        # every waiting row, also one whose time came after the claim above
                        wake = con.execute("SELECT min(not_before) FROM ops.push_ledger WHERE target = ? "
                                           "AND state IN ('intent', 'in_doubt') AND not_before IS NOT NULL",
                                           [system]).fetchall()[0][0]
                self._raise_auth(auth)
                if state == "in_doubt":
                    pending = self._resolve(target, rows)
                    continue
                if rows:
                    idle = 0
                    pending = self._send_claimed(target, rows, size)
                    continue
                if wake is None:
                    return
                pause = (wake - ledger.now()).total_seconds()
                if pause > self.config.park_after_s:
                    return  # left for a later run, with its not-before time
                idle = idle + 1 if pause <= 0 else 0
                if idle > 3:
                    return  # due but not claimable (held by another run): that run sends it
                self.sleep(max(0.0, pause) + 0.001)
        finally:
            self._flush(pending)

    def _send_claimed(self, target: Target, rows: list[dict[str, Any]], size: int
                      ) -> list[dict[str, Any]]:
        """Send claimed rows batch by batch; once credentials fail or the target blocks for
        longer than the push waits, the rest go back to intents unsent."""
        outcomes: list[dict[str, Any]] = []
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            stop = any(o["outcome"] == "auth_failed" for o in outcomes) or \
                self.limiter.blocked_for(target.system_name) > self.config.park_after_s
            if stop:
                outcomes += [self._outcome(r, "intent", None, refund=True, outcome="not_sent")
                             for r in batch]
                continue
            for row in batch:
                self.tries[row["idempotency_key"]] += 1
            outcomes += self._send(target, batch)
        return outcomes

    def _flush(self, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if pending:
            with transaction(self.warehouse) as con:
                auth = self._write(con, pending)
            self._raise_auth(auth)
        return []

    def _batch_size(self, target: Target) -> int:
        return max(1, min(self.config.batch_size, target.max_batch()))

    def _park_all(self, system: str, seconds: float, why: str) -> None:
        until = ledger.now() + timedelta(seconds=seconds)
        with transaction(self.warehouse) as con:
            con.execute("""UPDATE ops.push_ledger SET state = 'parked', not_before = ?, error = ?,
                    error_class = 'rate_limited', updated_at = ?
                WHERE target = ? AND state = 'intent'""", [until, why, ledger.now(), system])

    # -- one batch ---------------------------------------------------------------------------

    def _record(self, target: Target, row: dict[str, Any]) -> dict[str, Any]:
        ext = target.external_id_field(row["table_name"])
        record = dict(row["payload"])
        if ext:
            record[ext] = row["golden_id"]  # the golden id written back as the external id
        key_field = row["key_field"] or target.key_field(row["table_name"])
        pk = target.spec(row["table_name"]).primary_key[0]
        if key_field != ext and row["target_key"] and (key_field == pk or record.get(key_field) in (None, "")):
            record[key_field] = row["target_key"]
        return record

    def _send(self, target: Target, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Outcomes (ledger update + audit + dead letter) of one batch, bisecting a batch that
        fails as a whole with a permanent error."""
        first = rows[0]
        if first["operation"] == "delete":
            return self._send_deletes(target, rows)
        records, ok_rows, outcomes = [], [], []
        for row in rows:
            try:
                records.append(self._record(target, row))
                ok_rows.append(row)
            except Exception as exc:  # noqa: BLE001 - a record that cannot even be built
                outcomes.append(self._outcome(row, "rejected", Failure(PERMANENT, "encoding"),
                                              message=f"{type(exc).__name__}: {exc}"))
        if not ok_rows:
            return outcomes
        key_field = first["key_field"] or target.key_field(first["table_name"])
        try:
            out = target.write(first["table_name"], key_field, records, first["priority"])
        except Exception as exc:  # noqa: BLE001 - connectors raise on some whole-batch problems
            answered = [e.status for e in target.session.events if e.status is not None]
            self.requests += len(target.session.events)
            message = f"{type(exc).__name__}: {exc}"
            if answered and answered[-1] < 300:  # the target took the batch; its answer is unreadable
                failure = Failure(TRANSIENT, "bad_response", in_doubt=True)
            else:
                failure = classify_exception(exc)
            return outcomes + self._batch_failed(target, ok_rows, failure, answered[-1] if answered
                                                 else None, message, None)
        self.requests += len(out.events)
        results = list(out.results)
        if len(results) < len(ok_rows):
            results += [None] * (len(ok_rows) - len(results))
        failed = [r for r in results if r is None or not r.ok]
        errors = {(r.error if r else None) for r in failed}
        if len(ok_rows) > 1 and len(failed) == len(ok_rows) and len(errors) == 1:
            sample = failed[0]
            failure, status, message, retry_after = self._why(out, sample)
            return outcomes + self._batch_failed(target, ok_rows, failure, status, message, retry_after)
        for row, result in zip(ok_rows, results, strict=True):
            if result is not None and result.ok:
                outcomes.append(self._outcome(row, "acknowledged", None, target_id=result.target_id,
                                              created=result.created, status=out.status_of(result)))
            else:
                failure, status, message, retry_after = self._why(out, result)
                outcomes += self._failed(row, failure, status, message, retry_after)
        return outcomes

    def _send_deletes(self, target: Target, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One batch of deletes: each record addressed by its target id, then one delete request
        through the connector. Already gone counts as deleted (acknowledged)."""
        outcomes, keyed = self._delete_keys(target, rows)
        if not keyed:
            return outcomes
        ok_rows, keys = [r for r, _ in keyed], [k for _, k in keyed]
        try:
            out = target.delete(ok_rows[0]["table_name"], keys, ok_rows[0]["priority"])
        except Exception as exc:  # noqa: BLE001 - connectors raise on some whole-batch problems
            answered = [e.status for e in target.session.events if e.status is not None]
            self.requests += len(target.session.events)
            failure = Failure(TRANSIENT, "bad_response", in_doubt=True) if answered and answered[-1] < 300 \
                else classify_exception(exc)
            return outcomes + self._batch_failed(target, ok_rows, failure, answered[-1] if answered else None,
                                                 f"{type(exc).__name__}: {exc}", None)
        self.requests += len(out.events)
        results = list(out.results)[:len(ok_rows)]
        results += [None] * (len(ok_rows) - len(results))
        failed = [r for r in results if r is None or not r.ok]
        if len(ok_rows) > 1 and len(failed) == len(ok_rows) and len({r.error if r else None for r in failed}) == 1:
            failure, status, message, retry_after = self._why(out, failed[0])
            return outcomes + self._batch_failed(target, ok_rows, failure, status, message, retry_after)
        for row, key, result in zip(ok_rows, keys, results, strict=True):
            if result is not None and result.ok:
                outcomes.append(self._outcome(
                    row, "acknowledged", None, target_id=key, created=False, status=out.status_of(result),
                    target_key=key, outcome="acknowledged_already_gone" if result.gone else None,
                    message="the record was already gone in the target" if result.gone else None))
            else:
                failure, status, message, retry_after = self._why(out, result)
                outcomes += self._failed(row, failure, status, message, retry_after)
        return outcomes

    def _delete_keys(self, target: Target, rows: list[dict[str, Any]]
                     ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
        """(outcomes of rows that cannot be sent, (row, target id) of the others). The id is the
        change's target key, else the live record found by external id, else the id the ledger
        last acknowledged for the record (already deleted there is then confirmed by the target);
        none of those is a dead letter."""
        table = rows[0]["table_name"]
        outcomes: list[dict[str, Any]] = []
        keyed: list[tuple[dict[str, Any], str]] = []
        missing: list[dict[str, Any]] = []
        pk = target.spec(table).primary_key[0]
        for i, row in enumerate(rows):
            if row["target_key"]:
                keyed.append((row, str(row["target_key"])))
                continue
            try:
                found = target.lookup(table, row["golden_id"])
                self.requests += 1
            except LookupUnavailable:
                found = None  # the target has no external id: only a known id can address it
            except Exception as exc:  # noqa: BLE001 - settled per kind below
                if isinstance(exc, Parked):
                    failure, status, wait = Failure(TRANSIENT, "rate_limited"), None, exc.seconds
                elif isinstance(exc, LookupFailed):
                    failure, status, wait = classify_status(exc.status), exc.status, None
                else:
                    failure, status, wait = classify_exception(exc), None, None
                message = f"look-up of the record to delete failed: {type(exc).__name__}: {exc}"
                failure = Failure(failure.kind, failure.error_class)  # a read: nothing was applied
                outcomes += self._failed(row, failure, status, message, wait)
                if failure.kind == AUTH:  # the rest stay intents, unsent
                    rest = [r for r, _ in keyed] + missing + rows[i + 1:]
                    return outcomes + [self._outcome(r, "intent", None, refund=True, outcome="not_sent")
                                       for r in rest], []
                continue
            key = (found or {}).get(pk) or (found or {}).get("id") or (found or {}).get("Id")
            if key not in (None, ""):
                row["target_key"] = str(key)  # a bisected batch does not look it up again
                keyed.append((row, str(key)))
            else:
                missing.append(row)
        known = self._acknowledged_ids(target.system_name, table, [r["golden_id"] for r in missing])
        for row in missing:
            if row["golden_id"] in known:
                row["target_key"] = known[row["golden_id"]]
                keyed.append((row, known[row["golden_id"]]))
                continue
            ext = target.external_id_field(table)
            where = f"no record with {ext} = {row['golden_id']!r}" if ext else \
                f"{target.system_name}.{table} has no external id field to find it by"
            outcomes.append(self._outcome(row, "rejected", Failure(PERMANENT, "not_found"), message=(
                f"delete of {row['golden_id']} in {target.system_name}.{table}: no target key given, "
                f"{where}, and no write of it acknowledged before; give the target key to delete it")))
        return outcomes, keyed

    def _acknowledged_ids(self, system: str, table: str, golden_ids: list[str]) -> dict[str, str]:
        """golden id -> the target id of its latest acknowledged write in this target table."""
        if not golden_ids:
            return {}
        with connect(self.warehouse) as con:
            rows = con.execute("""SELECT golden_id, arg_max(target_id, updated_at) FROM ops.push_ledger
                WHERE target = ? AND table_name = ? AND state = 'acknowledged' AND target_id IS NOT NULL
                  AND golden_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1""",
                               [system, table, golden_ids]).fetchall()
        return {g: str(k) for g, k in rows}

    def _why(self, out: WriteOutcome, result: Any) -> tuple[Failure, int | None, str, float | None]:
        retry_after = next((e.retry_after for e in reversed(out.events) if e.retry_after is not None), None)
        parked = next((e.parked for e in out.events if e.parked is not None), None)
        if parked is not None:
            return Failure(TRANSIENT, "rate_limited"), None, "target budget blocked", parked
        if result is None:
            return Failure(TRANSIENT, "network", in_doubt=True), None, "no result for the record", None
        status = out.status_of(result)
        message = result.error or ""
        exc = next((e.exc for e in reversed(out.events) if e.exc is not None), None)
        if exc is not None and not message.startswith("HTTP "):
            return classify_exception(exc), None, message, retry_after
        if status is not None and status >= 300 and message.startswith("HTTP "):
            return classify_status(status), status, message, retry_after
        if result.transient:
            return Failure(TRANSIENT, result.error_class or "server"), status, message, retry_after
        if result.error_class == "auth":
            return Failure(AUTH, "auth"), status, message, retry_after
        return Failure(PERMANENT, classify_message(result.error_class, message)), status, message, None

    def _batch_failed(self, target: Target, rows: list[dict[str, Any]], failure: Failure,
                      status: int | None, message: str, retry_after: float | None
                      ) -> list[dict[str, Any]]:
        if failure.kind == PERMANENT and len(rows) > 1:
            mid = len(rows) // 2
            return self._send(target, rows[:mid]) + self._send(target, rows[mid:])
        out: list[dict[str, Any]] = []
        for row in rows:
            out += self._failed(row, failure, status, message, retry_after)
        return out

    def _failed(self, row: dict[str, Any], failure: Failure, status: int | None, message: str,
                retry_after: float | None) -> list[dict[str, Any]]:
        cfg = self.config
        key = row["idempotency_key"]
        if failure.kind == AUTH:
            return [self._outcome(row, "intent", failure, status=status, message=message, refund=True,
                                  outcome="auth_failed")]
        if failure.kind == PERMANENT:
            return [self._outcome(row, "rejected", failure, status=status, message=message)]
        if failure.in_doubt:
            return [self._outcome(row, "in_doubt", failure, status=status, message=message)]
        delay = max(retry_after or 0.0, backoff(self.tries[key], cfg.backoff_base_s, cfg.backoff_max_s,
                                                self.rng))
        if failure.error_class == "rate_limited" and retry_after is not None:
            delay = retry_after
        if delay > cfg.park_after_s or self.tries[key] >= cfg.max_attempts:
            why = (f"parked after {self.tries[key]} attempts this run: {message}"
                   if self.tries[key] >= cfg.max_attempts else
                   f"the target asked to wait {delay:.0f}s: parked, not slept ({message})")
            wait = max(delay, cfg.backoff_max_s)
            return [self._outcome(row, "parked", failure, status=status, message=why,
                                  not_before=ledger.now() + timedelta(seconds=wait))]
        return [self._outcome(row, "intent", failure, status=status, message=message, outcome="retry",
                              not_before=ledger.now() + timedelta(seconds=delay))]

    def _outcome(self, row: dict[str, Any], state: str, failure: Failure | None, *,
                 status: int | None = None, message: str | None = None, target_id: str | None = None,
                 created: bool | None = None, not_before: Any = None, refund: bool = False,
                 outcome: str | None = None, before: dict | None = None,
                 target_key: str | None = None) -> dict[str, Any]:
        return {"row": row, "state": state, "error_class": failure.error_class if failure else None,
                "http_status": status, "error": redact(message, self.secrets, pii=_pii(row))
                if message else None,
                "target_id": target_id, "created": created, "not_before": not_before,
                "refund": 1 if refund else 0, "outcome": outcome or state,
                "before": before, "target_key": target_key}

    # -- in doubt ----------------------------------------------------------------------------

    def _resolve(self, target: Target, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Look each in-doubt record up by external id: acknowledged when the target already holds
        the payload, otherwise sent again (the upsert by external id cannot duplicate)."""
        out = []
        cfg = self.config
        for i, row in enumerate(rows):
            self.tries[row["idempotency_key"]] += 1
            later = ledger.now() + timedelta(seconds=(
                cfg.park_after_s * 2 + 1 if self.tries[row["idempotency_key"]] >= cfg.max_attempts
                else backoff(self.tries[row["idempotency_key"]], cfg.backoff_base_s, cfg.backoff_max_s,
                             self.rng)))
            try:
                if row["operation"] == "delete" and row["target_key"]:
                    found = target.lookup_id(row["table_name"], str(row["target_key"]))
                else:
                    found = target.lookup(row["table_name"], row["golden_id"])
                self.requests += 1
            except LookupUnavailable:
                out.append(self._outcome(row, "intent", None, refund=True, outcome="resend_unverifiable",
                                         message="in doubt; the target has no look-up: sent again"))
                continue
            except LookupFailed as exc:
                failure = classify_status(exc.status)
                if failure.kind == AUTH:
                    out += [self._outcome(r, "in_doubt", failure, status=exc.status, message=str(exc),
                                          refund=True, outcome="auth_failed") for r in rows[i:]]
                    return out
                out.append(self._outcome(row, "in_doubt", failure, status=exc.status, message=str(exc),
                                         refund=True, not_before=later))
                continue
            except Exception as exc:  # noqa: BLE001 - network trouble: try again later
                out.append(self._outcome(row, "in_doubt", classify_exception(exc), refund=True,
                                         message=f"look-up failed: {type(exc).__name__}: {exc}",
                                         not_before=later))
                continue
            if row["operation"] == "delete":  # gone (deleted, archived) = the delete landed
                if found is None:
                    out.append(self._outcome(row, "acknowledged", None, target_id=row["target_key"],
                                             refund=True, outcome="acknowledged_after_lookup",
                                             message="in doubt; the record is gone from the target"))
                else:
                    state = "parked" if self.tries[row["idempotency_key"]] >= cfg.max_attempts else "intent"
                    out.append(self._outcome(row, state, None, refund=True, outcome="resend", before=found,
                                             message="in doubt; the record is still in the target: "
                                                     "deleted again", not_before=later if state == "parked"
                                             else None))
                continue
            payload = self._record(target, row)
            if found is not None and same_values(_comparable(payload, found), found):
                key = str(found.get(target.spec(row["table_name"]).primary_key[0]) or found.get("id")
                          or found.get("Id") or "")
                out.append(self._outcome(row, "acknowledged", None, target_id=key or None, refund=True,
                                         outcome="acknowledged_after_lookup", before=None,
                                         message="in doubt; the target already held this version"))
            else:
                why = "in doubt; not in the target: sent again" if found is None else \
                    "in doubt; the target holds other values: sent again"
                state = "parked" if self.tries[row["idempotency_key"]] >= self.config.max_attempts else "intent"
                out.append(self._outcome(row, state, None, refund=True, outcome="resend", message=why,
                                         before=found, not_before=ledger.now() + timedelta(
                                             seconds=self.config.backoff_max_s) if state == "parked" else None))
        return out

    # -- settle ------------------------------------------------------------------------------

    def _write(self, con: Any, outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Commit outcomes (ledger + audit + dead letters) in `con`'s transaction; returns the
        auth failures among them."""
        if not outcomes:
            return []
        updates, audits, dead = [], [], []
        for o in outcomes:
            row = o["row"]
            updates.append({"idempotency_key": row["idempotency_key"], "state": o["state"],
                            "target_id": o["target_id"], "created": o["created"],
                            "error_class": o["error_class"], "http_status": o["http_status"],
                            "error": o["error"], "not_before": o["not_before"], "refund": o["refund"],
                            "target_key": o["target_key"]})
            audits.append({"run_id": self.run_id, "idempotency_key": row["idempotency_key"],
                           "target": row["target"], "table_name": row["table_name"],
                           "golden_id": row["golden_id"], "operation": row["operation"],
                           "outcome": o["outcome"], "attempt": row["attempts"],
                           "http_status": o["http_status"], "error_class": o["error_class"],
                           "target_id": o["target_id"], "before": o["before"] or row.get("before"),
                           "after": row["payload"], "lineage": row["lineage"], "message": o["error"],
                           "sensitive": row.get("sensitive")})
            if o["state"] == "rejected":
                dead.append({"idempotency_key": row["idempotency_key"], "target": row["target"],
                             "table_name": row["table_name"], "entity": row["entity"],
                             "golden_id": row["golden_id"], "version": row["version"],
                             "operation": row["operation"], "payload_hash": row["version"],
                             "error_class": o["error_class"], "http_status": o["http_status"],
                             "message": o["error"], "attempts": row["attempts"], "pii": _pii(row)})
        ledger.settle(con, updates)
        audit.write(con, audits, self.secrets)
        dlq.add(con, dead, self.secrets)
        return [o for o in outcomes if o["outcome"] == "auth_failed"]

    def _raise_auth(self, auth: list[dict[str, Any]]) -> None:
        if auth:
            o = auth[0]
            system = o["row"]["target"]
            raise PushAuthError(redact(
                f"{system} refused the credentials (HTTP {o['http_status']}): {o['error']}; "
                f"renew the secret named in systems.yaml for {system} and run the push again "
                f"({len(auth)} writes kept as intents, nothing dead-lettered)", self.secrets))


def _comparable(record: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Payload fields the target reports back (ids and read-only fields are not compared)."""
    return {k: v for k, v in record.items() if k in found and k not in ("Id", "id")}


def push(catalog: Catalog, changes: Iterable[Change | dict[str, Any]], *, dry_run: bool = False,
         approve: bool = False, warehouse: Path | None = None, limiter: RateLimiter | None = None,
         sleep: Callable[[float], None] = time.sleep, seed: int | None = None,
         max_seconds: float | None = None) -> PushReport:
    """Push changes to their targets; see the module docstring. Raises PushAuthError (redacted)
    when a target refuses the credentials."""
    started = time.monotonic()
    pusher = Pusher(catalog, warehouse, limiter, sleep, seed)
    valid, invalid, superseded = parse_changes(changes)
    secrets = secret_values(name for _, name in catalog.secret_references())
    flows = {f.name: f for f in catalog.flows}
    for c in valid:  # a flow's priority class applies unless the change sets its own
        if c.flow in flows and "priority" not in c.model_fields_set:
            c.priority = flows[c.flow].priority
    for c in list(valid):
        problem = _unknown(catalog, c) or _leaks(c, secrets)
        if problem:
            valid.remove(c)
            from sync_platform.engines.push.changes import InvalidChange, payload_hash

            invalid.append(InvalidChange(target=c.target, table=c.table, entity=c.entity,
                                         golden_id=c.golden_id, operation=c.operation,
                                         payload_hash=payload_hash(c.payload), error=problem))
    report = PushReport(pusher.run_id, dry_run, invalid=len(invalid))
    decisions, known = pusher.plan(valid)
    for c in valid:
        d = decisions[c.key]
        name = f"{c.target}.{c.table}"
        op = "unchanged" if known.get(c.key) == "acknowledged" else ("review" if d.review else d.operation)
        report.plan.setdefault(name, Counter())[op] += 1
    blocked = pusher.guard(valid, known, approve)
    report.blocked = list(blocked.values())
    if dry_run:
        report.seconds = time.monotonic() - started
        return report
    pusher.record(valid, superseded, invalid, decisions, blocked)
    deadline = started + max_seconds if max_seconds else None
    for system in sorted({c.target for c in valid}, key=lambda s: _rank(valid, s)):
        pusher.deliver(system, deadline=deadline)
    report.requests = pusher.requests
    with connect(pusher.warehouse) as con:
        report.states = ledger.summary(con, [c.key for c in valid])
    report.seconds = time.monotonic() - started
    return report


def resume(catalog: Catalog, targets: Iterable[str] | None = None, *, force: bool = False,
           warehouse: Path | None = None, limiter: RateLimiter | None = None,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Deliver whatever the ledger holds ready (after a crash, for parked work); `force` also
    releases parked work before its not-before time and clears the target's rate-limit block."""
    pusher = Pusher(catalog, warehouse, limiter, sleep)
    systems = list(targets or [])
    if not systems:
        with connect(pusher.warehouse) as con:
            if not has_ledger(con):
                return {}
            systems = [r[0] for r in con.execute(
                "SELECT DISTINCT target FROM ops.push_ledger WHERE state IN "
                "('intent', 'sent', 'in_doubt', 'parked') ORDER BY 1").fetchall()]
    for system in systems:
        pusher.deliver(system, force=force)
    with connect(pusher.warehouse) as con:
        return ledger.summary(con)


def _unknown(catalog: Catalog, c: Change) -> str | None:
    system = catalog.systems.get(c.target)
    if system is None:
        return f"unknown target system {c.target!r}"
    if system.role == "source":
        return f"{c.target} is a source-only system (role: source)"
    if c.table not in system.tables:
        return f"{c.target} has no table {c.table!r} in systems.yaml"
    ext = system.tables[c.table].external_id_field
    if ext and normalized(ext) != ext and ext in c.payload and c.payload[ext] != c.golden_id:
        return f"payload sets the external id field {ext} to another value than the golden id"
    return None


def _pii(row: dict[str, Any]) -> list[Any]:
    """The personal-data values of a claimed ledger row (masked in every message)."""
    return pii_values(row.get("payload"), row.get("sensitive") or [])


def _leaks(c: Change, secrets: list[str]) -> str | None:
    """A payload carrying a credential is never sent (nor stored): it is dead-lettered; nor is
    one carrying PII masks (a scrubbed ledger payload instead of the golden record's values)."""
    if masked := masked_fields(c.payload):
        return f"the payload holds masked personal data in {masked} instead of values; rebuild it " \
               "from the golden record"
    text = canonical_json(c.payload)
    if any(value in text for value in secrets):
        return "the payload contains the value of a secret (an environment variable holding a " \
               "credential); it is not sent"
    return None


def _rank(changes: list[Change], system: str) -> int:
    from sync_platform.engines.push.changes import PRIORITY_RANK

    return min(PRIORITY_RANK[c.priority] for c in changes if c.target == system)
