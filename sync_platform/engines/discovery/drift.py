"""What a schema change means for the mappings: a removed or retyped *mapped* field pauses
only the mapping that uses it (with a clear reason), so everything else keeps running."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.canonical.mapping_records import SystemMapping
from sync_platform.engines.landing.schema_log import SchemaChange


@dataclass(frozen=True)
class DriftImpact:
    mapping_id: str
    source_field: str
    change: str
    message: str


def mapping_impacts(changes: list[SchemaChange], mappings: list[SystemMapping]) -> list[DriftImpact]:
    """The applied mapping rules whose source field was removed or changed type."""
    impacts = []
    breaking = [c for c in changes if c.change in ("removed_column", "retyped_column")]
    for mapping in mappings:
        for change in breaking:
            if (change.system, change.table_name) != (mapping.source_system, mapping.source_table):
                continue
            for rule in mapping.applied_rules():
                if change.column_name in rule.sources:
                    what = ("was removed" if change.change == "removed_column"
                            else f"changed type from {change.old_type} to {change.new_type}")
                    impacts.append(DriftImpact(
                        mapping.id, change.column_name, change.change,
                        f"source field {mapping.source_system}.{mapping.source_table}.{change.column_name} "
                        f"{what}; it feeds {', '.join(rule.targets)}. The mapping is paused until "
                        "someone reviews it (sync-platform mappings review).",
                    ))
    return impacts


def pause_impacted(mappings: list[SystemMapping], impacts: list[DriftImpact]) -> list[SystemMapping]:
    """Mappings to save with status paused and the reason (others are returned unchanged)."""
    reasons: dict[str, list[str]] = {}
    for impact in impacts:
        reasons.setdefault(impact.mapping_id, []).append(impact.message)
    updated = []
    for mapping in mappings:
        if mapping.id in reasons and mapping.status != "paused":
            mapping = mapping.model_copy(update={"status": "paused", "status_reason": " ".join(reasons[mapping.id])})
        updated.append(mapping)
    return updated


def pause_mappings_for(warehouse: Path, mappings_dir: Path, changes: list[SchemaChange]) -> list[DriftImpact]:
    """Pause, in the YAML store and its meta mirror, every mapping a breaking change hits."""
    from sync_platform.engines.mapping.store import (
        load_mappings,
        save_mapping,
        write_system_mappings,
    )
    from sync_platform.engines.warehouse import connect

    mappings = load_mappings(mappings_dir)
    impacts = mapping_impacts(changes, mappings)
    if not impacts:
        return []
    before = {m.id: m.status for m in mappings}
    changed = [m for m in pause_impacted(mappings, impacts) if m.status != before[m.id]]
    for mapping in changed:
        save_mapping(mappings_dir, mapping)
    with connect(warehouse) as con:
        write_system_mappings(con, changed)
    return impacts
