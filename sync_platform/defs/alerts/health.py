"""Alerts read from Dagster's event log: failed runs, checks of the latest runs, quiet runs.

Each function turns what the instance recorded into `Alert`s; the engine decides whether a status
changed and sends (`notify_all`). Asset keys name the subject (`engines.alerts.model.locate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
)

# not exported at the top level in dagster 1.13; the record type itself is what the storage returns
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from sync_platform.engines.alerts import Alert, AlertsConfig, NotifyResult, notify_all
from sync_platform.engines.alerts.model import Where, error_class_of, key_string, locate, target_of

HISTORY = 50  # materializations looked back at to tell whether a table ever had rows


def _events(instance: DagsterInstance, run_id: str, kind: DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=kind).records
    return [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]


def _error(error, user_failure) -> tuple[str | None, str]:
    """(error class, message) of a step's error: innermost cause, the user's own words first."""
    chain, item = [], error
    while item is not None and len(chain) < 10:
        chain.append(item)
        item = item.cause
    error_class = error_class_of([e.cls_name for e in chain])
    if user_failure is not None and user_failure.description:
        return error_class, user_failure.description
    for e in reversed(chain):
        if e.cls_name == error_class:
            text = e.message.strip()
            return error_class, text.split(": ", 1)[1] if f"{e.cls_name}: " in text else text
    return error_class, chain[0].message.strip() if chain else ""


def failure_alerts(instance: DagsterInstance, run: DagsterRun, config: AlertsConfig,
                   failure_error=None) -> list[Alert]:
    """Failing alerts for the subjects of the failed steps of `run`, and recoveries for subjects
    the run materialized although it failed elsewhere."""
    planned: dict[str, list[AssetKey]] = {}
    for event in _events(instance, run.run_id, DagsterEventType.ASSET_MATERIALIZATION_PLANNED):
        planned.setdefault(event.step_key, []).append(event.event_specific_data.asset_key)
    alerts: dict[str, Alert] = {}
    url = config.run_url(run.run_id)
    for event in _events(instance, run.run_id, DagsterEventType.STEP_FAILURE):
        data = event.event_specific_data
        error_class, message = _error(data.error, data.user_failure_data)
        keys = planned.get(event.step_key, [])
        wheres = list(dict.fromkeys(locate(k.path) for k in keys)) or [Where(f"job:{run.job_name}")]
        shown = ", ".join(key_string(k.path) for k in keys[:5]) + (" ..." if len(keys) > 5 else "")
        text = f"run of {run.job_name} failed in step {event.step_key}" + (
            f" (assets {shown})" if shown else "") + f": {message}"
        for where in wheres:
            alerts.setdefault(where.subject, Alert(
                subject=where.subject, status="failing", system=where.system, flow=where.flow,
                error_class=error_class, message=text, run_id=run.run_id, run_url=url))
    if not alerts:  # the run failed outside any step (launch, crash, cancelled worker)
        error_class, message = _error(failure_error, None) if failure_error else ("RunFailure", "")
        alerts[f"job:{run.job_name}"] = Alert(
            subject=f"job:{run.job_name}", status="failing", error_class=error_class,
            message=f"run of {run.job_name} failed: {message}", run_id=run.run_id, run_url=url)
    failing = set(alerts)
    return [*alerts.values(), *[a for a in recovery_alerts(instance, run, config) if a.subject not in failing]]


def recovery_alerts(instance: DagsterInstance, run: DagsterRun, config: AlertsConfig,
                    include_job: bool = False) -> list[Alert]:
    """Recoveries for the subjects of every asset `run` materialized (and its job, if asked)."""
    keys = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    wheres = {locate(r.event_log_entry.dagster_event.event_specific_data.materialization.asset_key.path)
              for r in keys.records}
    if include_job:
        wheres.add(Where(f"job:{run.job_name}"))
    url = config.run_url(run.run_id)
    return [Alert(subject=w.subject, status="recovered", system=w.system, flow=w.flow,
                  message=f"{w.subject} is healthy again: run of {run.job_name} succeeded",
                  run_id=run.run_id, run_url=url)
            for w in sorted(wheres, key=lambda w: w.subject)]


def check_status_alerts(instance: DagsterInstance, config: AlertsConfig,
                        check_keys: Iterable[AssetCheckKey]) -> list[Alert]:
    """Latest evaluation of each check: failed (ERROR or WARN) -> failing, passed -> recovered."""
    keys = list(check_keys)
    if not keys:
        return []
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    alerts = []
    for key in sorted(latest, key=lambda k: (key_string(k.asset_key.path), k.name)):
        record = latest[key]
        if record.status == AssetCheckExecutionRecordStatus.PLANNED or record.event is None:
            continue  # running, or never ran because its step failed (the run alert covers it)
        evaluation = record.event.dagster_event.event_specific_data
        where = target_of(key.asset_key.path)
        subject = f"check:{key_string(key.asset_key.path)}:{key.name}"
        failed = record.status == AssetCheckExecutionRecordStatus.FAILED
        severity = "WARN" if evaluation.severity == AssetCheckSeverity.WARN else "ERROR"
        blocking = " blocking" if evaluation.blocking else ""
        message = (f"check {key.name} of {key_string(key.asset_key.path)} failed "
                   f"({severity}{blocking}): {evaluation.description or ''}" if failed
                   else f"check {key.name} of {key_string(key.asset_key.path)} passes again")
        alerts.append(Alert(subject=subject, status="failing" if failed else "recovered",
                            system=where.system, flow=where.flow,
                            error_class=f"check_failed:{key.name}" if failed else None,
                            message=message, run_id=record.run_id,
                            run_url=config.run_url(record.run_id)))
    return alerts


def _meta(record, name: str):
    entry = record.asset_materialization.metadata.get(name) if record.asset_materialization else None
    return getattr(entry, "value", entry)


def quiet_run_alerts(instance: DagsterInstance, config: AlertsConfig,
                     asset_keys: Iterable[AssetKey]) -> list[Alert]:
    """No silent failure: a landed table that had rows and landed empty, or a push that had
    changes and sent nothing (not a dry run), is a warning until a later run is healthy."""
    alerts = []
    for key in sorted(asset_keys, key=lambda k: key_string(k.path)):
        path, name = key.path, key_string(key.path)
        landing = len(path) == 2 and path[0].startswith("raw_") and config.warn_on_empty_landing
        push = len(path) == 2 and path[0] == "push" and config.warn_on_empty_push
        if not (landing or push):
            continue
        records = instance.fetch_materializations(key, limit=HISTORY if landing else 1).records
        if not records:
            continue
        latest, where = records[0], target_of(path)
        status, message = "recovered", f"{name} is healthy again"
        if landing:
            rows = _meta(latest, "dagster/row_count")
            if rows == 0 and any((_meta(r, "dagster/row_count") or 0) > 0 for r in records[1:]):
                status, message = "warning", (f"{name} landed with 0 rows although earlier runs had "
                                              "rows: the source returned nothing, check it")
        else:
            if _meta(latest, "dry_run"):
                continue
            changes, requests = _meta(latest, "dagster/row_count"), _meta(latest, "requests")
            if (changes or 0) > 0 and requests == 0:
                status, message = "warning", (
                    f"{name} had {changes} changes to push but sent 0 requests "
                    f"(blocked for approval: {_meta(latest, 'blocked_for_approval') or 0}, "
                    f"dead lettered: {_meta(latest, 'dead_lettered') or 0})")
        alerts.append(Alert(subject=f"silent:{name}", status=status, system=where.system,
                            flow=where.flow, error_class="quiet_run" if status == "warning" else None,
                            message=message, run_id=latest.run_id,
                            run_url=config.run_url(latest.run_id)))
    return alerts


def check_alerts(instance: DagsterInstance, warehouse: Path | str, config: AlertsConfig,
                 check_keys: Iterable[AssetCheckKey] = (),
                 asset_keys: Iterable[AssetKey] | None = None) -> list[NotifyResult]:
    """Health from the latest evaluations of `check_keys` and the latest materializations of
    `asset_keys` (default: every asset the instance knows), sent on status changes."""
    keys = instance.get_asset_keys() if asset_keys is None else asset_keys
    alerts = [*check_status_alerts(instance, config, check_keys), *quiet_run_alerts(instance, config, keys)]
    return notify_all(warehouse, config, alerts)
