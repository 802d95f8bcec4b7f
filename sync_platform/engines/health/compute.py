"""Compute ops.health: one row per system and per flow, from what the pipeline recorded.

Statuses, worst first: `failing` (a flow's last cycle did not verify, its error rate is above
5%, or it is overdue: a scheduled flow more than twice its interval late, an on-change flow
whose source landed changes more than an hour before its last push, a manual flow past its
cadence), `never_run`, `warning` (open dead letters, schema changes in the last day, more than
5% of a system's records rejected, pending reviews, a failed write in the last cycle), `ok`.
The row's `reason` says which rule decided it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
from croniter import croniter

from sync_platform.engines.catalog.models import Catalog, Flow
from sync_platform.engines.warehouse import connect, quote, table_exists

ON_CHANGE_GRACE = dt.timedelta(hours=1)
ERROR_RATE_LIMIT = 0.05
REJECT_SHARE_LIMIT = 0.05
DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.manual_runs (
    flow VARCHAR, done_at TIMESTAMPTZ, done_by VARCHAR, note VARCHAR);
"""
COLUMNS = ("scope", "name", "systems", "status", "reason", "last_landing", "last_push",
           "lag_minutes", "expected_every_minutes", "rows_in_warehouse", "staged", "rejected",
           "pushed_last_cycle", "error_rate", "dead_letters", "schema_changes_7d",
           "pending_reviews", "verified", "checked_at")


@dataclass
class HealthRow:
    scope: str  # system | flow
    name: str
    systems: str
    status: str = "ok"
    reason: str = ""
    last_landing: dt.datetime | None = None
    last_push: dt.datetime | None = None
    lag_minutes: float | None = None
    expected_every_minutes: float | None = None
    rows_in_warehouse: int | None = None
    staged: int | None = None
    rejected: int | None = None
    pushed_last_cycle: int | None = None
    error_rate: float | None = None
    dead_letters: int = 0
    schema_changes_7d: int = 0
    pending_reviews: int = 0
    verified: bool | None = None
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    reasons: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def flag(self, status: str, why: str) -> None:
        self.reasons.append((status, why))

    def settle(self) -> HealthRow:
        order = ["failing", "never_run", "warning"]
        found = sorted(self.reasons, key=lambda r: order.index(r[0]))
        self.status = found[0][0] if found else "ok"
        self.reason = "; ".join(why for _, why in found) or "in sync"
        return self

    def as_tuple(self) -> tuple:
        values = asdict(self)
        return tuple(values[c] for c in COLUMNS)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchall()[0][0]


def interval(cron: str, now: dt.datetime) -> dt.timedelta:
    """The gap between a cron expression's next two fire times."""
    it = croniter(cron, now)
    first = it.get_next(dt.datetime)
    return it.get_next(dt.datetime) - first


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _system_row(con: duckdb.DuckDBPyConnection, catalog: Catalog, system: str,
                mapping_reviews: dict[str, int], now: dt.datetime) -> HealthRow:
    row = HealthRow("system", system, system)
    schema = f"raw_{system}"
    if table_exists(con, schema, "_dlt_loads"):
        row.last_landing = _utc(_scalar(con, f"SELECT max(inserted_at) FROM {quote(schema)}._dlt_loads "
                                             "WHERE status = 0"))
    if row.last_landing is None:
        row.flag("never_run", "never landed")
    tables = [t for t in catalog.systems[system].tables if table_exists(con, schema, t)]
    row.rows_in_warehouse = sum(_scalar(con, f"SELECT count(*) FROM {quote(schema)}.{quote(t)}")
                                for t in tables)
    staged = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'staged' "
        "AND column_name = 'source_system'").fetchall()]
    row.staged = sum(_scalar(con, f"SELECT count(*) FROM staged.{quote(t)} WHERE source_system = ?",
                             [system]) for t in staged)
    if table_exists(con, "quality", "rejects"):
        row.rejected = _scalar(con, "SELECT count(DISTINCT source_table || ':' || source_id) "
                                    "FROM quality.rejects WHERE source_system = ?", [system])
        read = (row.staged or 0) + (row.rejected or 0)
        if read and row.rejected / read > REJECT_SHARE_LIMIT:
            row.flag("warning", f"{row.rejected} of {read} records rejected in staging")
    if table_exists(con, "meta", "schema_changes"):
        drift = ("SELECT count(*) FROM meta.schema_changes WHERE system = ? AND detected_at > ? "
                 "AND change <> 'added_table'")  # a first landing is not drift
        row.schema_changes_7d = _scalar(con, drift, [system, now - dt.timedelta(days=7)])
        recent = _scalar(con, drift, [system, now - dt.timedelta(days=1)])
        if recent:
            row.flag("warning", f"{recent} schema changes in the last day")
    row.dead_letters = _dead_letters(con, [system])
    if row.dead_letters:
        row.flag("warning", f"{row.dead_letters} open dead letters (sync-platform dlq list)")
    row.pending_reviews = mapping_reviews.get(system, 0) + _push_reviews(con, [system])
    if row.pending_reviews:
        row.flag("warning", f"{row.pending_reviews} items wait for review")
    return row.settle()


def _dead_letters(con: duckdb.DuckDBPyConnection, systems: list[str]) -> int:
    if not table_exists(con, "ops", "dead_letters"):
        return 0
    return _scalar(con, "SELECT count(*) FROM ops.dead_letters WHERE status = 'open' AND target IN "
                        "(SELECT unnest(?::VARCHAR[]))", [systems])


def _push_reviews(con: duckdb.DuckDBPyConnection, systems: list[str]) -> int:
    if not table_exists(con, "ops", "push_review"):
        return 0
    return _scalar(con, "SELECT count(*) FROM ops.push_review WHERE status = 'open' AND target IN "
                        "(SELECT unnest(?::VARCHAR[]))", [systems])


def _flow_row(con: duckdb.DuckDBPyConnection, flow: Flow, last_landing: dict[str, dt.datetime | None],
              now: dt.datetime) -> HealthRow:
    targets = [flow.target] + ([flow.source] if flow.direction == "two_way" else [])
    row = HealthRow("flow", flow.name, f"{flow.source} {'<->' if flow.direction == 'two_way' else '->'} "
                                       f"{flow.target}")
    row.last_landing = last_landing.get(flow.source)
    row.dead_letters = _dead_letters(con, targets)
    row.pending_reviews = _push_reviews(con, targets)
    manual = flow.timing.manual
    if manual is not None:
        return _manual_row(con, row, flow, now)
    cycles = con.execute(
        "SELECT finished_at, verified, acknowledged, rejected FROM ops.sync_cycles "
        "WHERE NOT dry_run AND list_contains(string_split(flows, ','), ?) ORDER BY finished_at DESC",
        [flow.name]).fetchall() if table_exists(con, "ops", "sync_cycles") else []
    if flow.timing.cron:
        row.expected_every_minutes = interval(flow.timing.cron, now).total_seconds() / 60
    if not cycles:
        row.flag("never_run", "never pushed")
        return row.settle()
    latest = cycles[0][0]
    row.last_push = _utc(latest)
    last_round = [c for c in cycles if c[0] >= latest - dt.timedelta(minutes=30)]
    row.verified = all(c[1] for c in last_round)
    row.pushed_last_cycle = sum(c[2] or 0 for c in last_round)
    rejected = sum(c[3] or 0 for c in last_round)
    attempted = row.pushed_last_cycle + rejected
    row.error_rate = round(rejected / attempted, 4) if attempted else 0.0
    row.lag_minutes = round((now - row.last_push).total_seconds() / 60, 1)
    if not row.verified:
        row.flag("failing", "the last cycle did not verify (differences left that are not known rejects)")
    if row.error_rate > ERROR_RATE_LIMIT:
        row.flag("failing", f"{row.error_rate:.0%} of the last cycle's writes were rejected")
    elif rejected:
        row.flag("warning", f"{rejected} writes rejected in the last cycle")
    if row.expected_every_minutes and row.lag_minutes > 2 * row.expected_every_minutes + 1:
        row.flag("failing", f"overdue: last push {row.lag_minutes:.0f} min ago, expected every "
                            f"{row.expected_every_minutes:.0f} min")
    if flow.timing.on_change and row.last_landing and row.last_landing - row.last_push > ON_CHANGE_GRACE:
        row.flag("failing", f"{flow.source} landed changes {row.last_landing:%Y-%m-%d %H:%M} UTC, "
                            "not pushed since")
    if row.dead_letters:
        row.flag("warning", f"{row.dead_letters} open dead letters")
    if row.pending_reviews:
        row.flag("warning", f"{row.pending_reviews} pushes wait for review")
    return row.settle()


def _manual_row(con: duckdb.DuckDBPyConnection, row: HealthRow, flow: Flow, now: dt.datetime) -> HealthRow:
    manual = flow.timing.manual
    done = _scalar(con, "SELECT max(done_at) FROM ops.manual_runs WHERE flow = ?", [flow.name]) \
        if table_exists(con, "ops", "manual_runs") else None
    row.last_push = _utc(done)
    row.expected_every_minutes = manual.every_days * 24 * 60
    if row.last_push is None:
        row.flag("never_run", f"manual flow never done (owner {manual.owner})")
    else:
        row.lag_minutes = round((now - row.last_push).total_seconds() / 60, 1)
        if row.lag_minutes > row.expected_every_minutes:
            row.flag("failing", f"manual flow overdue: last done {row.last_push:%Y-%m-%d}, every "
                                f"{manual.every_days:g} days (owner {manual.owner})")
    if table_exists(con, "recon", "runs"):  # reconciliation verifies what was done by hand
        left = con.execute("SELECT pushable_differences FROM recon.runs WHERE system = ? AND entity = ? "
                           "ORDER BY reconciled_at DESC LIMIT 1", [flow.target, flow.entity]).fetchall()
        if left:
            row.verified = left[0][0] == 0
            if not row.verified:
                row.flag("warning", f"reconciliation finds {left[0][0]} differences to do by hand")
    return row.settle()


def compute_health(catalog: Catalog, mappings_dir: Path | str | None = None,
                   now: dt.datetime | None = None) -> list[HealthRow]:
    """One HealthRow per system, then per flow (see the module docstring)."""
    from sync_platform.engines.mapping.review import pending

    now = now or dt.datetime.now(dt.UTC)
    warehouse = catalog.warehouse_path
    reviews: dict[str, int] = {}
    for proposal in pending(mappings_dir, warehouse if Path(warehouse).exists() else None):
        system = str(proposal["mapping_id"]).split(".", 1)[0]
        reviews[system] = reviews.get(system, 0) + 1
    if not Path(warehouse).exists():
        rows = [HealthRow("system", s, s) for s in catalog.systems]
        rows += [HealthRow("flow", f.name, f"{f.source} -> {f.target}") for f in catalog.flows]
        for r in rows:
            r.flag("never_run", "no warehouse yet")
        return [r.settle() for r in rows]
    with connect(warehouse, read_only=True) as con:
        systems = [_system_row(con, catalog, s, reviews, now) for s in catalog.systems]
        landed = {r.name: r.last_landing for r in systems}
        flows = [_flow_row(con, f, landed, now) for f in catalog.flows]
    by_name = {r.name: r for r in systems}
    for f in catalog.flows:  # a source that stopped landing starves its scheduled flows
        source = by_name[f.source]
        if f.timing.cron and source.last_landing is not None:
            every = interval(f.timing.cron, now)
            if now - source.last_landing > 2 * every + dt.timedelta(minutes=1):
                source.flag("failing", f"no successful landing since {source.last_landing:%Y-%m-%d %H:%M} "
                                       f"UTC (flow {f.name} runs every {every.total_seconds() / 60:.0f} min)")
                source.settle()
    return systems + flows


def write_health(warehouse: Path | str, rows: list[HealthRow]) -> None:
    """Replace ops.health with `rows` and append them to ops.health_history."""
    columns = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, (
        "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "TIMESTAMPTZ", "DOUBLE",
        "DOUBLE", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "DOUBLE", "BIGINT", "BIGINT", "BIGINT",
        "BOOLEAN", "TIMESTAMPTZ"), strict=True))
    marks = ", ".join("?" * len(COLUMNS))
    with connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(f"CREATE OR REPLACE TABLE ops.health ({columns})")
        con.execute(f"CREATE TABLE IF NOT EXISTS ops.health_history ({columns})")
        if rows:
            con.executemany(f"INSERT INTO ops.health VALUES ({marks})", [r.as_tuple() for r in rows])
            con.execute("INSERT INTO ops.health_history SELECT * FROM ops.health")


def record_manual_run(warehouse: Path | str, flow: str, by: str, note: str = "") -> None:
    """A person did a manual flow's checklist."""
    with connect(warehouse) as con:
        con.execute(DDL)
        con.execute("INSERT INTO ops.manual_runs VALUES (?, now(), ?, ?)", [flow, by, note])
