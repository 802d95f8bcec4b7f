"""The `alerts:` section of `systems.yaml`: where alerts go and which quiet runs are warnings.

```yaml
alerts:
  dagster_url: http://dagster.internal:3000   # run links are <dagster_url>/runs/<run_id>
  warn_on_empty_landing: true                  # a table that had rows landed empty -> warning
  warn_on_empty_push: true                     # changes to push but no request sent -> warning
  sinks:
    - type: webhook
      url_env: ALERT_WEBHOOK_URL               # or url: https://... (no secret in it)
      headers_env: ALERT_WEBHOOK_HEADERS       # optional: a JSON object of headers
      timeout_s: 10
    - type: email
      host: smtp.example.org
      port: 587
      from: sync-platform@example.org
      to: [data-ops@example.org]
      username_env: SMTP_USERNAME
      password_env: SMTP_PASSWORD
      starttls: true
    - type: log
```

Without an `alerts:` section alerts go to the log only. Secrets are environment variable *names*,
as everywhere in the catalog; their values are read when an alert is sent. Validation is strict
and every problem is reported as `file: alerts.path.in.file: what is wrong`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync_platform import settings
from sync_platform.engines.catalog.alerts import (
    SINK_TYPES,
    AlertsConfig,
    EmailSink,
    LogSink,
    Sink,
    WebhookSink,
)
from sync_platform.engines.catalog.errors import CatalogError
from sync_platform.engines.catalog.interpolation import interpolate_tree

__all__ = ["SINK_TYPES", "AlertsConfig", "EmailSink", "LogSink", "Sink", "WebhookSink", "alerts_config",
           "load_alerts_config"]


def _location(loc: tuple) -> str:
    from sync_platform.engines.catalog.loader import (
        _format_location,  # the catalog loads this module
    )

    # drop the discriminator tags pydantic inserts (sinks[0].webhook.url -> sinks[0].url)
    kept = tuple(p for i, p in enumerate(loc)
                 if not (p in SINK_TYPES and i > 0 and isinstance(loc[i - 1], int)))
    return _format_location(("alerts", *kept))


def alerts_config(catalog_file_data: dict | None, file: Path | str = "systems.yaml") -> AlertsConfig:
    """The `alerts:` section of a parsed systems.yaml (`${VAR}` resolved), or the defaults.

    Problems raise `CatalogError` naming `file` and `alerts.<field>`, all at once.
    """
    from sync_platform.engines.catalog.loader import _describe
    raw: Any = (catalog_file_data or {}).get("alerts") if isinstance(catalog_file_data, dict) else None
    if raw is None:
        return AlertsConfig()
    if not isinstance(raw, dict):
        raise CatalogError(file, [("alerts", "expected a mapping")])
    variables = {**settings.builtin_variables(), **os.environ}
    data, problems = interpolate_tree(raw, variables, "alerts")
    if problems:
        raise CatalogError(file, problems)
    try:
        return AlertsConfig.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(file, [(_location(e["loc"]), _describe(e)) for e in exc.errors()]) from None


def load_alerts_config(mappings_dir: Path | str | None = None) -> AlertsConfig:
    """`alerts_config` of `<mappings_dir>/systems.yaml` (default: the configured mappings folder);
    a missing file means the defaults (log only)."""
    folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    file = folder / "systems.yaml"
    if not file.is_file():
        return AlertsConfig()
    from sync_platform.engines.catalog.loader import read_yaml

    data = read_yaml(file)
    return alerts_config(data if isinstance(data, dict) else None, file)
