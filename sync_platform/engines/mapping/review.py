"""The review queue and human decisions: pending, approve, reject, correct.

Every decision changes the rule in the mapping's YAML (status approved/rejected, `decided_by`
naming the person and the decision id), is appended to `knowledge/decisions.yaml` and teaches the
analyzer (`knowledge/learned.yaml`). Automatic runs keep these rules exactly as decided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync_platform.engines.canonical import FieldRule, SystemMapping, load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.mapping import store
from sync_platform.engines.mapping.knowledge import DecisionContext, Knowledge, new_decision
from sync_platform.engines.warehouse import connect, quote

SAMPLES = 5


def _samples(con: Any, system: str, table: str, column: str) -> list[str]:
    try:
        rows = con.sql(f"select distinct cast({quote(column)} as varchar) as v from "
                       f"{quote('raw_' + system)}.{quote(table)} where {quote(column)} is not null "
                       f"order by v limit {SAMPLES}").fetchall()
    except Exception:  # table or column gone since the mapping was proposed
        return []
    return [r[0] for r in rows]


def pending(mappings_dir: Path | str | None = None,
            warehouse: Path | str | None = None) -> list[dict]:
    """Proposed rules waiting for review, best first, with side-by-side sample values: the
    source column's values next to the values other systems already map to the same field."""
    mappings = store.load_mappings(mappings_dir)
    applied: dict[tuple[str, str], list[tuple[SystemMapping, str]]] = {}
    for m in mappings:
        for rule in m.applied_rules():
            if rule.kind == "1:1":
                applied.setdefault((m.entity_type, rule.targets[0]), []).append((m, rule.sources[0]))
    items = []
    con_ctx = connect(warehouse, read_only=True) if warehouse else None
    con = con_ctx.__enter__() if con_ctx else None
    try:
        for m in mappings:
            for rule in m.mapping_rules:
                if rule.status != "proposed":
                    continue
                item = {"mapping_id": m.id, "source_system": m.source_system,
                        "source_table": m.source_table, "entity": m.entity_type,
                        "source_fields": rule.sources, "target_fields": rule.targets,
                        "kind": rule.kind, "confidence": rule.confidence,
                        "evidence": rule.evidence,
                        "transform": [s.model_dump() for s in rule.transform],
                        "source_samples": {}, "target_samples": {}}
                if con is not None:
                    for s in rule.sources:
                        item["source_samples"][s] = _samples(con, m.source_system, m.source_table, s)
                    for t in rule.targets:
                        for other, column in applied.get((m.entity_type, t), []):
                            if other.id != m.id:
                                key = f"{other.source_system}.{other.source_table}.{column}"
                                item["target_samples"][key] = _samples(
                                    con, other.source_system, other.source_table, column)
                items.append(item)
    finally:
        if con_ctx:
            con_ctx.__exit__(None, None, None)
    return sorted(items, key=lambda i: (-i["confidence"], i["mapping_id"]))


def _context(mappings_dir: Path | str | None, mapping: SystemMapping) -> DecisionContext:
    kind = preset = data_type = None
    if (store.mappings_root(mappings_dir) / "systems.yaml").exists():  # no secrets needed to record a decision
        system = load_catalog(store.mappings_root(mappings_dir), require_secrets=False).systems.get(
            mapping.source_system)
        if system is not None:
            kind, preset = system.kind, getattr(system, "preset", None)
            table = system.tables.get(mapping.source_table.removesuffix("_archived"))
            data_type = table.data_type if table else None
    return DecisionContext(system=mapping.source_system, system_kind=kind, preset=preset,
                           entity=mapping.entity_type, data_type=data_type)


def _find(mapping: SystemMapping, source_field: str) -> FieldRule | None:
    rules = [r for r in mapping.mapping_rules if source_field in r.sources]
    exact = [r for r in rules if r.sources == [source_field]]
    return (exact or rules or [None])[0]


def _profile(warehouse: Path | str | None, mapping: SystemMapping, column: str) -> Any | None:
    if warehouse is None:
        return None
    try:
        from sync_platform.engines.profiling import profile_relation

        with connect(warehouse, read_only=True) as con:
            sql = (f"(select {quote(column)} from {quote('raw_' + mapping.source_system)}."
                   f"{quote(mapping.source_table)})")
            return list(profile_relation(con, sql, mapping.source_system, mapping.source_table))[0]
    except Exception:
        return None


def _finish(mappings_dir: Path | str | None, mapping: SystemMapping, knowledge: Knowledge,
            warehouse: Path | str | None) -> None:
    from datetime import UTC, datetime

    mapping.last_updated = datetime.now(UTC)
    store.save_mapping(mappings_dir, mapping)
    knowledge.save(mappings_dir)
    if warehouse is not None:
        with connect(warehouse) as con:
            store.write_system_mappings(con, [mapping])


def _decide(mappings_dir: Path | str | None, mapping_id: str, source_field: str, action: str,
            by: str, warehouse: Path | str | None, target: list[str] | None = None) -> dict:
    mapping = store.load_mapping(mappings_dir, mapping_id)
    knowledge = Knowledge.load(mappings_dir)
    rule = _find(mapping, source_field)
    if rule is None and action != "correct":
        raise KeyError(f"{mapping_id} has no rule for source field {source_field!r}")
    previous = list(rule.targets) if rule else []
    targets = target if target is not None else previous
    decision = new_decision(knowledge, who=by, mapping=mapping_id,
                            source_field=list(rule.sources) if rule and action != "correct"
                            else [source_field], target=targets, action=action,
                            previous_target=previous if action == "correct" else None,
                            context=_context(mappings_dir, mapping))
    if action == "correct":
        entity = load_entities(mappings_dir).get(mapping.entity_type)
        unknown = [t for t in targets if entity is not None and t not in entity.field_names]
        if unknown:
            raise KeyError(f"{mapping.entity_type} has no field(s) {unknown}")
        for other in mapping.mapping_rules:
            if other is not rule and set(other.targets) & set(targets) and other.status in (
                    "auto_applied", "proposed"):
                other.status = "superseded"
        transform = _transform(warehouse, mapping, source_field, targets, entity)
        new_rule = FieldRule(sources=[source_field], targets=targets, transform=transform,
                             confidence=1.0, status="approved", decided_by=f"{by} ({decision.id})",
                             evidence=f"corrected by {by}" + (
                                 f" (was {'+'.join(previous)})" if previous else ""))
        if rule is None:
            mapping.mapping_rules.append(new_rule)
        else:
            mapping.mapping_rules[mapping.mapping_rules.index(rule)] = new_rule
    else:
        rule.status = "approved" if action == "approve" else "rejected"
        rule.decided_by = f"{by} ({decision.id})"
    profile = _profile(warehouse, mapping, source_field) if action != "reject" else None
    values = [v for v, _ in (getattr(profile, "top_values", None) or [])]
    distinct = getattr(profile, "distinct_count", 0) or 0
    knowledge.record(decision, profile, values if 0 < distinct <= 20 else None)
    _finish(mappings_dir, mapping, knowledge, warehouse)
    return decision.model_dump(mode="json")


def _transform(warehouse, mapping, source_field, targets, entity) -> list:
    from sync_platform.engines.mapping.features import targets_from_entity
    from sync_platform.engines.mapping.steps import choose

    profile = _profile(warehouse, mapping, source_field)
    if profile is None or entity is None or len(targets) != 1:
        return []
    target = next(t for t in targets_from_entity(entity, Knowledge.empty()) if t.name == targets[0])
    return choose(profile, target)


def approve(mappings_dir: Path | str | None, mapping_id: str, source_field: str,
            by: str = "user", warehouse: Path | str | None = None) -> dict:
    """Approve the proposed rule of `source_field`; returns the recorded decision."""
    return _decide(mappings_dir, mapping_id, source_field, "approve", by, warehouse)


def reject(mappings_dir: Path | str | None, mapping_id: str, source_field: str,
           by: str = "user", warehouse: Path | str | None = None) -> dict:
    """Reject the rule of `source_field` (it is never proposed again for this pair)."""
    return _decide(mappings_dir, mapping_id, source_field, "reject", by, warehouse)


def correct(mappings_dir: Path | str | None, mapping_id: str, source_field: str,
            target_field: str | list[str], by: str = "user",
            warehouse: Path | str | None = None) -> dict:
    """Map `source_field` to `target_field` instead (approved), and learn from it."""
    targets = [target_field] if isinstance(target_field, str) else list(target_field)
    return _decide(mappings_dir, mapping_id, source_field, "correct", by, warehouse, targets)
