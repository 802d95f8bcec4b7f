"""Proposals: score every landed system table against its canonical entity, keep human decisions.

`propose_mappings` profiles each landed table that has a data_type (profiling engine), scores
candidates (scoring.py), assigns one-to-one, marks rules >= threshold `auto_applied` and the rest
`proposed`, merges with the stored records (human decisions win, always), writes the YAML records
and mirrors them with every candidate into `meta.system_mappings` / `meta.mapping_proposals`.
Tables are processed in catalog order; fields mapped in earlier systems lend their values to the
value-overlap evidence of later ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync_platform.engines.canonical import (
    CanonicalEntity,
    FieldRule,
    SystemMapping,
    entity_for_data_type,
    load_entities,
)
from sync_platform.engines.mapping import inputs, store
from sync_platform.engines.mapping.features import (
    Target,
    profile_values,
    targets_from_entity,
    targets_from_profiles,
)
from sync_platform.engines.mapping.knowledge import Knowledge
from sync_platform.engines.mapping.scoring import Candidate, score_table
from sync_platform.engines.warehouse import connect, quote

HUMAN = ("approved", "rejected")
REVIEW_FLOOR = 0.2  # accepted candidates below this stay in meta.mapping_proposals only


def human_rule(rule: FieldRule) -> bool:
    return rule.status in HUMAN or (rule.decided_by not in (None, "auto"))


def profile_table(con: Any, system: str, table: str) -> list[Any]:
    """The table's stored profiles (meta.column_profiles, written by the profiling asset), or a
    fresh profile when there are none."""
    from sync_platform.engines.profiling import profile_relation
    from sync_platform.engines.profiling.store import read_profiles

    try:
        stored = [p for p in read_profiles(con, system) if p.table_name == table]
    except Exception:  # no profiles table yet
        stored = []
    if stored:
        return stored
    return list(profile_relation(con, f"{quote('raw_' + system)}.{quote(table)}", system, table))


def landed_tables(con: Any) -> set[tuple[str, str]]:
    rows = con.sql("select table_schema, table_name from information_schema.tables "
                   "where table_schema like 'raw\\_%' escape '\\'").fetchall()
    return {(schema[4:], table) for schema, table in rows}


def foreign_keys(con: Any, system: str, table: str) -> set[str]:
    exists = con.sql("select count(*) from information_schema.tables where table_schema = 'meta' "
                     "and table_name = 'relationships'").fetchall()[0][0]
    if not exists:
        return set()
    try:
        rows = con.execute("select from_column from meta.relationships where from_system = ? and "
                           "from_table = ? and kind = 'foreign_key'", [system, table]).fetchall()
    except Exception:  # another engine's table: tolerate an older shape
        return set()
    return {r[0] for r in rows}


def build_rules(candidates: list[Candidate], threshold: float,
                locked_sources: set[str], locked_targets: set[str],
                allow_auto: bool = True) -> list[FieldRule]:
    rules = []
    for c in sorted(candidates, key=lambda c: -c.confidence):
        if not c.accepted or c.confidence < REVIEW_FLOOR:
            continue
        if locked_sources.intersection(c.sources) or locked_targets.intersection(c.targets):
            continue
        auto = allow_auto and c.confidence >= threshold
        rules.append(FieldRule(sources=c.sources, targets=c.targets, transform=c.transform,
                               confidence=round(c.confidence, 4),
                               status="auto_applied" if auto else "proposed",
                               evidence=c.evidence, decided_by="auto" if auto else None))
    return rules


def merge(existing: SystemMapping | None, fresh: SystemMapping, candidates: list[Candidate],
          threshold: float) -> SystemMapping:
    """Human decisions (approved/rejected/corrected rules, paused mapping) are kept as they are;
    everything else is recomputed from this run's candidates."""
    kept = [r for r in existing.mapping_rules if human_rule(r)] if existing else []
    paused = existing is not None and existing.status == "paused"
    locked_sources = {s for r in kept for s in r.sources}
    locked_targets = {t for r in kept if r.status != "rejected" for t in r.targets}
    rules = kept + build_rules(candidates, threshold, locked_sources, locked_targets,
                               allow_auto=not paused)
    applied = [r.confidence for r in rules if r.applied]
    fresh.mapping_rules = rules
    fresh.confidence = round(sum(applied) / len(applied), 4) if applied else 0.0
    if paused:
        fresh.status, fresh.status_reason = "paused", existing.status_reason
    else:
        fresh.status = "auto_applied" if applied else "proposed"
        pending = sum(r.status == "proposed" for r in rules)
        fresh.status_reason = f"{len(applied)} rules applied, {pending} waiting for review"
    if existing is not None and existing.model_dump(exclude={"last_updated"}) == fresh.model_dump(
            exclude={"last_updated"}):
        fresh.last_updated = existing.last_updated
    return fresh


def add_references(references: dict, entity: str, mapping: SystemMapping,
                    profiles: dict[str, Any]) -> None:
    """references[(entity, field)][source 'system.table.column'] = (values, pattern)."""
    for rule in mapping.applied_rules():
        if rule.kind != "1:1" or rule.sources[0] not in profiles:
            continue
        p = profiles[rule.sources[0]]
        where = f"{mapping.source_system}.{mapping.source_table}.{rule.sources[0]}"
        references.setdefault((entity, rule.targets[0]), {})[where] = (
            profile_values(p), getattr(p, "pattern", None))


def with_references(targets: list[Target], entity: str, references: dict,
                     skip: str) -> list[Target]:
    """Targets carrying the values other tables (not `skip`) map to them."""
    for t in targets:
        for where, (values, pattern) in sorted(references.get((entity, t.name), {}).items()):
            if where.startswith(skip):
                continue
            t.reference_values |= values
            if pattern:
                t.reference_patterns.add(pattern)
            t.reference_from.append(where)
    return targets


def propose_mappings(warehouse: Path | str, catalog: Any,
                     entities: dict[str, CanonicalEntity] | None = None,
                     mappings_dir: Path | str | None = None, threshold: float = 0.95,
                     systems: list[str] | None = None, force: bool = False) -> list[SystemMapping]:
    """Propose (and store) the mapping of every landed table with a data_type to its entity.
    When no input changed since the last run over every system (inputs.py), the stored records
    are returned as they are (`force` proposes anyway)."""
    entities = entities if entities is not None else load_entities(mappings_dir)
    knowledge = Knowledge.load(mappings_dir)
    existing = {m.id: m for m in store.load_mappings(mappings_dir)}
    results: list[SystemMapping] = []
    with connect(warehouse) as con:
        landed = landed_tables(con)
        work = []
        for system_name, system in catalog.systems.items():
            if systems and system_name not in systems:
                continue
            for table_name, spec in system.tables.items():
                entity = entity_for_data_type(entities, spec.data_type)
                if entity is None or (system_name, table_name) not in landed:
                    continue
                profiles = profile_table(con, system_name, table_name)
                work.append((system_name, system, table_name, spec, entity, profiles))
        root = store.mappings_root(mappings_dir)
        ids = [SystemMapping.make_id(item[0], item[2], item[4].entity) for item in work]
        if not systems and not force and all(mid in existing for mid in ids):
            now = inputs.fingerprint(con, work, root, threshold)
            if inputs.last_fingerprint(con) == now:
                inputs.record_run(con, now, "unchanged", len(ids))
                return [existing[mid] for mid in ids]
        # Values of a field in the other systems are evidence. Pass 1 scores every table with
        # the human-decided rules as references; pass 2 adds pass 1's applied rules of all other
        # tables. The result depends only on the data, knowledge and decisions: re-running it
        # with the same inputs gives the same records (no dependence on the previous run).
        human: dict = {}
        for system_name, _, table_name, _, entity, profiles in work:
            mid = SystemMapping.make_id(system_name, table_name, entity.entity)
            if mid in existing:
                decided = existing[mid].model_copy(update={"mapping_rules": [
                    r for r in existing[mid].mapping_rules if human_rule(r)]})
                add_references(human, entity.entity, decided, {p.column_name: p for p in profiles})
        first = [self_score(item, knowledge, existing, threshold, human, con) for item in work]
        references = {key: dict(sources) for key, sources in human.items()}
        for (mapping, _), (_, _, _, _, entity, profiles) in zip(first, work, strict=True):
            add_references(references, entity.entity, mapping, {p.column_name: p for p in profiles})
        for item in work:
            mapping, candidates = self_score(item, knowledge, existing, threshold, references, con)
            store.save_mapping(mappings_dir, mapping)
            store.write_system_mappings(con, [mapping])
            store.write_proposals(con, mapping, candidates)
            results.append(mapping)
        if not systems:
            inputs.record_run(con, inputs.fingerprint(con, work, root, threshold), "proposed",
                              len(results))
    return results


def self_score(item: tuple, knowledge: Knowledge, existing: dict[str, SystemMapping],
               threshold: float, references: dict, con: Any) -> tuple[SystemMapping, list[Candidate]]:
    """Score one table against its entity and merge with its stored record."""
    system_name, system, table_name, spec, entity, profiles = item
    mid = SystemMapping.make_id(system_name, table_name, entity.entity)
    targets = with_references(targets_from_entity(entity, knowledge), entity.entity, references,
                               f"{system_name}.{table_name}.")
    candidates = score_table(
        profiles, targets, entity=entity.entity, knowledge=knowledge, kind=system.kind,
        preset=getattr(system, "preset", None), external_id_field=spec.external_id_field,
        related_columns=foreign_keys(con, system_name, table_name))
    fresh = SystemMapping(id=mid, source_system=system_name, source_table=table_name,
                          entity_type=entity.entity, last_updated=datetime.now(UTC))
    return merge(existing.get(mid), fresh, candidates, threshold), candidates


def candidates_between(source_profiles: list[Any], target_profiles: list[Any],
                       knowledge: Knowledge | None = None, entity: str = "") -> list[Candidate]:
    """Scored, ranked and assigned candidates of one table's columns to another table's columns."""
    knowledge = knowledge or Knowledge.empty()
    targets = targets_from_profiles(target_profiles)
    return score_table(source_profiles, targets, entity=entity, knowledge=knowledge)


def propose_between(source_profiles: list[Any], target_profiles: list[Any],
                    threshold: float = 0.95, knowledge: Knowledge | None = None) -> SystemMapping:
    """System-to-system mapping (e.g. hr.employees -> payroll.employees), not stored."""
    candidates = candidates_between(source_profiles, target_profiles, knowledge)
    src, tgt = source_profiles[0], target_profiles[0]
    mapping = SystemMapping(
        id=SystemMapping.make_id(src.system, src.table_name, tgt.table_name, tgt.system),
        source_system=src.system, source_table=src.table_name, target_system=tgt.system,
        entity_type=tgt.table_name)
    return merge(None, mapping, candidates, threshold)
