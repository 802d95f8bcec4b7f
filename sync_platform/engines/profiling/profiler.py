"""Column profiling of one relation, set-based in DuckDB.

Per relation: one count, one aggregate scan for typed min/max of every column, and one UNPIVOT
scan into a temp table of distinct values per column `(col, val, cnt)` from which null counts,
distinct counts, lengths, top values, samples, shapes and semantic evidence all come. Tables
larger than `sample_threshold` rows are profiled on a reservoir sample of that many rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from sync_platform.engines.profiling.incremental import (
    PROFILER_VERSION,
    TableDecision,
    change_threshold,
    count_changes,
    decide_table,
    hash_rows,
    max_age,
)
from sync_platform.engines.profiling.models import ColumnProfile
from sync_platform.engines.profiling.semantic import decide, needs_evidence, run_detection
from sync_platform.engines.profiling.store import (
    read_profiled_tables,
    read_profiles,
    write_profile_state,
)
from sync_platform.engines.warehouse import connect, quote

TOP_N = 10
SAMPLE_N = 10
DETECT_DISTINCT = 20_000  # semantic tests run on at most this many distinct values per column


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    rows = con.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return [(r[0], r[1]) for r in rows if not r[0].startswith("_dlt_")]


def _as_text(column: str) -> str:
    return f"CAST({quote(column)} AS VARCHAR)"


def profile_relation(con: duckdb.DuckDBPyConnection, relation: str, system: str,
                     table_name: str, sample_threshold: int = 2_000_000) -> list[ColumnProfile]:
    """Profile every column (but dlt's own `_dlt_*`) of `relation`: a quoted qualified table
    name or a parenthesised SELECT. Works on read-only connections (temp tables only)."""
    columns = _columns(con, relation)
    if not columns:
        return []
    row_count = con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    tag = uuid.uuid4().hex[:10]
    sample_table, values_table = f"_profile_sample_{tag}", f"_profile_values_{tag}"
    sampled = row_count > sample_threshold
    source = relation
    created: list[str] = []
    try:
        if sampled:
            con.execute(f"CREATE TEMP TABLE {sample_table} AS SELECT * FROM {relation} "
                        f"USING SAMPLE reservoir({int(sample_threshold)} ROWS) REPEATABLE (42)")
            created.append(sample_table)
            source = sample_table
        scanned = sample_threshold if sampled else row_count

        aliases = {f"c{i}": name for i, (name, _) in enumerate(columns)}
        # Typed min/max in one scan (numbers and dates order by value, not by text).
        minmax_exprs = []
        for alias, (name, dtype) in zip(aliases, columns, strict=True):
            expr = quote(name) if _orderable(dtype) else _as_text(name)
            minmax_exprs.append(f"CAST(min({expr}) AS VARCHAR) AS {alias}_min, "
                                f"CAST(max({expr}) AS VARCHAR) AS {alias}_max")
        minmax = con.sql(f"SELECT {', '.join(minmax_exprs)} FROM {source}").fetchall()[0]

        # Distinct values per column with their counts, in one UNPIVOT scan.
        text_cols = ", ".join(f"{_as_text(name)} AS {alias}" for alias, name in aliases.items())
        con.execute(
            f"CREATE TEMP TABLE {values_table} AS SELECT col, val, count(*) AS cnt FROM ("
            f"UNPIVOT (SELECT {text_cols} FROM {source}) ON COLUMNS(*) INTO NAME col VALUE val"
            ") GROUP BY ALL")
        created.append(values_table)
        stats = {r[0]: r[1:] for r in con.sql(
            f"SELECT col, sum(cnt), count(*), min(length(val)), max(length(val)), "
            f"sum(cnt * length(val))::DOUBLE / sum(cnt) FROM {values_table} GROUP BY col"
        ).fetchall()}
        tops: dict[str, list[tuple[str, int]]] = {}
        for col, val, cnt in con.sql(
            f"SELECT col, val, cnt FROM {values_table} QUALIFY row_number() OVER "
            f"(PARTITION BY col ORDER BY cnt DESC, val) <= {TOP_N} ORDER BY col, cnt DESC, val"
        ).fetchall():
            tops.setdefault(col, []).append((val, int(cnt)))
        samples: dict[str, list[str]] = {}
        for col, val in con.sql(
            f"SELECT col, val FROM {values_table} QUALIFY row_number() OVER "
            f"(PARTITION BY col ORDER BY hash(val), val) <= {SAMPLE_N} ORDER BY col, hash(val)"
        ).fetchall():
            samples.setdefault(col, []).append(val)
        detect = [alias for alias, (_, dtype) in zip(aliases, columns, strict=True)
                  if needs_evidence(dtype)]
        evidence = run_detection(con, (
            f"(SELECT * FROM {values_table} WHERE col IN ({', '.join(repr(a) for a in detect)}) "
            f"QUALIFY row_number() OVER (PARTITION BY col ORDER BY hash(val), val) "
            f"<= {DETECT_DISTINCT})")) if detect else {}
    finally:
        for table in created:
            con.execute(f"DROP TABLE IF EXISTS {table}")

    profiles = []
    for i, (alias, (name, dtype)) in enumerate(zip(aliases, columns, strict=True)):
        non_null, distinct, min_len, max_len, avg_len = stats.get(alias, (0, 0, None, None, None))
        non_null, distinct = int(non_null or 0), int(distinct or 0)
        null_in_scan = scanned - non_null
        null_rate = null_in_scan / scanned if scanned else 0.0
        null_count = round(null_rate * row_count) if sampled else null_in_scan
        uniqueness = distinct / non_null if non_null else 0.0
        e = evidence.get(alias)
        semantic, confidence, fmt = decide(name, dtype, e, uniqueness)
        profiles.append(ColumnProfile(
            system=system, table_name=table_name, column_name=name, data_type=dtype,
            row_count=int(row_count), sampled=sampled,
            sample_size=int(scanned) if sampled else None,
            null_count=int(null_count), null_rate=round(null_rate, 6),
            distinct_count=distinct, uniqueness=round(uniqueness, 6),
            min_value=minmax[2 * i], max_value=minmax[2 * i + 1],
            min_length=min_len, max_length=max_len,
            avg_length=round(avg_len, 3) if avg_len is not None else None,
            top_values=tops.get(alias, []), semantic_type=semantic,
            semantic_confidence=confidence, value_format=fmt,
            pattern=e["pattern"] if e else None, sample_values=samples.get(alias, []),
        ))
    return profiles


def _orderable(data_type: str) -> bool:
    dt = data_type.upper()
    return not (dt.endswith("]") or dt.startswith(("STRUCT", "MAP", "UNION", "BLOB", "BIT")))


def system_tables(con: duckdb.DuckDBPyConnection, system: str) -> list[str]:
    """The landed tables of `system` (dlt's own `_dlt*` tables left out)."""
    rows = con.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                   "AND NOT starts_with(table_name, '_dlt') ORDER BY table_name",
                   params=[f"raw_{system}"]).fetchall()
    return [r[0] for r in rows]


@dataclass
class ProfileRun:
    """What one `profile_system_run` did: every table's profiles (new or kept) and decisions."""

    system: str
    profiles: list[ColumnProfile] = field(default_factory=list)
    decisions: dict[str, TableDecision] = field(default_factory=dict)

    @property
    def profiled(self) -> list[str]:
        return [t for t, d in self.decisions.items() if d.profiled]

    @property
    def kept(self) -> list[str]:
        return [t for t, d in self.decisions.items() if not d.profiled]


def profile_system(warehouse: Path, system: str, tables: list[str] | None = None, *,
                   force: bool = False, threshold: float | None = None,
                   oldest: timedelta | None = None) -> list[ColumnProfile]:
    """Profiles of `raw_<system>` tables (all by default), profiling again only the tables
    whose landed data changed materially (see `incremental`); `force` profiles every one."""
    return profile_system_run(warehouse, system, tables, force=force, threshold=threshold,
                              oldest=oldest).profiles


def profile_system_run(warehouse: Path, system: str, tables: list[str] | None = None, *,
                       force: bool = False, threshold: float | None = None,
                       oldest: timedelta | None = None) -> ProfileRun:
    """Profile the `raw_<system>` tables (all by default) that need it, keep the stored
    profiles of the others, replace the profiled tables' rows in `meta.column_profiles` (and
    their state in `meta.profiled_tables` / `meta.profiled_row_hashes`) and say what was done
    per table. `threshold` (share of changed rows) and `oldest` (max profile age) default to the
    environment, else 5% and 7 days."""
    threshold, oldest = change_threshold(threshold), max_age(oldest)
    run = ProfileRun(system)
    now = datetime.now(UTC).replace(tzinfo=None)
    with connect(warehouse) as con:
        names = system_tables(con, system) if tables is None else list(tables)
        stored_state = read_profiled_tables(con, system)
        stored_profiles: dict[str, list[ColumnProfile]] = {}
        for p in read_profiles(con, system):
            stored_profiles.setdefault(p.table_name, []).append(p)
        tag = uuid.uuid4().hex[:10]
        hashes: dict[str, str] = {}
        state: list[dict] = []
        profiled: list[ColumnProfile] = []
        try:
            for i, table in enumerate(names):
                relation = f"{quote('raw_' + system)}.{quote(table)}"
                columns = _columns(con, relation)
                hashes[table] = f"_profile_hashes_{tag}_{i}"
                hash_rows(con, relation, [c for c, _ in columns], hashes[table])
                row_count = con.sql(f"SELECT count(*) FROM {hashes[table]}").fetchall()[0][0]
                stored = stored_state.get(table) if table in stored_profiles else None
                changes = count_changes(con, system, table, hashes[table]) if stored else None
                decision = decide_table(table, row_count, columns, stored, changes, threshold, oldest,
                                  force=force, now=now)
                run.decisions[table] = decision
                if decision.profiled:
                    new = profile_relation(con, relation, system, table)
                    profiled += new
                    run.profiles += new
                    state.append({"table_name": table, "row_count": row_count,
                                  "columns": [list(c) for c in columns],
                                  "profiler_version": PROFILER_VERSION,
                                  "reason": decision.reason, "profiled_at": now})
                else:
                    run.profiles += stored_profiles[table]
            redone = [s["table_name"] for s in state]
            if redone:
                write_profile_state(con, profiled, system, redone, state, hashes)
        finally:
            for temp in hashes.values():
                con.execute(f"DROP TABLE IF EXISTS {temp}")
    return run


def load_profiles(warehouse: Path, system: str | None = None) -> list[ColumnProfile]:
    """Profiles stored in `meta.column_profiles` (of one system, or all)."""
    with connect(warehouse, read_only=True) as con:
        return read_profiles(con, system)
