"""One token bucket per target account, shared by every flow and every process on this machine.

The bucket lives in a small SQLite file (`<data dir>/push/ratelimit.sqlite`): each take is one
`BEGIN IMMEDIATE` transaction, so concurrent pushes (threads, Dagster run workers, a CLI replay)
draw from the same budget without a coordinator process. Past one machine the same table moves
to PostgreSQL with `SELECT ... FOR UPDATE`.

- Refill at `rate` tokens/s (97% of the configured limit) up to `burst`; a request takes one.
- AIMD: a 429 halves the rate, lowers the ceiling (to 97% of what the target accepted in the
  last second, or 95% of the refused rate) and blocks the bucket for Retry-After (or one token's
  time); each success adds 2% of the configured limit back, never above the ceiling. Once adapted
  the budget stays under what the target accepts; a changed configuration starts afresh.
- Priority classes: a class may take a token only while no waiter of a higher class is waiting,
  so payment status and inventory go before bulk backfills when the budget is short.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.push.changes import PRIORITY_RANK

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    account TEXT PRIMARY KEY, limit_rps REAL NOT NULL, burst REAL NOT NULL, rate REAL NOT NULL,
    ceiling REAL NOT NULL, tokens REAL NOT NULL, updated REAL NOT NULL,
    blocked_until REAL NOT NULL DEFAULT 0, throttled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS waiters (
    account TEXT NOT NULL, owner TEXT NOT NULL, rank INTEGER NOT NULL, seen REAL NOT NULL,
    PRIMARY KEY (account, owner));
"""
DECREASE, CEILING_FACTOR, INCREASE = 0.5, 0.95, 0.02
# requests leave a little later than their token is taken (and not all equally late): a 3%
# margin keeps a target's sliding window from seeing one request too many
SAFETY = 0.97
WAITER_TTL_S = 1.0


@dataclass(frozen=True)
class Budget:
    requests_per_second: float
    burst: int = 1


class RateLimiter:
    """Token buckets in a shared SQLite file; `accounts` maps account -> configured budget."""

    def __init__(self, path: Path | str, accounts: dict[str, Budget],
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.path = Path(path)
        self.accounts = accounts
        self.clock, self.sleep = clock, sleep
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + 60
        while True:  # two processes creating the file at once: switching to WAL may be refused
            try:
                with closing(self._connect()) as con:
                    con.execute("PRAGMA journal_mode=WAL")  # persistent in the file
                    con.executescript(SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _bucket(self, con: sqlite3.Connection, account: str, now: float) -> dict:
        budget = self.accounts[account]
        row = con.execute("SELECT limit_rps, burst, rate, ceiling, tokens, updated, blocked_until "
                          "FROM buckets WHERE account=?", (account,)).fetchone()
        if row is None or row[0] != budget.requests_per_second or row[1] != budget.burst:
            start = budget.requests_per_second * SAFETY
            row = (budget.requests_per_second, float(budget.burst), start, start, float(budget.burst),
                   now, 0.0)
            con.execute("INSERT OR REPLACE INTO buckets (account, limit_rps, burst, rate, ceiling,"
                        " tokens, updated, blocked_until) VALUES (?,?,?,?,?,?,?,?)", (account, *row))
        b = dict(zip(("limit", "burst", "rate", "ceiling", "tokens", "updated", "blocked"), row,
                     strict=True))
        b["tokens"] = min(b["burst"], b["tokens"] + max(0.0, now - b["updated"]) * b["rate"])
        b["updated"] = max(now, b["updated"])
        return b

    def _save(self, con: sqlite3.Connection, account: str, b: dict) -> None:
        con.execute("UPDATE buckets SET rate=?, ceiling=?, tokens=?, updated=?, blocked_until=? "
                    "WHERE account=?", (b["rate"], b["ceiling"], b["tokens"], b["updated"],
                                        b["blocked"], account))

    def try_acquire(self, account: str, priority: str = "normal", owner: str | None = None) -> float:
        """Take a token now (returns 0) or register as a waiter and return seconds to wait."""
        if account not in self.accounts:
            return 0.0
        rank = PRIORITY_RANK.get(priority, 1)
        owner = owner or f"{os.getpid()}-{threading.get_ident()}"
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                b = self._bucket(con, account, now)
                higher = con.execute("SELECT count(*) FROM waiters WHERE account=? AND rank<? "
                                     "AND seen>? AND owner<>?",
                                     (account, rank, now - WAITER_TTL_S, owner)).fetchone()[0]
                if b["blocked"] > now:
                    wait = b["blocked"] - now
                elif b["tokens"] >= 1 and not higher:
                    b["tokens"] -= 1
                    wait = 0.0
                else:
                    wait = max((1 - b["tokens"]) / b["rate"], 0.001)
                    if higher:
                        wait = max(wait, 1 / b["rate"])
                if wait > 0:
                    con.execute("INSERT OR REPLACE INTO waiters (account, owner, rank, seen) "
                                "VALUES (?,?,?,?)", (account, owner, rank, now))
                else:
                    con.execute("DELETE FROM waiters WHERE account=? AND owner=?", (account, owner))
                self._save(con, account, b)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return wait

    def acquire(self, account: str, priority: str = "normal", owner: str | None = None,
                max_wait_s: float | None = None) -> float:
        """Block until a token is taken; returns the seconds waited. Raises TimeoutError when a
        block (Retry-After) or the queue would outlast `max_wait_s`."""
        started = self.clock()
        while True:
            wait = self.try_acquire(account, priority, owner)
            if wait <= 0:
                return self.clock() - started
            if max_wait_s is not None and self.clock() - started + wait > max_wait_s:
                raise TimeoutError(wait)
            self.sleep(min(wait, 1.0))

    def blocked_for(self, account: str) -> float:
        if account not in self.accounts:
            return 0.0
        with closing(self._connect()) as con:
            row = con.execute("SELECT blocked_until FROM buckets WHERE account=?", (account,)).fetchone()
        return max(0.0, (row[0] if row else 0.0) - self.clock())

    def throttled(self, account: str, retry_after: float | None, accepted_last_s: int | None = None
                  ) -> None:
        """A 429: multiplicative decrease, lower the ceiling, block for Retry-After.

        `accepted_last_s` (requests the target accepted in the second before refusing) measures
        the target's real limit: when we were sending near our own rate, the ceiling goes just
        under it, so one refusal is enough to adapt; otherwise (a storm of 429s while we sent
        little) the ceiling only moves under the refused rate."""
        if account not in self.accounts:
            return
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            now = self.clock()
            b = self._bucket(con, account, now)
            floor = b["limit"] * 0.01
            refused = b["rate"] * CEILING_FACTOR
            if accepted_last_s is not None and accepted_last_s >= b["rate"] * 0.5:
                refused = min(refused, accepted_last_s * SAFETY)
            b["ceiling"] = max(floor, min(b["ceiling"], refused))
            b["rate"] = max(floor, b["rate"] * DECREASE)
            b["tokens"] = 0.0
            pause = retry_after if retry_after is not None else 1 / b["rate"]
            b["blocked"] = max(b["blocked"], now + pause)
            b["updated"] = b["blocked"]  # no tokens accrue while blocked: no burst right after
            self._save(con, account, b)
            con.execute("UPDATE buckets SET throttled = throttled + 1 WHERE account=?", (account,))
            con.execute("COMMIT")

    def succeeded(self, account: str) -> None:
        """Additive increase towards the ceiling."""
        if account not in self.accounts:
            return
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            b = self._bucket(con, account, self.clock())
            if b["rate"] < b["ceiling"]:
                b["rate"] = min(b["ceiling"], b["rate"] + b["limit"] * INCREASE)
                self._save(con, account, b)
            con.execute("COMMIT")

    def unblock(self, account: str) -> None:
        """Forget a Retry-After block (a person decided not to wait for it)."""
        with closing(self._connect()) as con:
            now = self.clock()
            con.execute("UPDATE buckets SET blocked_until = 0, updated = min(updated, ?) "
                        "WHERE account = ?", (now, account))

    def state(self, account: str) -> dict:
        with closing(self._connect()) as con:
            row = con.execute("SELECT limit_rps, rate, ceiling, tokens, blocked_until, throttled "
                              "FROM buckets WHERE account=?", (account,)).fetchone()
        keys = ("limit", "rate", "ceiling", "tokens", "blocked_until", "throttled")
        return dict(zip(keys, row, strict=True)) if row else {}
