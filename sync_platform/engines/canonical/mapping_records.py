"""The SystemMapping record: how one source table maps to a canonical entity (or another system).

Stored as reviewable YAML under `mappings/<system>/<entity>.yaml`, mirrored into
`meta.system_mappings`. A mapping holds field rules; each rule maps one or more source columns
(landed column names) to one or more target fields through ordered transform steps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MappingStatus = Literal["proposed", "auto_applied", "approved", "rejected", "paused", "superseded"]
APPLIED = ("auto_applied", "approved")  # statuses whose rules staging uses


class TransformStep(BaseModel):
    """One step of a rule's transform, e.g. {kind: phone, params: {default_region: US}}."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1)  # source columns (1, or n for n:1)
    targets: list[str] = Field(min_length=1)  # target fields (1, or n for 1:n)
    transform: list[TransformStep] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    status: MappingStatus = "proposed"
    evidence: str = ""
    decided_by: str | None = None  # "auto", or the person/decision id that approved/corrected it

    @property
    def kind(self) -> str:
        if len(self.sources) == 1 and len(self.targets) == 1:
            return "1:1"
        return "1:n" if len(self.sources) == 1 else "n:1" if len(self.targets) == 1 else "n:m"

    @property
    def applied(self) -> bool:
        return self.status in APPLIED


class SystemMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    source_system: str
    source_table: str
    target_system: str = "canonical"
    entity_type: str
    mapping_rules: list[FieldRule] = Field(default_factory=list)
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    last_updated: datetime = Field(default_factory=lambda: datetime.now(UTC))
    status: MappingStatus = "proposed"
    status_reason: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not value or "/" in value:
            raise ValueError("id must be non-empty and contain no '/'")
        return value

    @staticmethod
    def make_id(source_system: str, source_table: str, entity_type: str, target_system: str = "canonical") -> str:
        suffix = "" if target_system == "canonical" else f"@{target_system}"
        return f"{source_system}.{source_table}__{entity_type}{suffix}"

    def applied_rules(self) -> list[FieldRule]:
        return [rule for rule in self.mapping_rules if rule.applied]
