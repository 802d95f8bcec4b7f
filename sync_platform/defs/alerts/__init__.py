"""Alert wiring: run failure / success sensors and the health sensor (checks, quiet runs).

The lead adds `alert_sensors(mappings_dir)` to the Definitions' sensors; the logic lives in
`engines/alerts` (sending, state) and `health.py` (reading Dagster's event log).
"""

from sync_platform.defs.alerts.health import check_alerts
from sync_platform.defs.alerts.sensors import AlertSettings, alert_sensors, platform_settings

__all__ = ["AlertSettings", "alert_sensors", "check_alerts", "platform_settings"]
