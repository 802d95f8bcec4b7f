"""The one review queue: pending mapping proposals, uncertain matches and held pushes, in one list.

Each item says what is waiting, how sure the platform is, and the command that decides it. The
decisions themselves live where each stage keeps them (mapping YAML + knowledge for mappings,
`mappings/matches/<entity>.yaml` for matches, `ops.push_approvals` / `ops.push_review` for
pushes), so the CLI and the review UI (`sync_platform.review_ui`) share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.identity.review import pending_matches
from sync_platform.engines.mapping import pending


@dataclass(frozen=True)
class QueueItem:
    kind: str  # "mapping" | "match" | "push"
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
        items += push_items(warehouse)
    return items


def push_items(warehouse: Path | str) -> list[QueueItem]:
    """Mass changes held by the guard, then creates the push did not dare to make."""
    from sync_platform.engines.push import open_reviews, pending_approvals

    if not Path(warehouse).exists():
        return []
    items = [QueueItem("push", a["approval_id"], f"{a['target']}.{a['table_name']}: "
                       f"{a['changes']} changes held (mass-change guard)", 0.0,
                       f"would change {float(a['share']):.0%} of {a['target_records'] or 'unknown'} "
                       f"records (limit {float(a['threshold']):.0%})",
                       f"sync-platform push-approve {a['approval_id']}")
             for a in pending_approvals(warehouse, sample=0)]
    return items + [QueueItem("push", r["idempotency_key"], f"{r['target']}.{r['table_name']}: "
                              f"create {r['golden_id']}?", 0.0, r["reason"] or "",
                              f"sync-platform push-review --decide {r['idempotency_key']} "
                              "--action create|match|skip")
                    for r in open_reviews(warehouse)]
