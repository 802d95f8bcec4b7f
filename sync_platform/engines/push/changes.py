"""The input contract of the push: one change = one golden record version for one target table.

Upstream (reconciliation, or any caller) renders golden records into target field names; the
push never renders. `version` is the hash of the payload, so the idempotency key
hash(target, table, golden id, version) is stable across runs and processes: the same change
pushed twice is recorded once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sync_platform.engines.push.redact import redact

Operation = Literal["create", "update", "delete"]
Priority = Literal["high", "normal", "bulk"]
PRIORITY_RANK = {"high": 0, "normal": 1, "bulk": 2}


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, non-JSON values as text). NaN/Infinity stay as JSON's
    NaN literals, so the ledger round-trips them and the target's encoder refuses them."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8", "surrogatepass")).hexdigest()[:24]


def idempotency_key(target: str, table: str, golden_id: str, version: str) -> str:
    raw = "\x1f".join((target, table, golden_id, version)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


class Change(BaseModel):
    """One golden record version to deliver to one target table."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1)
    table: str = Field(min_length=1)
    entity: str = Field(min_length=1)
    golden_id: str = Field(min_length=1, max_length=200)
    operation: Operation = "update"
    payload: dict[str, Any] = Field(default_factory=dict)
    version: str = ""  # hash of the payload when not given
    target_key: str | None = None  # the target's own id of the record, when known
    lineage: dict[str, Any] = Field(default_factory=dict)  # field -> {source, rule, ...}
    before: dict[str, Any] | None = None  # the target's current values, when known (audit)
    priority: Priority = "normal"
    flow: str | None = None
    # payload fields holding personal data: sent to the target, masked everywhere else (redact.py)
    sensitive: list[str] = Field(default_factory=list)

    @field_validator("golden_id")
    @classmethod
    def _no_blank_key(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("golden_id is blank")
        return value

    @model_validator(mode="after")
    def _version(self) -> Change:
        if not self.version:
            # a delete is about one target record: deleting a re-created record is a new write
            self.version = payload_hash(self.payload) if self.operation != "delete" else \
                payload_hash({"delete": self.target_key, "payload": self.payload})
        return self

    @property
    def key(self) -> str:
        return idempotency_key(self.target, self.table, self.golden_id, self.version)

    @property
    def record_key(self) -> tuple[str, str, str]:
        return self.target, self.table, self.golden_id


class InvalidChange(BaseModel):
    """A change that does not meet the contract (dead-lettered, never sent)."""

    target: str | None = None
    table: str | None = None
    entity: str | None = None
    golden_id: str | None = None
    operation: str | None = None
    payload_hash: str
    error: str


def parse_changes(items: Iterable[Change | dict[str, Any]]) -> tuple[list[Change], list[InvalidChange],
                                                                     list[Change]]:
    """(valid changes, invalid ones, superseded ones): the last change per record wins."""
    valid: dict[tuple[str, str, str], Change] = {}
    invalid: list[InvalidChange] = []
    superseded: list[Change] = []
    for item in items:
        if isinstance(item, Change):
            change = item
        else:
            try:
                change = Change.model_validate(item)
            except ValidationError as exc:
                raw = item if isinstance(item, dict) else {"value": item}
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'change'}: {e['msg']}"
                                     for e in exc.errors())
                invalid.append(InvalidChange(
                    **{k: (str(raw[k]) if raw.get(k) is not None else None)
                       for k in ("target", "table", "entity", "golden_id", "operation")},
                    payload_hash=payload_hash(raw.get("payload") if isinstance(raw.get("payload"), dict)
                                              else raw),
                    error=redact(f"invalid change: {problems}")))
                continue
        earlier = valid.pop(change.record_key, None)
        if earlier is not None and earlier.key != change.key:
            superseded.append(earlier)
        valid[change.record_key] = change
    return list(valid.values()), invalid, superseded
