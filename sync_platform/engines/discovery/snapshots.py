"""Take a schema snapshot of every connected system, as the systems describe themselves.

Each run stores version N+1 of every system's schema in `meta.schema_snapshots` (one row per
field) and compares it with version N: added / removed / retyped fields become rows of
`meta.schema_changes` (source 'discovery'). A system that cannot be reached is reported, and
its previous snapshot stays the reference: an outage is not a schema change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors import ConnectorError, connector_for, normalized
from sync_platform.engines.landing.schema_log import DDL as SCHEMA_LOG_DDL
from sync_platform.engines.landing.schema_log import SchemaChange
from sync_platform.engines.warehouse import connect

DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.schema_snapshots (
    system VARCHAR, version INTEGER, taken_at TIMESTAMPTZ, table_name VARCHAR,
    field_name VARCHAR, column_name VARCHAR, data_type VARCHAR, nullable BOOLEAN);
"""


@dataclass
class SnapshotResult:
    versions: dict[str, int] = field(default_factory=dict)  # system -> version stored
    fields: dict[str, int] = field(default_factory=dict)  # system -> fields seen
    changes: list[SchemaChange] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # system -> reason


def _rows(catalog: Catalog, system: str) -> list[tuple]:
    found = connector_for(catalog, system).discover()
    return [
        (table, info.name, normalized(info.name), info.data_type, info.nullable)
        for table, infos in found.items()
        for info in infos
    ]


def snapshot_systems(warehouse: Path, catalog: Catalog, systems: list[str] | None = None) -> SnapshotResult:
    """Snapshot the named systems (default: all) and log the differences to the last snapshot."""
    result = SnapshotResult()
    discovered: dict[str, list[tuple]] = {}
    for system in systems or list(catalog.systems):
        try:
            discovered[system] = _rows(catalog, system)
        except (ConnectorError, OSError) as exc:
            result.unreachable[system] = str(exc)
        except Exception as exc:  # a system answering nonsense must not stop the others
            result.unreachable[system] = f"{type(exc).__name__}: {exc}"
    with connect(warehouse) as con:
        con.execute(DDL + SCHEMA_LOG_DDL)
        for system, rows in discovered.items():
            previous = con.execute(
                "SELECT coalesce(max(version), 0) FROM meta.schema_snapshots WHERE system = ?", [system]
            ).fetchall()[0][0]
            version = previous + 1
            con.executemany(
                "INSERT INTO meta.schema_snapshots VALUES (?, ?, now(), ?, ?, ?, ?, ?)",
                [[system, version, *row] for row in rows],
            )
            result.versions[system] = version
            result.fields[system] = len(rows)
            if previous == 0:
                continue  # the first snapshot is the baseline, not drift
            changes = con.execute(
                """
                WITH old AS (SELECT * FROM meta.schema_snapshots WHERE system = $1 AND version = $2),
                     new AS (SELECT * FROM meta.schema_snapshots WHERE system = $1 AND version = $3)
                SELECT coalesce(new.table_name, old.table_name), coalesce(new.column_name, old.column_name),
                       CASE WHEN old.column_name IS NULL THEN 'added_column'
                            WHEN new.column_name IS NULL THEN 'removed_column'
                            ELSE 'retyped_column' END,
                       old.data_type, new.data_type
                FROM old FULL OUTER JOIN new
                  ON old.table_name = new.table_name AND old.column_name = new.column_name
                WHERE old.column_name IS NULL OR new.column_name IS NULL OR old.data_type <> new.data_type
                ORDER BY 1, 2
                """,
                [system, previous, version],
            ).fetchall()
            if changes:
                con.executemany(
                    "INSERT INTO meta.schema_changes VALUES (now(), ?, ?, ?, ?, ?, ?, ?, 'discovery')",
                    [[system, *row, f"snapshot v{version}"] for row in changes],
                )
            result.changes += [SchemaChange(system, *row) for row in changes]
    return result
