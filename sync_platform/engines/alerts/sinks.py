"""Delivering an alert: webhook (JSON POST), email (SMTP), log.

Each sink returns an `Outcome` instead of raising, so one broken sink never stops the others;
error details are redacted before they are returned (they end up in `ops.alert_log`).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import requests

from sync_platform.engines.alerts.config import EmailSink, LogSink, WebhookSink
from sync_platform.engines.alerts.model import Alert
from sync_platform.engines.push.redact import redact

logger = logging.getLogger("sync_platform.alerts")


@dataclass(frozen=True)
class Outcome:
    sink: str  # webhook | email | log
    index: int  # position in the sinks list
    ok: bool
    attempts: int = 1
    detail: str = ""  # where it went, or why it failed (redacted)


class SinkError(Exception):
    """A sink could not deliver (missing secret, bad response)."""


def _env(name: str | None, what: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise SinkError(f"{what}: environment variable {name} is not set")
    return value


def payload(alert: Alert) -> dict:
    """The webhook body: the alert's fields plus `text` (chat tools such as Slack show it)."""
    return {"text": alert.text(), **alert.model_dump(mode="json")}


def send_webhook(sink: WebhookSink, alert: Alert) -> tuple[int, str]:
    """POST the alert; retried on connection errors, timeouts and 5xx. Returns (attempts, where)."""
    url = sink.url or _env(sink.url_env, "webhook url")
    headers = {"Content-Type": "application/json"}
    raw_headers = _env(sink.headers_env, "webhook headers")
    if raw_headers:
        try:
            extra = json.loads(raw_headers)
        except ValueError:
            raise SinkError(f"{sink.headers_env} must hold a JSON object of headers") from None
        if not isinstance(extra, dict):
            raise SinkError(f"{sink.headers_env} must hold a JSON object of headers")
        headers.update({str(k): str(v) for k, v in extra.items()})
    where = urlsplit(url).netloc  # never the path: chat webhooks carry their token there
    body = json.dumps(payload(alert))
    for attempt in range(1, sink.max_attempts + 1):
        last = attempt == sink.max_attempts
        try:
            response = requests.post(url, data=body, headers=headers, timeout=sink.timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if last:
                raise SinkError(f"{type(exc).__name__} after {attempt} attempts to {where}") from None
        else:
            if response.status_code < 300:
                return attempt, where
            if response.status_code < 500 or last:
                raise SinkError(f"HTTP {response.status_code} from {where} after {attempt} attempts: "
                                f"{response.text[:200]}")
        time.sleep(sink.backoff_s * 2 ** (attempt - 1))
    raise SinkError("unreachable")  # pragma: no cover


def send_email(sink: EmailSink, alert: Alert) -> tuple[int, str]:
    message = EmailMessage()
    message["Subject"] = alert.title()
    message["From"] = sink.from_
    message["To"] = ", ".join(sink.to)
    message.set_content(alert.text())
    username = _env(sink.username_env, "smtp username")
    password = _env(sink.password_env, "smtp password")
    with smtplib.SMTP(sink.host, sink.port, timeout=sink.timeout_s) as smtp:
        if sink.starttls:
            smtp.starttls()
        if username:
            smtp.login(username, password or "")
        smtp.send_message(message)
    return 1, f"{sink.host}:{sink.port}"


def send_log(sink: LogSink, alert: Alert) -> tuple[int, str]:
    level = logging.INFO if alert.status == "recovered" else logging.WARNING
    logger.log(level, "%s", alert.text().replace("\n", " | "))
    return 1, logger.name


def deliver(sinks: list, alert: Alert, secrets: list[str] | None = None) -> list[Outcome]:
    """Send `alert` to every sink; a failing sink is reported, never raised."""
    outcomes = []
    for index, sink in enumerate(sinks):
        sender = {"webhook": send_webhook, "email": send_email, "log": send_log}[sink.type]
        try:
            attempts, where = sender(sink, alert)
            outcomes.append(Outcome(sink.type, index, True, attempts, where))
        except Exception as exc:  # noqa: BLE001 - any sink failure is reported, not raised
            detail = redact(f"{type(exc).__name__}: {exc}", secrets=secrets, limit=500)
            outcomes.append(Outcome(sink.type, index, False, detail=detail))
    return outcomes
