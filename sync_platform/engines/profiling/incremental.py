"""When a landed table needs profiling again, and why.

A table's stored profile is kept unless its landed data changed materially since the profile:

- no stored profile yet, or one written by another profiler version;
- the schema changed (a column added, removed or retyped: drift is never missed);
- changed rows reach `change_threshold` of the rows profiled (default 5%);
- the profile is older than `max_age` (default 7 days).

Changed rows are counted exactly, for every connector (dlt's `_dlt_load_id` is not on every
landed table): when a table is profiled, a 64-bit hash of each row (its values, dlt's own
`_dlt_*` columns left out) goes to `meta.profiled_row_hashes`; later the hashes of the current
rows are compared with them as multisets. `new` rows are current rows not among the profiled
ones (inserted or edited), `gone` rows the reverse (deleted or edited); an edit counts in both,
so the changed rows are max(new, gone). Kept profiles are compared with the profiled rows, not
the previous run's: small changes add up until they cross the threshold.

The threshold and the age come from the caller, else from the environment
(`SYNC_PROFILE_CHANGE_THRESHOLD`, a share such as 0.05; `SYNC_PROFILE_MAX_AGE_HOURS`), read at
call time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from sync_platform.engines.warehouse import quote

# Bump when a profile of the same rows would come out different: every table is profiled again.
PROFILER_VERSION = 1
DEFAULT_CHANGE_THRESHOLD = 0.05
DEFAULT_MAX_AGE = timedelta(days=7)
THRESHOLD_ENV = "SYNC_PROFILE_CHANGE_THRESHOLD"
MAX_AGE_ENV = "SYNC_PROFILE_MAX_AGE_HOURS"


@dataclass(frozen=True)
class TableDecision:
    """Whether one table was profiled by this run or its stored profile kept, and why."""

    table_name: str
    profiled: bool
    reason: str
    row_count: int  # rows now
    profiled_rows: int | None  # rows when the stored profile was made (None: no profile)
    new_rows: int = 0  # current rows not among the profiled ones (inserted or edited)
    gone_rows: int = 0  # profiled rows no longer there (deleted or edited)

    @property
    def changed_rows(self) -> int:
        return max(self.new_rows, self.gone_rows)

    @property
    def action(self) -> str:
        return "profiled" if self.profiled else "kept"


def change_threshold(value: float | None = None) -> float:
    """The share of changed rows from which a table is profiled again."""
    if value is None:
        text = os.environ.get(THRESHOLD_ENV, "").strip()
        value = float(text) if text else DEFAULT_CHANGE_THRESHOLD
    if not 0 <= value <= 1:
        raise ValueError(f"profile change threshold must be a share in [0, 1], got {value}")
    return value


def max_age(value: timedelta | None = None) -> timedelta:
    """How old a stored profile may get before the table is profiled again regardless."""
    if value is None:
        text = os.environ.get(MAX_AGE_ENV, "").strip()
        value = timedelta(hours=float(text)) if text else DEFAULT_MAX_AGE
    return value


def hash_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], into: str) -> None:
    """Temp table `into(row_hash)`: one hash per row of `relation` over `columns`."""
    values = ", ".join(quote(c) for c in columns) or "NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT hash({values}) AS row_hash "
                f"FROM {relation}")


def count_changes(con: duckdb.DuckDBPyConnection, system: str, table: str,
                  hashes: str) -> tuple[int, int]:
    """(new, gone): current rows (`hashes`) not among the profiled ones, and the reverse."""
    return con.execute(f"""
        WITH stored AS (SELECT row_hash FROM meta.profiled_row_hashes
                        WHERE system = ? AND table_name = ?)
        SELECT (SELECT count(*) FROM (SELECT row_hash FROM {hashes} EXCEPT ALL
                                      SELECT row_hash FROM stored)),
               (SELECT count(*) FROM (SELECT row_hash FROM stored EXCEPT ALL
                                      SELECT row_hash FROM {hashes}))""",
                       [system, table]).fetchall()[0]


def schema_change(before: list[tuple[str, str]], now: list[tuple[str, str]]) -> str:
    """'' when the columns are the same, else what changed ("added x; removed y; retyped z")."""
    old, new = dict(before), dict(now)
    parts = []
    if added := [c for c in new if c not in old]:
        parts.append(f"added {', '.join(added)}")
    if removed := [c for c in old if c not in new]:
        parts.append(f"removed {', '.join(removed)}")
    if retyped := [f"{c} {old[c]} -> {new[c]}" for c in new if c in old and old[c] != new[c]]:
        parts.append(f"retyped {', '.join(retyped)}")
    return "; ".join(parts)


def decide_table(table: str, row_count: int, columns: list[tuple[str, str]], stored: dict | None,
           changes: tuple[int, int] | None, threshold: float, oldest: timedelta,
           force: bool = False, now: datetime | None = None) -> TableDecision:
    """Profile `table` again, or keep its stored profile (see the module docstring)."""
    profiled_rows = stored["row_count"] if stored else None
    new, gone = changes or (0, 0)

    def made(profiled: bool, reason: str) -> TableDecision:
        return TableDecision(table, profiled, reason, row_count, profiled_rows, new, gone)

    if force:
        return made(True, "forced")
    if stored is None:
        return made(True, "no stored profile")
    if stored["profiler_version"] != PROFILER_VERSION:
        return made(True, f"profiled by profiler version {stored['profiler_version']}, "
                          f"now {PROFILER_VERSION}")
    if drift := schema_change(stored["columns"], columns):
        return made(True, f"schema changed: {drift}")
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    age = now - stored["profiled_at"] if stored["profiled_at"] else oldest
    if age >= oldest:
        return made(True, f"profile {age.total_seconds() / 3600:.0f} h old (max age "
                          f"{oldest.total_seconds() / 3600:.0f} h)")
    changed = max(new, gone)
    share = changed / profiled_rows if profiled_rows else (1.0 if changed else 0.0)
    if changed and share >= threshold:
        return made(True, f"{changed} changed rows since profile ({share:.1%}, threshold "
                          f"{threshold:.0%})")
    return made(False, f"kept ({changed} changed rows since profile, {share:.1%}, below "
                       f"threshold {threshold:.0%})")
