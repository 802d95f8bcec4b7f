"""The data flow map as plain data, built from the configuration so it cannot drift from it.

`build_map(catalog, mappings_dir)` reads `systems.yaml` (already loaded as a Catalog), the
canonical entities and the applied mapping rules, and returns a FlowMap:
- systems with their kind, role (from the flows they take part in, or the declared `role:` when
  they take part in none) and tables (data type, entity, canonical fields mapped by applied rules);
- flows with direction, mode, timing in words, priority and delete propagation;
- the system of record per data type;
- every table a flow delivers an entity to, with whether it is reconciled (exactly what
  `reconcile.ownership.flow_targets` returns) or why not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog.models import Catalog, Flow
from sync_platform.engines.flowmap.timing import humanize_timing
from sync_platform.engines.mapping.store import load_mappings
from sync_platform.engines.reconcile.ownership import flow_targets


@dataclass(frozen=True)
class TableInfo:
    """One table of a system and how much of it the applied mapping covers."""

    name: str
    source: str  # object, table or file glob in the system
    data_type: str | None
    entity: str | None  # canonical entity it maps to (applied mapping, else by data type)
    mapped_fields: int  # distinct canonical fields targeted by applied rules
    entity_fields: int | None  # fields of the canonical entity (None: no such entity)
    mapping_status: str | None  # None: no mapping file


@dataclass(frozen=True)
class SystemNode:
    """A system: what it is, what it holds, which way data moves through it."""

    name: str
    kind: str
    preset: str | None
    description: str
    role: str  # source / target / both (from flows), else the declared role; "none" if unused
    declared_role: str | None  # `role:` when given in systems.yaml
    tables: tuple[TableInfo, ...]
    system_of_record: tuple[str, ...]  # data types this system is the authority for

    @property
    def label(self) -> str:
        return f"{self.kind} · {self.preset}" if self.preset else self.kind


@dataclass(frozen=True)
class FlowEdge:
    """One flow of systems.yaml."""

    name: str
    source: str
    target: str
    entity: str
    direction: str  # one_way / two_way
    mode: str  # upsert / update_only / create_only
    timing: str  # in words
    cron: str | None
    on_change: bool
    priority: str
    propagate_deletes: bool
    conflict_default: str | None = None
    conflict_fields: tuple[tuple[str, str], ...] = ()

    @property
    def two_way(self) -> bool:
        return self.direction == "two_way"

    @property
    def arrow(self) -> str:
        return "↔" if self.two_way else "→"


@dataclass(frozen=True)
class TargetInfo:
    """A table a flow delivers an entity to; reconciled or not (and why)."""

    entity: str
    system: str
    table: str | None
    flows: tuple[str, ...]
    mode: str
    reconciled: bool
    reason: str = ""

    @property
    def name(self) -> str:
        return f"{self.entity}__{self.system}"


@dataclass
class FlowMap:
    """Everything the renderers draw."""

    systems: list[SystemNode]
    flows: list[FlowEdge]
    system_of_record: dict[str, str]  # data type -> system
    targets: list[TargetInfo] = field(default_factory=list)
    source: str = "systems.yaml"  # where it came from, for the caption

    def system(self, name: str) -> SystemNode:
        return next(s for s in self.systems if s.name == name)


def _role(name: str, flows: list[Flow], declared: str) -> str:
    sends = any(f.source == name or (f.direction == "two_way" and f.target == name) for f in flows)
    receives = any(f.target == name or (f.direction == "two_way" and f.source == name) for f in flows)
    if sends and receives:
        return "both"
    if sends or receives:
        return "source" if sends else "target"
    return declared


def _edge(flow: Flow) -> FlowEdge:
    rules = flow.conflict_rules
    manual = getattr(flow.timing, "manual", None)  # a person does it on a cadence
    return FlowEdge(
        name=flow.name, source=flow.source, target=flow.target, entity=flow.entity,
        direction=flow.direction, mode=flow.mode,
        timing=humanize_timing(flow.timing.cron, flow.timing.on_change,
                               getattr(manual, "every_days", None), getattr(manual, "owner", None)),
        cron=flow.timing.cron, on_change=flow.timing.on_change, priority=flow.priority,
        propagate_deletes=flow.propagate_deletes,
        conflict_default=rules.default if rules else None,
        conflict_fields=tuple(rules.fields.items()) if rules else ())


def _deliveries(catalog: Catalog) -> dict[tuple[str, str], list[Flow]]:
    """(entity, system) -> the flows delivering the entity there (two-way: both ends)."""
    out: dict[tuple[str, str], list[Flow]] = {}
    for flow in catalog.flows:
        ends = [flow.target, flow.source] if flow.direction == "two_way" else [flow.target]
        for system in ends:
            out.setdefault((flow.entity, system), []).append(flow)
    return out


def build_map(catalog: Catalog, mappings_dir: Path | str | None = None,
              golden_entities: set[str] | None = None) -> FlowMap:
    """The map of `catalog` and the mappings under `mappings_dir`. `golden_entities`: the entities
    with golden records (default: matched and keyed ones), as reconciliation uses."""
    folder = Path(mappings_dir) if mappings_dir else None
    entities = load_entities(folder)
    if golden_entities is None:
        from sync_platform.engines.identity.keyed import golden_entity_names

        golden_entities = golden_entity_names(catalog, entities)
    mappings = {(m.source_system, m.source_table): m for m in load_mappings(folder)
                if m.target_system == "canonical"}
    by_type = {t: e for e in entities.values() for t in e.data_types}
    owned: dict[str, list[str]] = {}
    for data_type, system in catalog.system_of_record.items():
        owned.setdefault(system, []).append(data_type)

    systems = []
    for name, spec in catalog.systems.items():
        tables = []
        for table_name, table in spec.tables.items():
            mapping = mappings.get((name, table_name))
            entity_name = mapping.entity_type if mapping else (
                by_type[table.data_type].entity if table.data_type in by_type else None)
            entity = entities.get(entity_name) if entity_name else None
            mapped = {t for r in mapping.applied_rules() for t in r.targets} if mapping else set()
            if entity is not None:
                mapped &= set(entity.field_names)
            tables.append(TableInfo(
                name=table_name, source=table.source, data_type=table.data_type, entity=entity_name,
                mapped_fields=len(mapped), entity_fields=len(entity.fields) if entity else None,
                mapping_status=mapping.status if mapping else None))
        declared = spec.role if "role" in spec.model_fields_set else None
        systems.append(SystemNode(
            name=name, kind=spec.kind, preset=getattr(spec, "preset", None),
            description=spec.description,
            role=_role(name, catalog.flows, declared or "none"), declared_role=declared,
            tables=tuple(tables), system_of_record=tuple(owned.get(name, ()))))

    reconciled = {(t.entity, t.system): t for t in flow_targets(catalog, entities, golden_entities)}
    targets = []
    for (entity_name, system), flows in _deliveries(catalog).items():
        hit = [t for (e, s), t in reconciled.items() if (e, s) == (entity_name, system)]
        if hit:
            targets += [TargetInfo(entity_name, system, t.table, t.flows, t.mode, True) for t in hit]
            continue
        entity = entities.get(entity_name)
        tables = [n for n, t in catalog.systems[system].tables.items()
                  if entity and t.data_type in entity.data_types]
        if entity is None:
            why = f"no canonical entity {entity_name!r}"
        elif entity_name not in golden_entities:
            why = f"no golden records for {entity_name}"
        elif not tables:
            why = f"{system} has no table of data type {'/'.join(entity.data_types)}"
        else:
            why = "composite primary key"
        modes = {f.mode for f in flows}
        mode = "upsert" if "upsert" in modes or len(modes) > 1 else next(iter(modes))
        targets.append(TargetInfo(entity_name, system, tables[0] if tables else None,
                                  tuple(f.name for f in flows), mode, False, why))
    # flow_targets may list several tables of one (entity, system); keep its own order inside
    targets.sort(key=lambda t: (not t.reconciled, t.entity, t.system))
    source = catalog.source_file
    return FlowMap(systems=systems, flows=[_edge(f) for f in catalog.flows],
                   system_of_record=dict(catalog.system_of_record), targets=targets,
                   source=f"{source.parent.name}/{source.name}" if source else "systems.yaml")
