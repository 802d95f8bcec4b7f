"""Connectors: one interface (discover, read changes since a cursor, write) for every system kind."""

from __future__ import annotations

from sync_platform.engines.catalog.models import Catalog, FilesSystem, RestSystem, SqlSystem
from sync_platform.engines.connectors.base import (
    Connector,
    ConnectorError,
    FieldInfo,
    WriteResult,
    normalized,
)
from sync_platform.engines.connectors.files import FilesConnector
from sync_platform.engines.connectors.rest import RestConnector
from sync_platform.engines.connectors.sql import SqlConnector, safe_url


def connector_for(catalog: Catalog, system: str) -> Connector:
    """The connector of one system of the catalog."""
    spec = catalog.systems[system]
    if isinstance(spec, RestSystem):
        return RestConnector(system, spec)
    if isinstance(spec, SqlSystem):
        return SqlConnector(system, spec)
    if isinstance(spec, FilesSystem):
        return FilesConnector(system, spec)
    raise TypeError(f"no connector for {type(spec).__name__}")


__all__ = [
    "Connector",
    "ConnectorError",
    "FieldInfo",
    "WriteResult",
    "connector_for",
    "normalized",
    "safe_url",
]
