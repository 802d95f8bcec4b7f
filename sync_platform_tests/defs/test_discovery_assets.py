"""The discovery asset through real Dagster runs: baseline, then drift warns; hourly schedule."""

from __future__ import annotations

from dagster import AssetCheckSeverity, DagsterInstance, materialize

from sync_platform.defs import build_definitions
from sync_platform.defs.discovery.assets import SNAPSHOT_KEY


def _snapshot(defs, instance):
    assets = [defs.resolve_assets_def(SNAPSHOT_KEY)]
    return materialize(assets, instance=instance)  # resolved assets carry their resources


def test_drift_check_warns_after_a_new_field(sandbox):
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    first = _snapshot(defs, instance)
    [check] = first.get_asset_check_evaluations()
    assert check.passed

    sandbox.mutate(systems=["marketing"], edits=1, inserts=0, deletes=0, new_field="x_loyalty_tier")
    second = _snapshot(defs, instance)
    assert second.success  # drift warns, it does not break the run
    [check] = second.get_asset_check_evaluations()
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert "x_loyalty_tier" in check.metadata["changes"].value


def test_discovery_runs_hourly_by_default(mappings_dir, data_dir):
    schedule = build_definitions().resolve_schedule_def("schema_discovery")
    assert schedule.cron_schedule == "0 * * * *"
