"""Which failures are worth retrying, how long to wait, and when to park instead of waiting.

- transient: timeouts, connection resets, 5xx, 429 (and 408/425) -> retry with capped exponential
  backoff and jitter, honouring Retry-After (delta seconds or HTTP-date);
- auth: 401/403 -> stop the target at once (expired credentials are not the records' fault);
- permanent: 4xx validation, 404, 413 too large, values that cannot be encoded -> dead letter.
A Retry-After beyond `park_after_s` parks the work with a not-before time instead of sleeping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

TRANSIENT, PERMANENT, AUTH = "transient", "permanent", "auth"


@dataclass(frozen=True)
class Failure:
    kind: str  # transient | permanent | auth
    error_class: str  # rate_limited, server, timeout, network, auth, validation, not_found, ...
    in_doubt: bool = False  # the request may have reached the target and been applied


def classify_status(status: int) -> Failure:
    if status == 429:
        return Failure(TRANSIENT, "rate_limited")
    if status in (408, 425) or status >= 500:
        return Failure(TRANSIENT, "server")
    if status in (401, 403, 407):
        return Failure(AUTH, "auth")
    if status in (404, 410):
        return Failure(PERMANENT, "not_found")
    if status == 413:
        return Failure(PERMANENT, "too_large")
    if status == 415:
        return Failure(PERMANENT, "encoding")
    return Failure(PERMANENT, "validation")


def classify_exception(exc: BaseException) -> Failure:
    """Network errors are transient; a refused or timed-out connect never reached the target."""
    if isinstance(exc, requests.ConnectTimeout):
        return Failure(TRANSIENT, "timeout")
    if isinstance(exc, requests.Timeout):
        return Failure(TRANSIENT, "timeout", in_doubt=True)
    if isinstance(exc, requests.ConnectionError):
        refused = "NewConnectionError" in repr(exc) or "Connection refused" in str(exc)
        return Failure(TRANSIENT, "network", in_doubt=not refused)
    if isinstance(exc, requests.exceptions.InvalidJSONError | UnicodeError | TypeError | ValueError):
        return Failure(PERMANENT, "encoding")
    if isinstance(exc, requests.RequestException):
        return Failure(TRANSIENT, "network", in_doubt=True)
    return Failure(PERMANENT, "client")


def classify_message(error_class: str | None, message: str | None) -> str:
    """Refine a connector's per-record error class from the target's own error code."""
    text = (message or "").upper()
    if "NOT_FOUND" in text or "HTTP 404" in text:
        return "not_found"
    if "TOO_LONG" in text or "TOO LARGE" in text or "HTTP 413" in text:
        return "too_large"
    if "JSON_PARSER" in text or "DESERIALIZE" in text or "NOT JSON COMPLIANT" in text:
        return "encoding"
    return error_class or "validation"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP-date); None if absent/bad."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with equal jitter: half fixed, half random (attempt >= 1)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
