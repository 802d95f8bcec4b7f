"""Alerting: status changes of systems, flows, assets and checks sent to webhooks, email and logs.

Plain Python (no Dagster): `notify(warehouse, config, alert)` sends an `Alert` to the sinks of an
`AlertsConfig` only when its subject's status changes (state in `ops.alert_state`, every delivery
in `ops.alert_log`); `alerts_config(raw_systems_yaml)` reads the `alerts:` section.
"""

from sync_platform.engines.alerts.config import (
    AlertsConfig,
    EmailSink,
    LogSink,
    WebhookSink,
    alerts_config,
    load_alerts_config,
)
from sync_platform.engines.alerts.model import Alert, Where, error_class_of, locate, target_of
from sync_platform.engines.alerts.sinks import Outcome, deliver
from sync_platform.engines.alerts.state import (
    NotifyResult,
    current_status,
    failing_subjects,
    notify,
    notify_all,
)

__all__ = [
    "Alert",
    "AlertsConfig",
    "EmailSink",
    "LogSink",
    "NotifyResult",
    "Outcome",
    "WebhookSink",
    "Where",
    "alerts_config",
    "current_status",
    "deliver",
    "error_class_of",
    "failing_subjects",
    "load_alerts_config",
    "locate",
    "notify",
    "notify_all",
    "target_of",
]
