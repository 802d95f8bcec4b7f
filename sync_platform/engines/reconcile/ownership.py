"""Which system owns each field a target holds, and which flows carry it there.

A target table of an entity is every system table that a flow in systems.yaml delivers the
entity to (the target of a flow, and the source too when the flow is two-way). A field's owner,
looked up in this order:
1. the flow's `conflict_rules.fields` (by canonical field or by the target's column): a system,
   or `last_write_wins` / `golden` (the golden record's value, whoever made it win);
2. the system of record of the field's survivorship group (`groups` in survivorship/<entity>.yaml
   with `system_of_record` in systems.yaml);
3. the first system of the field's `source_priority` rule;
4. the flow's conflict default (`source` / `target` / `system_of_record` meaning the flow's
   source), or for a one-way flow its source: one-way flows run from the system of record.
A flow from S to T carries a field when the owner is S and S itself maps the field, or the owner
is `golden` (never when T owns it: the platform never overwrites what the target is the
authority for). A flow "accounting -> crm" therefore carries billing fields, not the industry
that accounting does not even hold.

Not reconciled or pushed: bookkeeping the target keeps itself (created/modified timestamps,
deleted flags, its cursor and primary key) and references into another system's id space
(canonical fields named `*_source_id`, e.g. a contact's company id in the system it came from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync_platform import settings
from sync_platform.engines.canonical import CanonicalEntity, SystemMapping, load_entities
from sync_platform.engines.catalog import CatalogError
from sync_platform.engines.catalog.models import Catalog, Flow
from sync_platform.engines.connectors import normalized
from sync_platform.engines.mapping.store import load_mappings
from sync_platform.engines.outbound import Outbound, outbound_for
from sync_platform.engines.survivorship.rollup import rollup_name, rollup_problems
from sync_platform.engines.survivorship.rules import SurvivorshipRules, load_rules

GOLDEN = "golden"  # owner: the golden record's value, whichever source made it win
SYSTEM_MANAGED = {"created_at", "modified_at", "is_deleted"}
KIND_OF_TYPE = {"email": "email", "phone": "phone", "date": "date", "datetime": "datetime",
                "decimal": "number", "integer": "number", "boolean": "boolean"}


@dataclass
class TargetColumn:
    """One column of a target table that golden records are rendered into."""

    column: str
    fields: list[str]  # canonical fields it is made of
    owner: str | None  # system name, GOLDEN, or None (no single owner: survivorship decides)
    carried: bool  # a flow delivers it to this target
    kind: str | None  # comparison kind from the canonical field (None: detected from the data)
    pii: bool = False


@dataclass
class TargetTable:
    """A system table that golden records of an entity are reconciled against and pushed to."""

    entity: str
    system: str
    table: str
    flows: list[Flow]
    outbound: Outbound
    columns: list[TargetColumn]
    primary_key: list[str]
    external_id_field: str | None  # landed column the golden id is written back to
    address_field: str | None = None  # landed column addressing a record that lacks the golden id
    create_defaults: dict[str, object] = field(default_factory=dict)  # canonical field -> value
    deletes: bool = False  # a flow propagates deletes here
    golden_table: str = ""  # golden.<golden_table> (+ _xref, _lineage): the entity, or its rollup

    def __post_init__(self) -> None:
        self.golden_table = self.golden_table or self.entity

    @property
    def name(self) -> str:
        return f"{self.entity}__{self.system}"

    @property
    def mode(self) -> str:
        """upsert when any flow upserts; else the flows' common mode."""
        modes = {f.mode for f in self.flows}
        return "upsert" if "upsert" in modes or len(modes) > 1 else modes.pop()

    @property
    def priority(self) -> str:
        order = ["high", "normal", "bulk"]
        return min((f.priority for f in self.flows), key=order.index)


@dataclass
class TargetPlan:
    targets: list[TargetTable] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entity__system, why)


def _owner(flow: Flow, column: str, fields: list[str], rules: SurvivorshipRules | None,
           system_of_record: dict[str, str], held: dict[str, set[str]]) -> str | None:
    """The system (or GOLDEN) that owns `column` in `flow` (rules in the module docstring);
    None when no rule names an owner and the flow's fallback system does not hold the field."""
    conflict = flow.conflict_rules
    if conflict:
        for name in [*fields, column]:
            if name in conflict.fields:
                winner = conflict.fields[name]
                return GOLDEN if winner in ("last_write_wins", GOLDEN) else winner
    for name in fields:
        group = rules.group_of(name) if rules else None
        if group and group in system_of_record:
            return system_of_record[group]
    for name in fields:
        spec = rules.rule_for(name) if rules else None
        if spec is not None and spec.priority:
            return spec.priority[0]
    fallback = flow.source
    if conflict and flow.direction == "two_way":
        fallback = {"last_write_wins": GOLDEN, "target": flow.target}.get(conflict.default, flow.source)
    if fallback == GOLDEN or held.get(fallback, set()) & set(fields):
        return fallback
    return None


def _carries(target: str, sender: str, owner: str | None, fields: list[str],
             held: dict[str, set[str]]) -> bool:
    """A flow from `sender` carries a field to `target` (rules in the module docstring)."""
    return owner not in (None, target) and (owner == GOLDEN or (
        owner == sender and bool(held.get(sender, set()) & set(fields))))


def _receiving(flows: list[Flow], system: str) -> list[Flow]:
    return [f for f in flows if f.target == system or (f.direction == "two_way" and f.source == system)]


def _sender(flow: Flow, system: str) -> str:
    return flow.source if flow.target == system else flow.target


@dataclass(frozen=True)
class FlowTarget:
    """A target table as systems.yaml alone declares it (before any mapping exists)."""

    entity: str
    system: str
    table: str
    flows: tuple[str, ...]
    mode: str

    @property
    def name(self) -> str:
        return f"{self.entity}__{self.system}"


def flow_targets(catalog: Catalog, entities: dict[str, CanonicalEntity],
                 golden_entities: set[str]) -> list[FlowTarget]:
    """Every table a flow delivers an entity with golden records to (composite keys left out)."""
    out = []
    for entity_name in sorted({f.entity for f in catalog.flows} & golden_entities):
        entity = entities.get(entity_name)
        flows = [f for f in catalog.flows if f.entity == entity_name]
        systems = sorted({s for f in flows for s in ([f.target, f.source] if f.direction == "two_way"
                                                     else [f.target])})
        for system in systems:
            receiving = _receiving(flows, system)
            modes = {f.mode for f in receiving}
            mode = "upsert" if "upsert" in modes or len(modes) > 1 else next(iter(modes))
            for table, spec in catalog.systems[system].tables.items():
                if entity and spec.data_type in entity.data_types and len(spec.primary_key) == 1:
                    out.append(FlowTarget(entity_name, system, table,
                                          tuple(f.name for f in receiving), mode))
    return out


def target_plan(catalog: Catalog, mappings_dir: Path | str | None = None,
                entities: list[str] | None = None,
                golden_entities: set[str] | None = None) -> TargetPlan:
    """Every (entity, target table) a flow delivers golden records to, with owners per column.
    `golden_entities`: the entities that have golden records (others are skipped with a reason)."""
    all_entities: dict[str, CanonicalEntity] = load_entities(Path(mappings_dir) if mappings_dir else None)
    mappings: dict[tuple[str, str], SystemMapping] = {
        (m.source_system, m.source_table): m for m in load_mappings(mappings_dir)}
    plan = TargetPlan()
    wanted = entities or sorted({f.entity for f in catalog.flows})
    for entity_name in wanted:
        flows = [f for f in catalog.flows if f.entity == entity_name]
        systems = sorted({s for f in flows for s in ([f.target, f.source] if f.direction == "two_way"
                                                     else [f.target])})
        entity = all_entities.get(entity_name)
        if entity is None or (golden_entities is not None and entity_name not in golden_entities):
            plan.skipped += [(f"{entity_name}__{s}", f"no golden records for entity {entity_name!r}")
                             for s in systems]
            continue
        try:
            rules = load_rules(Path(mappings_dir) if mappings_dir else None, entity,
                               catalog.system_of_record)
        except Exception:  # noqa: BLE001 - no survivorship file: ownership by flows only
            rules = None
        problems = [(f"flows[{index}].rollup", problem) for index, f in enumerate(catalog.flows)
                    if f.entity == entity_name and f.rollup for problem in rollup_problems(entity, f.rollup)]
        if problems:
            folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
            raise CatalogError(folder / "systems.yaml", problems)
        held: dict[str, set[str]] = {}  # system -> canonical fields it maps for this entity
        for m in mappings.values():
            if m.entity_type == entity_name:
                held.setdefault(m.source_system, set()).update(
                    t for r in m.applied_rules() for t in r.targets)
        for system in systems:
            tables = [(name, spec) for name, spec in catalog.systems[system].tables.items()
                      if spec.data_type in entity.data_types]
            if not tables:
                plan.skipped.append((f"{entity_name}__{system}", f"{system} has no table of "
                                     f"data type {'/'.join(entity.data_types)}"))
                continue
            for table, spec in tables:
                mapping = mappings.get((system, table))
                if mapping is None or mapping.entity_type != entity_name or not mapping.applied_rules():
                    plan.skipped.append((f"{entity_name}__{system}",
                                         f"{system}.{table} has no applied mapping to {entity_name}"))
                    continue
                if len(spec.primary_key) != 1:
                    plan.skipped.append((f"{entity_name}__{system}", f"{system}.{table} has a "
                                         "composite primary key (not reconciled yet)"))
                    continue
                receiving = _receiving(flows, system)
                rollups = {rollup_name(entity_name, f.rollup) for f in receiving if f.rollup}
                if len(rollups) > 1:
                    plan.skipped.append((f"{entity_name}__{system}", "flows deliver it at different "
                                         f"grains ({', '.join(sorted(rollups))})"))
                    continue
                outbound = outbound_for(mapping)
                managed = {normalized(c) for c in [*spec.primary_key, spec.cursor] if c}
                outbound.columns = [c for c in outbound.columns if c.column not in managed
                                    and not SYSTEM_MANAGED.intersection(c.fields)
                                    and not any(f.endswith("_source_id") for f in c.fields)]
                columns = []
                for col in outbound.columns:
                    owners = {_sender(f, system): _owner(f, col.column, col.fields, rules,
                                                         catalog.system_of_record, held)
                              for f in receiving}
                    carrying = [o for s, o in owners.items()
                                if _carries(system, s, o, col.fields, held)]
                    owner = carrying[0] if carrying else next(iter(owners.values()))
                    carried = bool(carrying)
                    typed = [entity.field(f) for f in col.fields if f in entity.field_names]
                    kind = KIND_OF_TYPE.get(typed[0].type) if len(typed) == 1 else None
                    if len(typed) == 1 and typed[0].semantic_type is not None:
                        kind = KIND_OF_TYPE.get(str(typed[0].semantic_type), kind)
                    if kind is None and len(typed) == 1 and typed[0].type == "string":
                        kind = "text"  # the canonical model says: plain text (names, codes, ...)
                    columns.append(TargetColumn(col.column, col.fields, owner, carried, kind,
                                                pii=any(f.pii for f in typed)))
                plan.targets.append(TargetTable(
                    entity_name, system, table, receiving, outbound, columns, list(spec.primary_key),
                    normalized(spec.external_id_field) if spec.external_id_field else None,
                    normalized(spec.address_field) if spec.address_field else None,
                    {k: v for f in receiving for k, v in f.create_defaults.items()},
                    deletes=any(f.propagate_deletes for f in receiving),
                    golden_table=next(iter(rollups), entity_name)))
    return plan
