"""Land → profile → map → stage through real Dagster runs, then drift: a new field gets a
proposal, a removed mapped field pauses only its mapping and the rest keeps running."""

from __future__ import annotations

import sqlite3

from dagster import AssetCheckSeverity, DagsterInstance, materialize

from sync_platform.defs import build_definitions
from sync_platform.defs.discovery.assets import SNAPSHOT_KEY
from sync_platform.defs.staging.assets import staged_key
from sync_platform.engines.mapping import load_mappings
from sync_platform_tests.defs.landing_helpers import query


def _checks(result) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_understand_then_drift(sandbox, catalog, mappings_dir):
    instance = DagsterInstance.ephemeral()
    defs = build_definitions()
    first = defs.resolve_job_def("understand").execute_in_process(instance=instance)
    assert first.success
    warehouse = catalog.warehouse_path
    checks = _checks(first)
    assert checks["counts_reconcile"].passed and checks["mappings_active"].passed
    staged = dict(query(warehouse, "SELECT source_system, count(*) FROM staged.contact GROUP BY 1"))
    assert staged["crm"] > 50 and staged["marketing"] > 50
    assert query(warehouse, "SELECT count(*) FROM staged.employee")[0][0] > 0
    assert (mappings_dir / "crm" / "contact.yaml").is_file()
    customers = query(warehouse, "SELECT count(*) FROM staged.customer WHERE source_system = 'accounting'")[0][0]
    assert customers > 0

    # drift 1: a new custom field lands, is logged, and gets a proposal that is not auto-applied
    materialize([defs.resolve_assets_def(SNAPSHOT_KEY)], instance=instance)  # baseline snapshot
    sandbox.mutate(systems=["crm"], edits=3, inserts=0, deletes=0, new_field="x_loyalty_tier")
    assert defs.resolve_job_def("understand").execute_in_process(instance=instance).success
    assert query(warehouse, "SELECT count(*) FROM meta.schema_changes WHERE column_name = 'x_loyalty_tier__c' "
                            "AND change = 'added_column'")[0][0] >= 1
    proposed = query(warehouse, "SELECT status FROM meta.mapping_proposals "
                                "WHERE list_contains(source_fields, 'x_loyalty_tier__c')")
    assert proposed and "auto_applied" not in {s for (s,) in proposed}

    # drift 2: a mapped field disappears from accounting: only that mapping pauses
    with sqlite3.connect(sandbox.root / "accounting.sqlite") as db:
        db.execute("ALTER TABLE customers DROP COLUMN PrimaryPhone")
    drift = materialize([defs.resolve_assets_def(SNAPSHOT_KEY)], instance=instance)
    assert drift.success
    paused = {m.id: m for m in load_mappings(mappings_dir) if m.status == "paused"}
    assert set(paused) == {"accounting.customers__customer"}
    assert "primary_phone was removed" in paused["accounting.customers__customer"].status_reason

    after = defs.resolve_job_def("understand").execute_in_process(instance=instance)
    assert after.success  # the rest of the pipeline keeps running
    active = [e for e in after.get_asset_check_evaluations() if e.check_name == "mappings_active"][0]
    assert not active.passed and active.severity == AssetCheckSeverity.ERROR
    assert "primary_phone" in active.metadata["paused"].value
    staged = [e for e in after.get_asset_materialization_events() if e.materialization.asset_key == staged_key("customer")]
    assert "paused" in staged[0].materialization.metadata["skipped"].value
    assert query(warehouse, "SELECT count(*) FROM staged.customer WHERE source_system = 'accounting'")[0][0] == customers
    assert query(warehouse, "SELECT count(*) FROM staged.customer WHERE source_system = 'crm'")[0][0] > 0
    again = load_mappings(mappings_dir)  # a later automatic run did not unpause it
    assert {m.id for m in again if m.status == "paused"} == {"accounting.customers__customer"}
