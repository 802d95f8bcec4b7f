"""The generic REST connector: dlt's rest_api source configured by the system's preset."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dlt.extract.source import DltSource
from dlt.sources.rest_api import rest_api_source

from sync_platform.engines.catalog.models import RestSystem
from sync_platform.engines.connectors.base import Connector, FieldInfo, WriteResult
from sync_platform.engines.connectors.http import retrying_session
from sync_platform.engines.connectors.rest_presets import PRESETS


class RestConnector(Connector):
    system: RestSystem

    def __init__(self, name: str, system: RestSystem):
        super().__init__(name, system)
        self.preset = PRESETS[system.preset](system)

    def session(self):
        session = retrying_session(self.system.connection)
        session.headers.update(self.preset.client_headers())
        return session

    def discover(self) -> dict[str, list[FieldInfo]]:
        session = self.session()
        return {name: self.preset.describe(session, spec) for name, spec in self.tables.items()}

    def source(
        self, tables: Sequence[str] | None = None, since: Any = None, offline: bool = False
    ) -> DltSource:
        session = self.session()
        resources = []
        for name, spec in self.selected(tables).items():
            fields = None
            if self.preset.needs_fields() and not offline:
                fields = [f.name for f in self.preset.describe(session, spec)]
            for resource in self.preset.resources(name, spec, since, fields):
                resource.setdefault("primary_key", list(spec.primary_key))
                resource.setdefault("write_disposition", "merge")
                resources.append(resource)
        config = {
            "client": {"base_url": self.preset.base_url + "/", "session": session},
            "resources": resources,
        }
        return rest_api_source(config, name=self.name)

    def write(self, table: str, records: Iterable[dict[str, Any]]) -> list[WriteResult]:
        return self.preset.write(self.session(), self.table(table), list(records))

    def probe(self, table: str) -> str | None:
        """The preset's one-request change marker (see each preset's `probe`)."""
        return self.preset.probe(self.session(), self.table(table))

    def can_probe(self, table: str) -> bool:
        return self.preset.can_probe(self.table(table))

    def delete(self, table: str, keys: Iterable[Any]) -> list[WriteResult]:
        return self.preset.delete(self.session(), self.table(table), [str(k) for k in keys])
