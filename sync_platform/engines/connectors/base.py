"""The one interface every system is reached through: discover, read changes, write.

- `discover()` lists each table's fields as the system itself describes them.
- `source(...)` is a dlt source whose resources read records changed since a cursor. dlt keeps
  the cursor in the warehouse, next to the data, so it only advances with a committed load.
  Pass `since` to read from an explicit cursor value instead (no state involved).
- `write(table, records)` upserts records and returns one `WriteResult` per record, in order.
- `delete(table, keys)` deletes records by the target's own ids (primary key values), one
  `WriteResult` per key, in order; a record that is already gone counts as deleted (idempotent).
- `probe(table)` is a cheap "did anything change?" marker of a table (one small request or
  query, never a full read); `can_probe(table)` tells whether the connector can make one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.pipeline import StateInjectableContext
from dlt.extract.source import DltSource
from dlt.pipeline.state_sync import default_pipeline_state

from sync_platform.engines.catalog.models import TableSpec

_NAMING = NamingConvention()


def normalized(name: str) -> str:
    """The column name dlt gives a source field (e.g. "Employee ID" -> employee_id, "Tier__c" -> tier__c)."""
    return _NAMING.normalize_path(name)


@dataclass(frozen=True)
class FieldInfo:
    name: str
    data_type: str  # the system's own type name (e.g. 'phone', 'VARCHAR', 'string')
    nullable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteResult:
    """What happened to one record of a write, in the order the records were given."""

    key: str  # the record's upsert key value
    ok: bool
    created: bool = False
    target_id: str | None = None
    error_class: str | None = None  # e.g. validation, too_large, rate_limited, server, network
    error: str | None = None
    transient: bool = False  # worth retrying later
    gone: bool = False  # a delete found the record already gone (still a success)


class ConnectorError(Exception):
    """A system could not be reached or answered in a way the connector cannot use."""


class Connector(ABC):
    """One system, reached through its kind's generic implementation."""

    def __init__(self, name: str, system: Any):
        self.name = name
        self.system = system

    @property
    def tables(self) -> dict[str, TableSpec]:
        return self.system.tables

    def table(self, table: str) -> TableSpec:
        try:
            return self.system.tables[table]
        except KeyError:
            raise ConnectorError(f"{self.name} has no table {table!r} in systems.yaml") from None

    def selected(self, tables: Sequence[str] | None) -> dict[str, TableSpec]:
        return {name: self.table(name) for name in (tables or self.system.tables)}

    @abstractmethod
    def discover(self) -> dict[str, list[FieldInfo]]:
        """Every table's fields as the system describes them now."""

    @abstractmethod
    def source(
        self, tables: Sequence[str] | None = None, since: Any = None, offline: bool = False
    ) -> DltSource:
        """A dlt source reading records changed since the cursor (one resource per table).

        `offline=True` builds the source without contacting the system (for asset specs).
        """

    @abstractmethod
    def write(self, table: str, records: Iterable[dict[str, Any]]) -> list[WriteResult]:
        """Upsert records by the table's external id field (or primary key)."""

    @abstractmethod
    def probe(self, table: str) -> str | None:
        """A short, deterministic marker of the table's latest change, None when it is empty.

        Two calls with no change in between return the same marker; an insert, update or
        delete that landing would pick up changes it. Costs one small request or query (the
        newest change cursor, a count, a file listing), never a full read. Raises when the
        system cannot be reached (`probe_system` turns that into an `error:` marker).
        """

    def can_probe(self, table: str) -> bool:
        """False when `probe` cannot see changes of this table (it then always answers None,
        and a freshness sensor should land the table on its schedule instead)."""
        return True

    def delete(self, table: str, keys: Iterable[Any]) -> list[WriteResult]:
        """Delete records by their primary key values (the target's own ids); one result per key,
        in order. Already gone (not found, deleted, archived) is a success with `gone=True`."""
        raise ConnectorError(f"{self.name} ({type(self).__name__}) cannot delete records")

    def read_changes(self, table: str, since: Any = None) -> list[dict[str, Any]]:
        """Records of one table changed since `since` (all when None), without touching state.

        An empty injected state keeps any active dlt pipeline's cursors out of it.
        """
        source = self.source([table], since=since)
        rows: list[dict[str, Any]] = []
        with Container().injectable_context(StateInjectableContext(state=default_pipeline_state())):
            for item in source.resources[table]:
                rows += item.to_pylist() if hasattr(item, "to_pylist") else [item]
        return rows
