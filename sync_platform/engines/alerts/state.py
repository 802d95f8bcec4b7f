"""Alert state in the warehouse: one alert per status change, and a log of every delivery.

`ops.alert_state` holds each subject's current status (`ok`, `failing`, `warning`), since when,
when it last alerted and the run that changed it. `notify` sends only when the status changes:

| stored \\ alert | failing | warning | recovered |
|---|---|---|---|
| none / ok      | send    | send    | nothing   |
| failing        | nothing | send    | send      |
| warning        | send    | nothing | send      |

The transition is claimed in one transaction before sending (two evaluators racing on the same
subject alert once). When every sink fails, the claim is undone so the next evaluation tries
again; `ops.alert_log` has one row per alert and sink with the outcome either way.
Connections are short-lived and wait briefly for another process's write lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sync_platform.engines.alerts.config import AlertsConfig
from sync_platform.engines.alerts.model import Alert
from sync_platform.engines.alerts.sinks import Outcome, deliver
from sync_platform.engines.push.redact import redact, secret_values
from sync_platform.engines.warehouse import connect

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.alert_state (
    subject VARCHAR PRIMARY KEY, status VARCHAR NOT NULL, since TIMESTAMP,
    last_alert_at TIMESTAMP, run_id VARCHAR, system VARCHAR, flow VARCHAR,
    error_class VARCHAR, message VARCHAR);
CREATE TABLE IF NOT EXISTS ops.alert_log (
    sent_at TIMESTAMP, subject VARCHAR, status VARCHAR, sink VARCHAR, sink_index INTEGER,
    outcome VARCHAR, attempts INTEGER, detail VARCHAR, run_id VARCHAR, run_url VARCHAR,
    system VARCHAR, flow VARCHAR, error_class VARCHAR, message VARCHAR);
"""


@dataclass
class NotifyResult:
    """What `notify` did: `sent` is False when the status did not change."""

    subject: str
    previous: str  # ok | failing | warning
    sent: bool
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(o.ok for o in self.outcomes)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def _patient(warehouse: Path | str, patience_s: float = 15.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the alert tables, waiting a while another process holds the file."""
    with connect(warehouse, wait_s=patience_s) as con:
        con.execute(DDL)
        yield con


def _should_send(previous: str, status: str) -> bool:
    if status == "recovered":
        return previous in ("failing", "warning")
    return previous != status


def _claim(warehouse: Path | str, alert: Alert) -> tuple[str, tuple | None, bool]:
    """(previous status, previous row, whether this alert is a status change), claimed atomically."""
    for attempt in range(5):
        try:
            return _claim_once(warehouse, alert)
        except duckdb.TransactionException:  # a concurrent claim on the same subject: look again
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _claim_once(warehouse: Path | str, alert: Alert) -> tuple[str, tuple | None, bool]:
    with _patient(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            rows = con.execute("SELECT subject, status, since, last_alert_at, run_id, system, flow, "
                               "error_class, message FROM ops.alert_state WHERE subject = ?",
                               [alert.subject]).fetchall()
            before = rows[0] if rows else None
            previous = before[1] if before else "ok"
            change = _should_send(previous, alert.status)
            if change:
                now = _now()
                con.execute(
                    "INSERT OR REPLACE INTO ops.alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [alert.subject, "ok" if alert.status == "recovered" else alert.status, now, now,
                     alert.run_id, alert.system, alert.flow, alert.error_class, alert.message])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return previous, before, change


def _record(warehouse: Path | str, alert: Alert, outcomes: list[Outcome], undo: tuple | None,
            subject_had_row: bool) -> None:
    now = _now()
    with _patient(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT INTO ops.alert_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[now, alert.subject, alert.status, o.sink, o.index, "sent" if o.ok else "failed",
              o.attempts, o.detail, alert.run_id, alert.run_url, alert.system, alert.flow,
              alert.error_class, alert.message] for o in outcomes])
        if outcomes and not any(o.ok for o in outcomes):  # nobody heard it: try again next time
            if subject_had_row:
                con.execute("INSERT OR REPLACE INTO ops.alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            list(undo))
            else:
                con.execute("DELETE FROM ops.alert_state WHERE subject = ?", [alert.subject])
        con.execute("COMMIT")


def notify(warehouse: Path | str, config: AlertsConfig, alert: Alert) -> NotifyResult:
    """Send `alert` to every configured sink if it changes its subject's status (see module doc)."""
    secrets = secret_values(name for _, name in config.secret_references())
    alert = alert.model_copy(update={
        "message": redact(alert.message, secrets=secrets, limit=2000),
        "run_url": alert.run_url or config.run_url(alert.run_id),
    })
    previous, before, change = _claim(warehouse, alert)
    if not change:
        return NotifyResult(alert.subject, previous, sent=False)
    outcomes = deliver(list(config.sinks), alert, secrets)
    _record(warehouse, alert, outcomes, before, before is not None)
    return NotifyResult(alert.subject, previous, sent=True, outcomes=outcomes)


def current_status(warehouse: Path | str) -> dict[str, str]:
    """Every subject's stored status (`ok`, `failing`, `warning`)."""
    if not Path(warehouse).exists():
        return {}
    with _patient(warehouse) as con:
        return dict(con.execute("SELECT subject, status FROM ops.alert_state").fetchall())


def failing_subjects(warehouse: Path | str, prefix: str = "") -> list[str]:
    """Subjects currently failing or warning (optionally only those starting with `prefix`)."""
    return sorted(s for s, status in current_status(warehouse).items()
                  if status != "ok" and s.startswith(prefix))


def notify_all(warehouse: Path | str, config: AlertsConfig, alerts: list[Alert]) -> list[NotifyResult]:
    """`notify` each alert that can change its subject's status; recoveries of subjects that are
    not failing are dropped after one read of the state, so a healthy tick opens the file once."""
    alerts = list(alerts)
    if not alerts:
        return []
    known = current_status(warehouse) if any(a.status == "recovered" for a in alerts) else {}
    return [notify(warehouse, config, a) for a in alerts
            if a.status != "recovered" or known.get(a.subject, "ok") != "ok"]
