"""Survivorship rules per entity: `mappings/survivorship/<entity>.yaml`, loaded into pydantic.

A file declares a default rule, field groups bound to a system-of-record data type (from
`systems.yaml`'s `system_of_record`) and per-field rules:

    entity: contact
    default: {rule: most_recent}
    groups:
      customer_contact_details: [email, phone]
    fields:
      last_name: {rule: source_priority, priority: [crm, accounting, marketing]}
      lifecycle_stage: {rule: custom, name: furthest_lifecycle_stage}

A field's rule is its `fields` entry; else, when it belongs to a group, `system_of_record`
with the default rule as fallback; else the default. Errors name the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync_platform import settings
from sync_platform.engines.canonical import CanonicalEntity, load_entities
from sync_platform.engines.catalog import CatalogError, load_catalog
from sync_platform.engines.catalog.loader import read_yaml, validate_model
from sync_platform.engines.survivorship.custom import registered_rules

RuleType = Literal["system_of_record", "source_priority", "most_recent", "most_complete",
                   "most_frequent", "custom"]
FallbackType = Literal["source_priority", "most_recent", "most_complete", "most_frequent"]

# Computed by the engine, never chosen by a rule: is_deleted (true only when every record of the
# golden id is deleted) and modified_at (the latest change of a contributing record).
COMPUTED_FIELDS = {"is_deleted", "modified_at"}


class RuleSpec(BaseModel):
    """One rule. `priority` for source_priority (also as fallback), `name` for custom,
    `fallback` for system_of_record (used when the owning system has no value)."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleType
    priority: list[str] | None = None
    name: str | None = None
    fallback: FallbackType | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RuleSpec:
        uses_priority = self.rule == "source_priority" or self.fallback == "source_priority"
        if uses_priority and not self.priority:
            raise ValueError("source_priority needs a non-empty `priority` list of systems")
        if self.priority and not uses_priority:
            raise ValueError("`priority` only applies to source_priority")
        if self.rule == "custom":
            if not self.name:
                raise ValueError("custom needs `name`: a rule registered with @survivorship_rule")
            if self.name not in registered_rules():
                raise ValueError(f"unknown custom rule {self.name!r}; "
                                 f"registered: {registered_rules()}")
        elif self.name is not None:
            raise ValueError("`name` only applies to custom")
        if self.fallback is not None and self.rule != "system_of_record":
            raise ValueError("`fallback` only applies to system_of_record")
        return self

    @property
    def ordering(self) -> str:
        """The rule that orders candidates (system_of_record orders within its fallback)."""
        if self.rule == "system_of_record":
            return self.fallback or "most_recent"
        return self.rule


class SurvivorshipRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    default: RuleSpec = Field(default_factory=lambda: RuleSpec(rule="most_recent"))
    groups: dict[str, list[str]] = Field(default_factory=dict)  # data_type -> fields
    fields: dict[str, RuleSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SurvivorshipRules:
        if self.default.rule == "system_of_record":
            raise ValueError("default: system_of_record needs a group; bind fields with `groups`")
        seen: dict[str, str] = {}
        for data_type, members in self.groups.items():
            for name in members:
                if name in seen:
                    raise ValueError(f"groups.{data_type}: field {name!r} is already in group "
                                     f"{seen[name]!r}")
                seen[name] = data_type
        for name, spec in self.fields.items():
            if spec.rule == "system_of_record" and name not in seen:
                raise ValueError(f"fields.{name}: system_of_record needs the field in a group")
        return self

    def group_of(self, field: str) -> str | None:
        for data_type, members in self.groups.items():
            if field in members:
                return data_type
        return None

    def rule_for(self, field: str) -> RuleSpec:
        if field in self.fields:
            return self.fields[field]
        if self.group_of(field) is not None:
            fallback = self.default.rule if self.default.rule != "custom" else "most_recent"
            return RuleSpec(rule="system_of_record", fallback=fallback,
                            priority=self.default.priority)
        return self.default

    def check_against(self, entity: CanonicalEntity,
                      system_of_record: dict[str, str] | None) -> list[tuple[str, str]]:
        """Problems (path, message) with unknown fields, computed fields and data types."""
        known = set(entity.field_names)
        problems: list[tuple[str, str]] = []
        if self.entity != entity.entity:
            problems.append(("entity", f"must be {entity.entity!r}"))
        for data_type, members in self.groups.items():
            if system_of_record is not None and data_type not in system_of_record:
                problems.append((f"groups.{data_type}", "no system_of_record entry for this data "
                                 f"type in systems.yaml; known: {sorted(system_of_record)}"))
            for index, name in enumerate(members):
                if name not in known or name in COMPUTED_FIELDS:
                    problems.append((f"groups.{data_type}[{index}]", _unknown(name, entity)))
        for name in self.fields:
            if name not in known or name in COMPUTED_FIELDS:
                problems.append((f"fields.{name}", _unknown(name, entity)))
        return problems


def _unknown(name: str, entity: CanonicalEntity) -> str:
    if name in COMPUTED_FIELDS:
        return (f"{name!r} is computed from the source records (is_deleted: only when all are; "
                "modified_at: the latest change)")
    return f"unknown field {name!r} of entity {entity.entity!r}"


def default_rules(entity: CanonicalEntity, system_of_record: dict[str, str]) -> SurvivorshipRules:
    """No file: most_recent for every field; fields of an entity whose data type has a system of
    record (employee: hr, inventory: warehouse) follow that system, most_recent as fallback."""
    fields = [f for f in entity.field_names if f not in COMPUTED_FIELDS]
    groups = {dt: fields for dt in entity.data_types if dt in system_of_record}
    return SurvivorshipRules(entity=entity.entity, groups=dict(list(groups.items())[:1]))


def load_rules(mappings_dir: Path | None, entity: CanonicalEntity | str,
               system_of_record: dict[str, str] | None = None) -> SurvivorshipRules:
    """`<mappings_dir>/survivorship/<entity>.yaml`, validated against the canonical entity and
    the systems catalog's system_of_record (read from systems.yaml when not given)."""
    folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    if isinstance(entity, str):
        entity = load_entities(folder)[entity]
    if system_of_record is None:
        system_of_record = load_catalog(folder, require_secrets=False).system_of_record
    file = folder / "survivorship" / f"{entity.entity}.yaml"
    if not file.exists():
        return default_rules(entity, system_of_record)
    raw = read_yaml(file)
    rules = validate_model(file, SurvivorshipRules, raw)
    problems = rules.check_against(entity, system_of_record)
    if problems:
        raise CatalogError(file, problems)
    return rules
