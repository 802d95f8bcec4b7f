"""Alerts engine: one alert per status change to a real local webhook and SMTP server, recovery
notices, a failing sink that does not stop the others, secrets masked, strict config."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.alerts import (
    Alert,
    AlertsConfig,
    alerts_config,
    current_status,
    load_alerts_config,
    locate,
    notify,
    notify_all,
)
from sync_platform.engines.alerts.model import error_class_of
from sync_platform.engines.catalog.errors import CatalogError
from sync_platform_tests.engines.alerts.receivers import SmtpReceiver, WebhookReceiver

RUN = "0b1c2d3e-run"


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp():
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def make_config(hook: WebhookReceiver, smtp: SmtpReceiver, **extra) -> AlertsConfig:
    return alerts_config({"alerts": {
        "dagster_url": "http://dagster.test:3000/",
        "sinks": [
            {"type": "webhook", "url": hook.url, "timeout_s": 5, "backoff_s": 0},
            {"type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "platform@test.org",
             "to": ["ops@test.org", "oncall@test.org"]},
            {"type": "log"},
        ],
        **extra,
    }})


def failing(**kw) -> Alert:
    values = {"subject": "flow:contact__crm", "status": "failing", "system": "crm",
              "flow": "contact__crm", "error_class": "ConnectionError",
              "message": "crm refused the connection", "run_id": RUN}
    return Alert(**{**values, **kw})


def log_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT subject, status, sink, outcome, attempts, detail "
                           "FROM ops.alert_log ORDER BY sent_at, sink_index").fetchall()


def test_failure_repeat_and_recovery(hook, smtp, warehouse, caplog):
    config = make_config(hook, smtp)
    caplog.set_level(logging.INFO, logger="sync_platform.alerts")

    first = notify(warehouse, config, failing())
    assert first.sent and first.previous == "ok" and all(o.ok for o in first.outcomes)
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1
    body = hook.bodies[0]
    assert (body["status"], body["system"], body["flow"], body["error_class"]) == (
        "failing", "crm", "contact__crm", "ConnectionError")
    assert body["run_url"] == f"http://dagster.test:3000/runs/{RUN}"
    assert f"http://dagster.test:3000/runs/{RUN}" in body["text"]
    mail = smtp.messages[0]
    assert mail["To"] == "ops@test.org, oncall@test.org"
    assert "FAILING" in mail["Subject"] and "ConnectionError" in mail["Subject"]
    text = smtp.bodies()[0]
    for expected in ("system: crm", "flow: contact__crm", "error class: ConnectionError",
                     f"run link: http://dagster.test:3000/runs/{RUN}"):
        assert expected in text
    assert any("FAILING flow:contact__crm" in r.getMessage() for r in caplog.records)

    # the same failure again (a later run): no second alert anywhere
    again = notify(warehouse, config, failing(run_id="second-run"))
    assert not again.sent and again.previous == "failing"
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1
    assert current_status(warehouse) == {"flow:contact__crm": "failing"}

    # healthy again: one recovery notice on every sink
    recovered = notify(warehouse, config, failing(status="recovered", error_class=None,
                                                  message="healthy again", run_id="third-run"))
    assert recovered.sent and recovered.previous == "failing"
    assert [b["status"] for b in hook.bodies] == ["failing", "recovered"]
    assert len(smtp.messages) == 2 and "RECOVERED" in smtp.messages[1]["Subject"]
    assert "third-run" in hook.bodies[1]["run_url"]

    # ok -> recovered: nothing; ok -> failing again: a new alert
    assert not notify(warehouse, config, failing(status="recovered")).sent
    assert notify(warehouse, config, failing()).sent
    assert len(hook.bodies) == 3

    rows = log_rows(warehouse)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("failing", "webhook", "sent"), ("failing", "email", "sent"), ("failing", "log", "sent"),
        ("recovered", "webhook", "sent"), ("recovered", "email", "sent"), ("recovered", "log", "sent"),
        ("failing", "webhook", "sent"), ("failing", "email", "sent"), ("failing", "log", "sent")]


def test_status_transitions_between_warning_and_failing(hook, smtp, warehouse):
    config = make_config(hook, smtp)
    assert notify(warehouse, config, failing(status="warning")).sent
    assert not notify(warehouse, config, failing(status="warning")).sent
    assert notify(warehouse, config, failing()).sent  # warning -> failing is news
    assert notify(warehouse, config, failing(status="recovered")).sent
    assert [b["status"] for b in hook.bodies] == ["warning", "failing", "recovered"]


def test_a_failing_sink_does_not_stop_the_others(hook, smtp, warehouse):
    with WebhookReceiver() as closed:
        dead_url = closed.url
    config = alerts_config({"alerts": {"sinks": [
        {"type": "webhook", "url": dead_url, "timeout_s": 2, "max_attempts": 2, "backoff_s": 0},
        {"type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "a@test.org",
         "to": ["b@test.org"]},
        {"type": "webhook", "url": hook.url, "backoff_s": 0},
    ]}})
    result = notify(warehouse, config, failing())
    assert [o.ok for o in result.outcomes] == [False, True, True]
    assert len(smtp.messages) == 1 and len(hook.bodies) == 1
    rows = log_rows(warehouse)
    assert [(r[2], r[3]) for r in rows] == [("webhook", "failed"), ("email", "sent"), ("webhook", "sent")]
    assert "ConnectionError after 2 attempts" in rows[0][5]
    assert "/hooks/alerts" not in rows[0][5]  # a webhook's path (often its token) is never logged
    # someone heard it: the status change is recorded, the repeat is quiet
    assert not notify(warehouse, config, failing()).sent


def test_when_every_sink_fails_the_next_evaluation_tries_again(hook, warehouse):
    config = alerts_config({"alerts": {"sinks": [
        {"type": "webhook", "url": hook.url, "max_attempts": 2, "backoff_s": 0}]}})
    hook.fail_with = [503, 503]
    first = notify(warehouse, config, failing())
    assert first.sent and not first.delivered and hook.attempts == 2
    assert current_status(warehouse) == {}
    second = notify(warehouse, config, failing())
    assert second.delivered and len(hook.bodies) == 1
    assert current_status(warehouse) == {"flow:contact__crm": "failing"}


def test_webhook_retries_5xx_but_not_4xx(hook, warehouse):
    config = alerts_config({"alerts": {"sinks": [
        {"type": "webhook", "url": hook.url, "max_attempts": 3, "backoff_s": 0}]}})
    hook.fail_with = [502]
    result = notify(warehouse, config, failing())
    assert result.outcomes[0].ok and result.outcomes[0].attempts == 2
    hook.fail_with = [400]
    bad = notify(warehouse, config, failing(subject="system:hr"))
    assert not bad.outcomes[0].ok and "HTTP 400" in bad.outcomes[0].detail
    assert hook.attempts == 3  # 502, 200, 400: no retry on a client error


def test_secrets_are_masked_everywhere(hook, smtp, warehouse, monkeypatch, caplog):
    monkeypatch.setenv("CRM_API_TOKEN", "s3cr3t-crm-token-value")
    monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
    monkeypatch.setenv("ALERT_HOOK_HEADERS", '{"X-Alert-Key": "hook-key-123"}')
    config = alerts_config({"alerts": {"sinks": [
        {"type": "webhook", "url_env": "ALERT_HOOK_URL", "headers_env": "ALERT_HOOK_HEADERS"},
        {"type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "a@test.org",
         "to": ["b@test.org"]},
        {"type": "log"}]}})
    caplog.set_level(logging.INFO, logger="sync_platform.alerts")
    message = ("GET https://user:hunter2pass@crm.test/api failed: Authorization: Bearer "
               "s3cr3t-crm-token-value; hook at " + hook.url)
    notify(warehouse, config, failing(message=message))
    assert hook.received[0]["headers"]["X-Alert-Key"] == "hook-key-123"
    seen = [hook.bodies[0]["message"], hook.bodies[0]["text"], smtp.bodies()[0],
            caplog.text, *[r[5] for r in log_rows(warehouse)]]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        seen += [m for (m,) in con.execute("SELECT message FROM ops.alert_log").fetchall()]
        seen += [m for (m,) in con.execute("SELECT message FROM ops.alert_state").fetchall()]
    for text in seen:
        assert "s3cr3t-crm-token-value" not in text
        assert "hunter2pass" not in text
        assert "/hooks/alerts" not in text  # the url_env value is a secret too
    assert "***" in hook.bodies[0]["message"]


def test_missing_secret_fails_that_sink_only(smtp, warehouse):
    config = alerts_config({"alerts": {"sinks": [
        {"type": "webhook", "url_env": "ALERT_URL_NOT_SET"},
        {"type": "email", "host": "127.0.0.1", "port": smtp.port, "from": "a@test.org",
         "to": ["b@test.org"]}]}})
    assert config.missing_secrets() == [
        ("alerts.sinks[0].url_env", "environment variable ALERT_URL_NOT_SET is not set")]
    result = notify(warehouse, config, failing())
    assert [o.ok for o in result.outcomes] == [False, True]
    assert "ALERT_URL_NOT_SET is not set" in result.outcomes[0].detail


def test_notify_all_skips_recoveries_of_healthy_subjects(hook, smtp, warehouse):
    config = make_config(hook, smtp)
    results = notify_all(warehouse, config, [
        failing(subject="system:crm"), failing(subject="asset:push/x", status="recovered")])
    assert [r.subject for r in results] == ["system:crm"]
    assert len(hook.bodies) == 1


def test_config_defaults_file_and_errors(tmp_path, monkeypatch):
    assert [s.type for s in alerts_config(None).sinks] == ["log"]
    assert alerts_config({"systems": {}}).dagster_url == "http://127.0.0.1:3000"
    assert AlertsConfig().run_url("r1") == "http://127.0.0.1:3000/runs/r1"

    monkeypatch.setenv("DAGSTER_PUBLIC_URL", "https://dagster.example.org")
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "systems.yaml").write_text(
        "alerts:\n  dagster_url: ${DAGSTER_PUBLIC_URL}\n  warn_on_empty_push: false\n"
        "  sinks:\n    - type: email\n      host: smtp.example.org\n      port: 587\n"
        "      from: a@example.org\n      to: [b@example.org]\n      starttls: true\n")
    config = load_alerts_config(folder)
    assert config.dagster_url == "https://dagster.example.org" and not config.warn_on_empty_push
    assert config.sinks[0].starttls and config.sinks[0].from_ == "a@example.org"

    (folder / "systems.yaml").write_text(
        "alerts:\n  sinks:\n    - type: webhook\n      url: https://x.org\n      url_env: X\n"
        "      timeot_s: 3\n    - type: pager\n  dagster_url: localhost:3000\n")
    with pytest.raises(CatalogError) as err:
        load_alerts_config(folder)
    text = str(err.value)
    assert f"{folder / 'systems.yaml'}: alerts.sinks[0].timeot_s: unknown field" in text
    assert "alerts.sinks[1]: unknown kind 'pager'" in text
    assert "alerts.dagster_url: dagster_url 'localhost:3000' must start with http" in text

    with pytest.raises(CatalogError, match=r"alerts.sinks\[0\]: give exactly one of url or url_env"):
        alerts_config({"alerts": {"sinks": [{"type": "webhook"}]}})
    with pytest.raises(CatalogError, match=r"alerts.sinks\[0\].to: not an email address"):
        alerts_config({"alerts": {"sinks": [{"type": "email", "host": "h", "from": "a@b.c",
                                             "to": ["nobody"]}]}})


def test_subjects_and_error_classes():
    assert locate(["raw_crm", "contacts"]).subject == "system:crm"
    push = locate(["push", "contact__marketing"])
    assert (push.subject, push.system, push.flow) == (
        "asset:push/contact__marketing", "marketing", "contact__marketing")
    assert locate(["recon", "customer__accounting"]).system == "accounting"
    assert locate(["golden", "contact"]).subject == "asset:golden/contact"
    assert error_class_of(["DagsterExecutionStepExecutionError", "KeyError"]) == "KeyError"
    assert error_class_of(["Failure", "PipelineStepFailed", "ConnectionError"]) == "ConnectionError"
    assert error_class_of(["Failure"]) == "Failure"
