"""Golden records through a real Dagster run: resolution, survivorship, blocking gates, and
stable golden ids when nothing changed."""

from __future__ import annotations

from dagster import DagsterInstance

from sync_platform.defs import build_definitions
from sync_platform_tests.defs.landing_helpers import query


def test_resolve_job_builds_gated_golden_records(sandbox, catalog):
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def("resolve")
    first = job.execute_in_process(instance=instance)
    assert first.success
    gates = [e for e in first.get_asset_check_evaluations() if e.asset_key.path[0] == "golden"]
    # 5 gates for each of contact, customer, employee (matched) and inventory (keyed)
    assert len(gates) == 20 and all(g.passed for g in gates), [(g.check_name, g.description) for g in gates]
    warehouse = catalog.warehouse_path
    golden, staged = query(warehouse, "SELECT (SELECT count(*) FROM golden.contact), (SELECT count(*) FROM staged.contact)")[0]
    assert 0 < golden < staged  # duplicates across and within systems were merged
    lineage = query(warehouse, "SELECT count(DISTINCT golden_id) FROM golden.contact_lineage")[0][0]
    assert lineage == golden
    metadata = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
                for e in first.get_asset_materialization_events()}
    assert "records per golden id" in metadata["golden/contact"]["cluster_sizes"].value

    before = dict(query(warehouse, "SELECT source_system || ':' || source_id, golden_id FROM golden.contact_xref"))
    assert job.execute_in_process(instance=instance).success
    after = dict(query(warehouse, "SELECT source_system || ':' || source_id, golden_id FROM golden.contact_xref"))
    assert after == before  # nothing changed: every golden id kept
    second = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
              for e in job.execute_in_process(instance=instance).get_asset_materialization_events()}
    assert second["golden/contact"]["mode"].value == "incremental"

    rebuilt = job.execute_in_process(instance=instance, run_config={"ops": {
        "golden__contact": {"config": {"full_rebuild": True}}}})
    metadata = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
                for e in rebuilt.get_asset_materialization_events()}
    assert metadata["golden/contact"]["mode"].value == "full"
    assert dict(query(warehouse, "SELECT source_system || ':' || source_id, golden_id "
                                 "FROM golden.contact_xref")) == before
