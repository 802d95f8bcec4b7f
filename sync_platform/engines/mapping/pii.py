"""Which columns hold personal data, so previews and metadata can mask them.

A column is personal data when its name is a `pii: true` canonical field or one of its synonyms
(so a first landing, before any mapping exists, is already covered), or when an applied mapping
maps it to such a field.
"""

from __future__ import annotations

from pathlib import Path

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.mapping.names import normalise
from sync_platform.engines.mapping.store import load_mappings


def pii_columns(mappings_dir: Path | str | None = None, system: str | None = None,
                mappings: list | None = None, entities: dict | None = None) -> set[str]:
    """Column names (as landed and as canonical) that hold personal data; with `system`, also
    the columns its applied mappings map to personal-data fields (`mappings` and `entities`:
    already loaded ones, to spare reading the folder again)."""
    if entities is None:
        entities = load_entities(Path(mappings_dir) if mappings_dir else None)
    pii = {(e.entity, f.name) for e in entities.values() for f in e.fields if f.pii}
    names = {normalise(n) for e in entities.values() for f in e.fields if f.pii
             for n in (f.name, *f.synonyms)}
    if system:
        for m in load_mappings(mappings_dir) if mappings is None else mappings:
            if m.source_system == system:
                names |= {s for r in m.applied_rules()
                          if any((m.entity_type, t) in pii for t in r.targets) for s in r.sources}
    return names


def is_pii(column: str, names: set[str]) -> bool:
    return column in names or normalise(column) in names
