"""Push-out (reverse ETL): deliver golden records to target systems, reliably.

Plain Python + SQL, no Dagster. `push(catalog, changes)`:
1. validates the changes (changes.py; invalid ones and payloads carrying a secret are dead letters),
2. matches creates before creating (matching.py: external id -> shared identifier -> golden xref;
   uncertain -> ops.push_review, decided with `decide_review`),
3. shows the plan (dry run) or holds a mass change for approval (guard.py, ops.push_approvals;
   `pending_approvals`, `approve_push`, `cancel_push`),
4. commits intents to ops.push_ledger (ledger.py), then per target claims a batch as `sent`
   (committed before the request), sends it through the connector's own write with one
   rate-limit token per request (targets.py, ratelimit.py), and settles the outcome with its
   audit rows (audit.py) and dead letters (dlq.py) in one transaction.
Transient failures retry with capped, jittered backoff and Retry-After (retry.py); a wait longer
than `park_after_s` parks the work instead of sleeping; expired credentials stop the push at once.
A crash leaves `sent` rows whose owner is gone: the next run looks them up in the target by
external id and acknowledges or re-sends them (upserts by external id cannot duplicate).
"""

from sync_platform.engines.push.changes import Change, idempotency_key, payload_hash
from sync_platform.engines.push.deliver import PushAuthError, PushReport, limiter_for, push, resume
from sync_platform.engines.push.dlq import discard, list_dead_letters, replay
from sync_platform.engines.push.guard import approve_push, cancel_push, pending_approvals
from sync_platform.engines.push.ratelimit import Budget, RateLimiter
from sync_platform.engines.push.redact import redact
from sync_platform.engines.push.review import decide_review, open_reviews

__all__ = [
    "Budget",
    "Change",
    "PushAuthError",
    "PushReport",
    "RateLimiter",
    "approve_push",
    "cancel_push",
    "decide_review",
    "discard",
    "idempotency_key",
    "limiter_for",
    "list_dead_letters",
    "open_reviews",
    "payload_hash",
    "pending_approvals",
    "push",
    "redact",
    "replay",
    "resume",
]
