"""Landed tables and their key columns under the names they have in the warehouse."""

from __future__ import annotations

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors.base import normalized


def landed_tables(catalog: Catalog, system: str) -> list[str]:
    """A system's landed tables, including the hubspot preset's `<table>_archived` tombstones."""
    tables = list(catalog.systems[system].tables)
    if getattr(catalog.systems[system], "preset", None) == "hubspot":
        tables += [f"{table}_archived" for table in catalog.systems[system].tables]
    return tables


def landed_keys(catalog: Catalog) -> dict[tuple[str, str], list[str]]:
    """(system, landed table) -> primary key columns as landed (e.g. 'Employee ID' -> employee_id)."""
    keys = {}
    for system, spec in catalog.systems.items():
        for table in landed_tables(catalog, system):
            declared = spec.tables[table.removesuffix("_archived")]
            keys[(system, table)] = [normalized(column) for column in declared.primary_key]
    return keys


def landed_external_ids(catalog: Catalog) -> dict[tuple[str, str], str]:
    """(system, landed table) -> the column holding the id the platform writes back (its golden
    id), for tables that declare `external_id_field`."""
    ids = {}
    for system, spec in catalog.systems.items():
        for table in landed_tables(catalog, system):
            declared = spec.tables[table.removesuffix("_archived")]
            if declared.external_id_field:
                ids[(system, table)] = normalized(declared.external_id_field)
    return ids
