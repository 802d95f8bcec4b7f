"""What an alert says, and which subject (system, flow, asset, check) a Dagster asset key belongs to.

A *subject* is the thing whose health changes: `system:<name>` (landing a system: one step per
system), `asset:<key>` (any other asset, e.g. `asset:push/contact__crm`), `check:<key>:<check>`
(an asset check), `silent:<key>` (a run that succeeded but landed or pushed nothing it should
have), `job:<name>` (a run that failed outside any asset). Alerts are sent per subject, only when
its status changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from sync_platform.engines.push.redact import redact

Status = Literal["failing", "warning", "recovered"]
MESSAGE_LIMIT = 2000


class Alert(BaseModel):
    """One status change of one subject. `message` is always stored with secrets masked."""

    subject: str = Field(min_length=1)
    status: Status
    system: str | None = None
    flow: str | None = None
    error_class: str | None = None
    message: str = ""
    run_id: str | None = None
    run_url: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("message", mode="before")
    @classmethod
    def _masked(cls, value: object) -> str:
        return redact(value, limit=MESSAGE_LIMIT)

    def title(self) -> str:
        """One line, e.g. `[sync_platform] FAILING system:crm (crm): ConnectionError`."""
        where = ", ".join(x for x in (self.system, self.flow) if x)
        where = f" ({where})" if where else ""
        what = f": {self.error_class}" if self.error_class and self.status != "recovered" else ""
        return f"[sync_platform] {self.status.upper()} {self.subject}{where}{what}"

    def text(self) -> str:
        """The alert as plain text (mail body, log line, chat message)."""
        lines = [self.title(), ""]
        for label, value in (("status", self.status), ("subject", self.subject),
                             ("system", self.system), ("flow", self.flow),
                             ("error class", self.error_class), ("run", self.run_id),
                             ("run link", self.run_url), ("at", self.at.isoformat())):
            if value:
                lines.append(f"{label}: {value}")
        if self.message:
            lines += ["", self.message]
        return "\n".join(lines)


@dataclass(frozen=True)
class Where:
    """The subject an asset's failure is reported under, with its system and flow if known."""

    subject: str
    system: str | None = None
    flow: str | None = None


def key_string(path: Sequence[str]) -> str:
    return "/".join(path)


def locate(path: Sequence[str]) -> Where:
    """`raw_<system>/<table>` -> `system:<system>`; `push|recon/<entity>__<system>` ->
    `asset:<key>` with flow `<entity>__<system>`; `source/<system>/<table>` -> `system:<system>`;
    anything else -> `asset:<key>`."""
    path = list(path)
    key = key_string(path)
    if len(path) == 2 and path[0].startswith("raw_") and len(path[0]) > 4:
        return Where(f"system:{path[0][4:]}", system=path[0][4:])
    if len(path) == 3 and path[0] == "source":
        return Where(f"system:{path[1]}", system=path[1])
    if len(path) == 2 and path[0] in ("push", "recon") and "__" in path[1]:
        return Where(f"asset:{key}", system=path[1].rsplit("__", 1)[1], flow=path[1])
    return Where(f"asset:{key}")


def target_of(path: Sequence[str]) -> Where:
    """Like `locate`, but a landed table keeps its own subject (`asset:raw_crm/contacts`)."""
    where = locate(path)
    if where.subject.startswith("system:"):
        return Where(f"asset:{key_string(path)}", system=where.system, flow=where.flow)
    return where


def error_class_of(chain: Sequence[str]) -> str | None:
    """The most specific error class of an exception chain given outermost first: the innermost
    cause, skipping Dagster's wrappers (`DagsterExecutionStepExecutionError`); a `Failure` raised
    from a connection error is reported as the connection error."""
    useful = [c for c in chain if c and not (c.startswith("Dagster") and c.endswith("Error"))]
    return useful[-1] if useful else (chain[0] if chain else None)
