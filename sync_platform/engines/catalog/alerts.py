"""Alert sinks in `systems.yaml` (`alerts:`): the pydantic models, validated with the catalog.
The YAML shape is documented in sync_platform/engines/alerts/config.py."""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SINK_TYPES = ("webhook", "email", "log")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class WebhookSink(_Strict):
    """JSON POST of the alert; retried on connection errors, timeouts and 5xx."""

    type: Literal["webhook"]
    url: str | None = None
    url_env: str | None = None
    headers_env: str | None = None
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_attempts: int = Field(3, ge=1, le=10)
    backoff_s: float = Field(0.5, ge=0, le=30)

    _check = field_validator("url_env", "headers_env")(_env_name)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSink:
        if bool(self.url) == bool(self.url_env):
            raise ValueError("give exactly one of url or url_env")
        if self.url and not re.match(r"^https?://", self.url):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self

    def label(self) -> str:
        return "webhook"


class EmailSink(_Strict):
    """A plain-text mail over SMTP (STARTTLS and login when configured)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    from_: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False
    timeout_s: float = Field(10.0, gt=0, le=120)

    _check = field_validator("username_env", "password_env")(_env_name)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return value

    def label(self) -> str:
        return "email"


class LogSink(_Strict):
    """Python logging (logger `sync_platform.alerts`): failing/warning at WARNING, recovered at INFO."""

    type: Literal["log"] = "log"

    def label(self) -> str:
        return "log"


Sink = Annotated[WebhookSink | EmailSink | LogSink, Field(discriminator="type")]


class AlertsConfig(_Strict):
    """Where alerts go and which quiet runs count as warnings."""

    sinks: list[Sink] = Field(default_factory=lambda: [LogSink()])
    dagster_url: str = "http://127.0.0.1:3000"
    warn_on_empty_landing: bool = True
    warn_on_empty_push: bool = True

    @field_validator("dagster_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"dagster_url {value!r} must start with http:// or https://")
        return value.rstrip("/")

    def run_url(self, run_id: str | None) -> str | None:
        return f"{self.dagster_url}/runs/{run_id}" if run_id else None

    def secret_references(self) -> list[tuple[str, str]]:
        """(path in the file, environment variable name) of every secret the sinks need."""
        found = []
        for index, sink in enumerate(self.sinks):
            for field in ("url_env", "headers_env", "username_env", "password_env"):
                name = getattr(sink, field, None)
                if name:
                    found.append((f"alerts.sinks[{index}].{field}", name))
        return found

    def missing_secrets(self) -> list[tuple[str, str]]:
        """Problems `(path, message)` for referenced variables that are not set."""
        return [(path, f"environment variable {name} is not set")
                for path, name in self.secret_references() if not os.environ.get(name)]
