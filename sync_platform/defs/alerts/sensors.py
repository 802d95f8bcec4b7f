"""Alert sensors: a failed run, a run that succeeded again, and the checks and quiet runs.

`alert_sensors(mappings_dir)` returns three sensors (running by default: alerting that must be
switched on is a silent failure). The warehouse and the `alerts:` config are read at every
evaluation, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from sync_platform.defs.alerts.health import (
    check_status_alerts,
    failure_alerts,
    quiet_run_alerts,
    recovery_alerts,
)
from sync_platform.engines.alerts import AlertsConfig, load_alerts_config, notify_all


@dataclass(frozen=True)
class AlertSettings:
    warehouse: Path
    config: AlertsConfig


def platform_settings(mappings_dir: Path | str | None = None) -> Callable[[], AlertSettings]:
    """Settings from `<mappings_dir>/systems.yaml`: the catalog's warehouse and `alerts:` section."""

    def read() -> AlertSettings:
        from sync_platform.engines.catalog import load_catalog

        catalog = load_catalog(mappings_dir, require_secrets=False)
        config = getattr(catalog, "alerts", None)
        if not isinstance(config, AlertsConfig):  # until the catalog model carries `alerts`
            config = load_alerts_config(mappings_dir)
        return AlertSettings(catalog.warehouse_path, config)

    return read


def _report(context, results) -> str:
    sent = [r for r in results if r.sent]
    for r in sent:
        failed = [f"{o.sink}[{o.index}]: {o.detail}" for o in r.outcomes if not o.ok]
        context.log.info(f"alert {r.subject} (was {r.previous}) sent"
                         + (f"; failed sinks: {'; '.join(failed)}" if failed else ""))
    return f"{len(sent)} alerts sent ({len(results)} status changes considered)"


def alert_sensors(mappings_dir: Path | str | None = None, *,
                  settings: Callable[[], AlertSettings] | None = None,
                  default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
                  health_interval_s: int = 60) -> list[SensorDefinition]:
    """[alert_on_run_failure, alert_on_run_success, alert_on_health] for Definitions(sensors=...)."""
    read = settings or platform_settings(mappings_dir)

    @run_failure_sensor(name="alert_on_run_failure", default_status=default_status,
                        description="A failed run alerts its systems / assets once (webhook, email, "
                        "log) with the error class and a link to the run.")
    def alert_on_run_failure(context: RunFailureSensorContext):
        s = read()
        error = getattr(context.failure_event.event_specific_data, "error", None)
        alerts = failure_alerts(context.instance, context.dagster_run, s.config, error)
        return SkipReason(_report(context, notify_all(s.warehouse, s.config, alerts)))

    @run_status_sensor(name="alert_on_run_success", run_status=DagsterRunStatus.SUCCESS,
                       default_status=default_status,
                       description="A successful run sends recovery notices for what was failing.")
    def alert_on_run_success(context: RunStatusSensorContext):
        s = read()
        alerts = recovery_alerts(context.instance, context.dagster_run, s.config, include_job=True)
        return SkipReason(_report(context, notify_all(s.warehouse, s.config, alerts)))

    @sensor(name="alert_on_health", minimum_interval_seconds=health_interval_s,
            default_status=default_status,
            description="Failed asset checks of the latest runs, tables that landed empty and pushes "
            "that sent nothing: alert on change, recover when healthy again.")
    def alert_on_health(context: SensorEvaluationContext):
        graph = context.repository_def.asset_graph
        s = read()
        alerts = [*check_status_alerts(context.instance, s.config, graph.asset_check_keys),
                  *quiet_run_alerts(context.instance, s.config, graph.materializable_asset_keys)]
        # the cursor remembers what was derived last tick: the warehouse is opened only on change
        seen = json.loads(context.cursor) if context.cursor else {}
        derived = {a.subject: a.status for a in alerts}
        changed = [a for a in alerts if seen.get(a.subject) != a.status]
        results = notify_all(s.warehouse, s.config, changed) if changed else []
        if all(r.delivered or not r.sent for r in results):
            context.update_cursor(json.dumps(derived, sort_keys=True))
        return SkipReason(_report(context, results))

    return [alert_on_run_failure, alert_on_run_success, alert_on_health]
