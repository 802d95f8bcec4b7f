"""Fault injection and request statistics for the HTTP systems (crm, marketing, shop).

Faults model what a sync meets in the wild: rate limits (answered in each product's own 429
style with Retry-After), random 5xx errors from a seeded RNG (deterministic for sequential
tests), bursts of 503s, latency, dropped connections and full outages. Push-out faults: the
Retry-After style (seconds, HTTP-date, absent, a fixed far-future value), storms of 429s, responses
lost after the write committed, and expired credentials (401). Faults for the SQL and file
systems (accounting, payroll, warehouse, hr) are out of scope.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field


class FaultSettings(BaseModel):
    """Faults of one HTTP system; replaced as a whole by `set_faults` / POST /__sandbox/faults."""

    rate_limit: int | None = Field(default=None, ge=1)
    rate_window_s: float = Field(default=1.0, gt=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_burst: int = Field(default=0, ge=0)
    latency_ms: int = Field(default=0, ge=0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    down: bool = False
    # how 429 answers carry Retry-After: delta seconds, an HTTP-date, or not at all
    retry_after: Literal["seconds", "http_date", "none"] = "seconds"
    retry_after_s: float | None = Field(default=None, ge=0)  # fixed value instead of the window's
    rate_limit_storm: int = Field(default=0, ge=0)  # the next N requests answer 429
    lose_response_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # processed, then no answer
    token_expired: bool = False  # every API request answers 401 in the product's style
    max_body_bytes: int | None = Field(default=None, ge=1)  # larger request bodies answer 413


@dataclass
class Verdict:
    """What the fault layer decided for one request."""

    kind: str  # "ok" | "down" | "drop" | "rate" | "error"
    status: int = 200
    retry_after: float = 0.0
    remaining: int | None = None
    lose: bool = False  # process the request, then close the connection without answering


class FaultState:
    """Live fault settings plus counters for one server (thread safe)."""

    def __init__(self, settings: FaultSettings | None = None, seed: int = 0):
        self._lock = threading.Lock()
        self._seed = seed
        self.settings = FaultSettings()
        self._rng = random.Random(seed)
        self._burst = 0
        self._storm = 0
        self._hits: deque[float] = deque()
        self.reset_stats()
        self.replace(settings or FaultSettings())

    def replace(self, settings: FaultSettings) -> None:
        """Install new settings; restarts the error RNG, burst counter and rate window."""
        with self._lock:
            self.settings = settings
            self._rng = random.Random(f"{self._seed}:faults")
            self._burst = settings.error_burst
            self._storm = settings.rate_limit_storm
            self._hits.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.requests = 0
            self.by_status: dict[str, int] = {}
            self.faults = {"rate_limited": 0, "errors": 0, "dropped": 0, "lost": 0}

    def decide(self) -> Verdict:
        """Count one API request and decide which fault (if any) it meets."""
        with self._lock:
            s = self.settings
            self.requests += 1
            if s.down:
                self.faults["errors"] += 1
                return Verdict("down", 503)
            if s.drop_rate and self._rng.random() < s.drop_rate:
                self.faults["dropped"] += 1
                return Verdict("drop", 0)
            remaining = None
            if self._storm > 0:
                self._storm -= 1
                self.faults["rate_limited"] += 1
                return Verdict("rate", 429, retry_after=s.rate_window_s, remaining=0)
            if s.rate_limit is not None:
                now = time.monotonic()
                while self._hits and now - self._hits[0] >= s.rate_window_s:
                    self._hits.popleft()
                if len(self._hits) >= s.rate_limit:
                    self.faults["rate_limited"] += 1
                    wait = s.rate_window_s - (now - self._hits[0])
                    return Verdict("rate", 429, retry_after=max(wait, 0.001), remaining=0)
                self._hits.append(now)
                remaining = s.rate_limit - len(self._hits)
            if self._burst > 0:
                self._burst -= 1
                self.faults["errors"] += 1
                return Verdict("error", 503, remaining=remaining)
            if s.error_rate and self._rng.random() < s.error_rate:
                self.faults["errors"] += 1
                return Verdict("error", self._rng.choice((500, 502, 503)), remaining=remaining)
            if s.lose_response_rate and self._rng.random() < s.lose_response_rate:
                self.faults["lost"] += 1
                return Verdict("ok", remaining=remaining, lose=True)
            return Verdict("ok", remaining=remaining)

    def record_status(self, status: int) -> None:
        with self._lock:
            key = str(status)
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def stats(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "total": self.requests,
                    "by_status": dict(self.by_status), "faults": dict(self.faults)}
