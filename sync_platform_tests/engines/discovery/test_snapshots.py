"""Schema snapshots of the live sandbox systems, drift rows, and pausing only affected mappings."""

from __future__ import annotations

import sqlite3

from sync_platform.engines.canonical import FieldRule, SystemMapping
from sync_platform.engines.discovery import mapping_impacts, pause_impacted, snapshot_systems
from sync_platform_tests.defs.landing_helpers import query


def _mapping(table: str, source: str, target: str, system: str = "accounting") -> SystemMapping:
    return SystemMapping(
        id=SystemMapping.make_id(system, table, "customer"), source_system=system, source_table=table,
        entity_type="customer", status="auto_applied",
        mapping_rules=[FieldRule(sources=[source], targets=[target], confidence=0.99, status="auto_applied")],
    )


def test_snapshots_version_and_detect_added_and_removed_fields(sandbox, catalog):
    warehouse = catalog.warehouse_path
    first = snapshot_systems(warehouse, catalog)
    assert set(first.versions.values()) == {1} and not first.changes and not first.unreachable
    assert first.fields["crm"] > 20 and first.fields["hr"] >= 9

    sandbox.mutate(systems=["crm"], edits=1, inserts=0, deletes=0, new_field="x_loyalty_tier")
    with sqlite3.connect(sandbox.root / "accounting.sqlite") as db:
        db.execute("ALTER TABLE customers DROP COLUMN PrimaryPhone")
    second = snapshot_systems(warehouse, catalog)
    assert second.versions["crm"] == 2
    changes = {(c.system, c.table_name, c.column_name, c.change) for c in second.changes}
    assert ("crm", "accounts", "x_loyalty_tier__c", "added_column") in changes
    assert ("accounting", "customers", "primary_phone", "removed_column") in changes
    logged = query(warehouse, "SELECT count(*) FROM meta.schema_changes WHERE source = 'discovery'")[0][0]
    assert logged == len(second.changes)

    uses_phone = _mapping("customers", "primary_phone", "phone")
    unaffected = _mapping("invoices", "doc_number", "invoice_number")
    impacts = mapping_impacts(second.changes, [uses_phone, unaffected])
    assert [i.mapping_id for i in impacts] == [uses_phone.id]
    paused = {m.id: m for m in pause_impacted([uses_phone, unaffected], impacts)}
    assert paused[uses_phone.id].status == "paused"
    assert "primary_phone was removed" in paused[uses_phone.id].status_reason
    assert paused[unaffected.id].status == "auto_applied"


def test_unreachable_system_is_reported_not_drift(sandbox, catalog):
    snapshot_systems(catalog.warehouse_path, catalog, ["crm"])
    sandbox.set_faults("crm", down=True)
    result = snapshot_systems(catalog.warehouse_path, catalog, ["crm"])
    assert "crm" in result.unreachable and not result.changes and "crm" not in result.versions
