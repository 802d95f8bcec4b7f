"""The platform runs itself, headless: the source-freshness sensor lands only what changed,
a quiet period launches nothing, and every timed flow has its schedule."""

from __future__ import annotations

from dagster import DagsterInstance, build_sensor_context

from sync_platform.defs import build_definitions


def tick(defs, instance, cursor):
    sensor = defs.resolve_sensor_def("source_freshness")
    with build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return sensor.evaluate_tick(context)


def systems_of(result) -> set[str]:
    return {r.tags["sync/system"] for r in result.run_requests}


def test_freshness_sensor_lands_only_what_changed(sandbox, catalog):
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    first = tick(defs, instance, None)  # nothing landed yet: every system once
    assert systems_of(first) == set(catalog.systems)
    crm = next(r for r in first.run_requests if r.tags["sync/system"] == "crm")
    assert {k.to_user_string() for k in crm.asset_selection} == {"raw_crm/accounts", "raw_crm/contacts"}
    assert defs.resolve_job_def("land_all").execute_in_process(instance=instance).success

    quiet = tick(defs, instance, first.cursor)  # nothing changed: no run
    assert not quiet.run_requests and quiet.skip_message == "no source changed"

    sandbox.mutate(edits=2, inserts=1, deletes=0, systems=["crm", "payroll"])
    changed = tick(defs, instance, quiet.cursor)
    assert systems_of(changed) == {"crm", "payroll"}
    again = tick(defs, instance, changed.cursor)  # the same change is not requested twice
    assert not again.run_requests

    sandbox.set_faults("marketing", down=True)  # a source that cannot be probed is skipped
    sandbox.mutate(edits=1, inserts=0, deletes=0, systems=["hr"])
    down = tick(defs, instance, again.cursor)
    assert systems_of(down) == {"hr"}
    sandbox.set_faults("marketing")
    assert not tick(defs, instance, down.cursor).run_requests  # marketing unchanged meanwhile


def test_every_timed_flow_has_a_schedule_and_automation_runs_by_default(catalog):
    defs = build_definitions()
    schedules = {s.name: s for s in defs.schedules}
    for flow in catalog.flows:
        if flow.timing.cron:
            schedule = schedules[f"flow_{flow.name}_schedule"]
            assert schedule.cron_schedule == flow.timing.cron
            assert schedule.default_status.value == "RUNNING"
            job = defs.resolve_job_def(f"flow_{flow.name}")
            keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
            assert f"raw_{flow.source}/{next(iter(catalog.systems[flow.source].tables))}" in keys
            assert f"push/{flow.entity}__{flow.target}" in keys  # through to the flow's target
    sensors = {s.name: s for s in defs.sensors}
    assert sensors["automation"].default_status.value == "RUNNING"
    assert sensors["source_freshness"].default_status.value == "RUNNING"
    golden = defs.resolve_asset_graph().get(next(k for k in defs.resolve_asset_graph().get_all_asset_keys()
                                                 if k.path == ["golden", "contact"]))
    assert "all_deps_blocking_checks_passed" in str(golden.automation_condition)


def test_automation_alone_carries_a_source_edit_to_the_target(sandbox, catalog):
    """No job names a step: the freshness sensor and automation ticks (as the daemon runs them)
    take a crm edit through landing, understanding, resolution and reconciliation to marketing."""
    import json
    import sqlite3
    from pathlib import Path

    from sync_platform.cli import ChangeFollower
    from sync_platform.engines.sandbox.store import RecordStore
    from sync_platform.instance import get_instance
    from sync_platform_tests.defs.landing_helpers import query

    defs = build_definitions()
    assert defs.resolve_job_def("sync").execute_in_process(instance=get_instance()).success
    follower = ChangeFollower()  # baseline ticks
    golden_id = query(catalog.warehouse_path, """SELECT golden_id FROM golden.contact_xref GROUP BY 1
        HAVING count(*) FILTER (WHERE source_system = 'crm') = 1
           AND count(*) FILTER (WHERE source_system = 'marketing') = 1 ORDER BY 1 LIMIT 1""")[0][0]
    root = Path(sandbox.root)
    store = RecordStore(root / "crm.sqlite")
    with store.transaction() as con:
        record = RecordStore.find(con, "Contact", "ext_key", golden_id, live=True)
        record.data["Phone"] = "+14155550142"
        RecordStore.update(con, record, RecordStore.next_timestamp(con, ["Contact"]))
    followed = follower.run(max_rounds=2)  # one freshness tick and one automation tick suffice
    assert [s for r, s in followed["landed"] if r == 0] == ["crm"]  # only the edited system
    assert ("push", "contact__marketing") in followed["materialized"]
    with sqlite3.connect(root / "marketing.sqlite") as con:
        data = con.execute("SELECT data FROM records WHERE object = 'contacts' AND ext_key = ? "
                           "AND deleted = 0", (golden_id,)).fetchall()
    assert [json.loads(d)["phone"] for (d,) in data] == ["+14155550142"]
