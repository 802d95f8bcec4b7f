"""Cheap change probes of a whole system, for a source-freshness sensor.

`probe_system(catalog, system)` asks each table of a system for its change marker
(`Connector.probe`: one small request or query per table) and never raises for a system that
is down: a table whose probe fails gets the marker "error:<ExceptionClass>", which differs
from every real marker, so the sensor can report it (and sees a change once it recovers).
"""

from __future__ import annotations

import logging

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors import connector_for

log = logging.getLogger(__name__)

ERROR_PREFIX = "error:"


def is_error(marker: str | None) -> bool:
    """True for the marker of a probe that failed."""
    return marker is not None and marker.startswith(ERROR_PREFIX)


def probe_system(catalog: Catalog, system: str) -> dict[str, str | None]:
    """table -> change marker (None: empty, or a table the connector cannot probe; see
    `Connector.can_probe`), with "error:<ExceptionClass>" for a table whose probe failed."""
    connector = connector_for(catalog, system)
    markers: dict[str, str | None] = {}
    for table in connector.tables:
        try:
            markers[table] = connector.probe(table)
        except Exception as exc:  # a down or misconfigured source must not stop the sensor
            log.warning("probe of %s.%s failed: %s: %s", system, table, type(exc).__name__, exc)
            markers[table] = f"{ERROR_PREFIX}{type(exc).__name__}"
    return markers
