"""Alert sensors on a real (temporary) Dagster instance: a failed run alerts once with its run
link, a repeat failure is quiet, a successful run recovers; failed checks and quiet runs (a table
that landed empty, a push that sent nothing) alert from the health sensor and recover."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster import build_run_status_sensor_context, build_sensor_context, instance_for_test

from sync_platform.defs.alerts import AlertSettings, alert_sensors, check_alerts
from sync_platform.engines.alerts import alerts_config, current_status
from sync_platform_tests.engines.alerts.receivers import SmtpReceiver, WebhookReceiver

WORLD = {"fail": False, "rows": 5, "changes": 0, "requests": 0, "dry_run": False, "verified": True}


class CrmUnavailable(Exception):
    pass


@dg.asset(key=["raw_crm", "contacts"])
def contacts():
    if WORLD["fail"]:
        raise CrmUnavailable("crm answered 503 to token=abcdef123456")
    return dg.MaterializeResult(metadata={"dagster/row_count": WORLD["rows"],
                                          "rows_landed_this_run": WORLD["rows"]})


@dg.asset(key=["push", "contact__crm"], check_specs=[
    dg.AssetCheckSpec("verified", asset=dg.AssetKey(["push", "contact__crm"]))])
def push_contacts():
    yield dg.MaterializeResult(metadata={"dagster/row_count": WORLD["changes"],
                                         "requests": WORLD["requests"], "dry_run": WORLD["dry_run"]})
    yield dg.AssetCheckResult(check_name="verified", passed=WORLD["verified"],
                              severity=dg.AssetCheckSeverity.WARN,
                              description="2 records still differ, 0 of them known rejects")


@pytest.fixture
def world():
    saved = dict(WORLD)
    yield WORLD
    WORLD.clear()
    WORLD.update(saved)


@pytest.fixture
def setup(tmp_path, world):
    with WebhookReceiver() as hook, SmtpReceiver() as smtp, instance_for_test() as instance:
        config = alerts_config({"alerts": {"dagster_url": "http://dagster.test:3000", "sinks": [
            {"type": "webhook", "url": hook.url, "backoff_s": 0},
            {"type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "p@test.org",
             "to": ["ops@test.org"]}]}})
        settings = AlertSettings(tmp_path / "warehouse.duckdb", config)
        sensors = alert_sensors(settings=lambda: settings)
        defs = dg.Definitions(
            assets=[contacts, push_contacts], sensors=sensors,
            jobs=[dg.define_asset_job("land_crm", selection=[contacts]),
                  dg.define_asset_job("push_crm", selection=dg.AssetSelection.assets(push_contacts)
                                      | dg.AssetSelection.checks_for_assets(push_contacts))])
        yield {"hook": hook, "smtp": smtp, "instance": instance, "defs": defs, "settings": settings}


def run(setup, job: str):
    return setup["defs"].get_job_def(job).execute_in_process(instance=setup["instance"],
                                                             raise_on_error=False)


def on_status(setup, sensor_name: str, result) -> None:
    event = result.get_run_failure_event() if not result.success else result.get_run_success_event()
    context = build_run_status_sensor_context(
        sensor_name=sensor_name, dagster_event=event, dagster_instance=setup["instance"],
        dagster_run=result.dagster_run)
    setup["defs"].get_sensor_def(sensor_name)(context)


def test_failed_run_alerts_once_and_recovers(setup, world):
    hook, smtp = setup["hook"], setup["smtp"]
    world["fail"] = True
    failed = run(setup, "land_crm")
    assert not failed.success
    on_status(setup, "alert_on_run_failure", failed)

    assert len(hook.bodies) == 1 and len(smtp.messages) == 1
    alert = hook.bodies[0]
    link = f"http://dagster.test:3000/runs/{failed.run_id}"
    assert (alert["subject"], alert["status"], alert["system"], alert["error_class"]) == (
        "system:crm", "failing", "crm", "CrmUnavailable")
    assert alert["run_url"] == link and link in alert["text"]
    assert "raw_crm/contacts" in alert["message"] and "crm answered 503" in alert["message"]
    assert "abcdef123456" not in alert["message"]  # the secret in the error is masked
    assert link in smtp.bodies()[0] and "CrmUnavailable" in smtp.messages[0]["Subject"]

    again = run(setup, "land_crm")  # a repeat failure: no second alert
    on_status(setup, "alert_on_run_failure", again)
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1

    world["fail"] = False
    ok = run(setup, "land_crm")
    assert ok.success
    on_status(setup, "alert_on_run_success", ok)
    assert [b["status"] for b in hook.bodies] == ["failing", "recovered"]
    assert hook.bodies[1]["subject"] == "system:crm"
    assert hook.bodies[1]["run_url"] == f"http://dagster.test:3000/runs/{ok.run_id}"
    assert len(smtp.messages) == 2 and "RECOVERED" in smtp.messages[1]["Subject"]

    on_status(setup, "alert_on_run_success", run(setup, "land_crm"))  # healthy stays quiet
    assert len(hook.bodies) == 2


def test_checks_and_quiet_runs_alert_from_the_health_sensor(setup, world):
    hook, instance, defs = setup["hook"], setup["instance"], setup["defs"]
    health = defs.get_sensor_def("alert_on_health")

    def evaluate(cursor=None):
        context = build_sensor_context(instance=instance, definitions=defs, cursor=cursor)
        health(context)
        return context.cursor

    assert run(setup, "land_crm").success  # 5 rows
    world.update(changes=3, requests=0, verified=False)
    pushed = run(setup, "push_crm")
    cursor = evaluate()
    by_subject = {b["subject"]: b for b in hook.bodies}
    assert set(by_subject) == {"check:push/contact__crm:verified", "silent:push/contact__crm"}
    check = by_subject["check:push/contact__crm:verified"]
    assert (check["status"], check["system"], check["flow"], check["error_class"]) == (
        "failing", "crm", "contact__crm", "check_failed:verified")
    assert check["run_url"] == f"http://dagster.test:3000/runs/{pushed.run_id}"
    quiet = by_subject["silent:push/contact__crm"]
    assert quiet["status"] == "warning" and "3 changes to push but sent 0 requests" in quiet["message"]

    assert evaluate(cursor) == cursor and len(hook.bodies) == 2  # nothing new: nothing sent

    world["rows"] = 0  # the table had 5 rows and now landed empty
    assert run(setup, "land_crm").success
    cursor = evaluate(cursor)
    assert hook.bodies[-1]["subject"] == "silent:raw_crm/contacts"
    assert hook.bodies[-1]["status"] == "warning" and len(hook.bodies) == 3

    world.update(rows=4, changes=3, requests=3, verified=True)
    assert run(setup, "land_crm").success and run(setup, "push_crm").success
    evaluate(cursor)
    recovered = {b["subject"] for b in hook.bodies[3:] if b["status"] == "recovered"}
    assert recovered == {"check:push/contact__crm:verified", "silent:push/contact__crm",
                         "silent:raw_crm/contacts"}
    assert len(hook.bodies) == 6
    assert set(current_status(setup["settings"].warehouse).values()) == {"ok"}


def test_dry_runs_and_empty_change_sets_are_not_quiet_failures(setup, world):
    world.update(changes=4, requests=0, dry_run=True)
    assert run(setup, "push_crm").success
    world.update(dry_run=False)
    s = setup["settings"]
    keys = [dg.AssetKey(["push", "contact__crm"])]
    assert [r.subject for r in check_alerts(setup["instance"], s.warehouse, s.config,
                                            asset_keys=keys)] == []
    world.update(changes=0)
    assert run(setup, "push_crm").success
    assert check_alerts(setup["instance"], s.warehouse, s.config, asset_keys=keys) == []
    assert setup["hook"].bodies == []
