"""The one review queue: pending mapping proposals and uncertain matches, in one list.

Each item says what is waiting, how sure the platform is, and the command that decides it. The
decisions themselves live where each stage keeps them (mapping YAML + knowledge for mappings,
`mappings/matches/<entity>.yaml` for matches), so the CLI and later the review UI share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.identity.review import pending_matches
from sync_platform.engines.mapping import pending


@dataclass(frozen=True)
class QueueItem:
    kind: str  # "mapping" | "match"
    id: str
    subject: str
    confidence: float
    reason: str
    decide_with: str


def review_queue(mappings_dir: Path | str | None = None,
                 warehouse: Path | str | None = None) -> list[QueueItem]:
    """Everything waiting for a person: mapping proposals first, then matches, best first."""
    items = [QueueItem("mapping", f"{p['mapping_id']}:{'+'.join(p['source_fields'])}",
                       f"{p['mapping_id']}: {'+'.join(p['source_fields'])} → "
                       f"{'+'.join(p['target_fields'])}", float(p["confidence"]), p["evidence"],
                       f"sync-platform mappings approve|reject {p['mapping_id']} "
                       f"{p['source_fields'][0]}")
             for p in pending(mappings_dir, warehouse)]
    if warehouse:
        items += [QueueItem("match", m.id, f"{m.entity}: {m.key_a} ↔ {m.key_b}", m.score,
                            f"{m.reason}; {m.evidence}",
                            f"sync-platform matches merge|split|not-a-match {m.id}")
                  for m in pending_matches(Path(warehouse), mappings_dir=mappings_dir)]
    return items
