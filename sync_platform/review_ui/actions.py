"""The decisions a reviewer makes in the page, recorded by the same engine functions the CLI
calls, in the same stores, so the next run honours them:

| page action | CLI | engine | store |
|---|---|---|---|
| approve / reject / correct a mapping | `mappings approve|reject|correct` | `mapping.approve/reject/correct` | mapping YAML, `knowledge/`, `meta.system_mappings` |
| merge / split / not a match | `matches merge|split|not-a-match ID` | `identity.review.decide` | `mappings/matches/<entity>.yaml` |
| accept a held group | `matches accept` | `identity.review.accept_cluster` | same |
| approve / cancel a blocked push | `push-approve` | `push.approve_push` / `push.cancel_push` | `ops.push_approvals`, `ops.push_ledger` |
| create / match / skip a push question | `push-review --decide` | `push.decide_review` | `ops.push_review`, `ops.push_ledger` |

Each returns the sentence the page flashes, or raises `DecisionError` with one for the person.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sync_platform.engines import mapping as mapping_engine
from sync_platform.engines.identity import review as match_engine
from sync_platform.engines.identity.config import RESOLVED_ENTITIES
from sync_platform.review_ui.queue import Sources

MATCH_ACTIONS = {"merge": "merged", "split": "split apart", "not_a_match": "marked not a match"}


class DecisionError(Exception):
    """A decision that could not be recorded; the message is for the reviewer."""


@contextmanager
def _said_to_the_reviewer(*errors: type[BaseException]) -> Iterator[None]:
    """The engine's KeyError / ValueError (etc.) as a DecisionError with its message."""
    try:
        yield
    except errors as exc:
        raise DecisionError(str(exc.args[0] if exc.args else exc).strip('"')) from exc


def _resolved_warehouse(src: Sources) -> Path:
    warehouse = src.warehouse_or_none()
    if warehouse is None:
        raise DecisionError("no warehouse yet: run the resolve job first")
    return warehouse


def decide_mapping(src: Sources, action: str, mapping_id: str, source_field: str,
                   target: str | None, who: str) -> str:
    if action not in ("approve", "reject", "correct"):
        raise DecisionError(f"unknown mapping action {action!r}")
    if not mapping_id or not source_field:
        raise DecisionError("which mapping rule? (mapping and source field are missing)")
    if action == "correct" and not target:
        raise DecisionError("pick the field it should map to")
    warehouse = src.warehouse_or_none()
    with _said_to_the_reviewer(KeyError, FileNotFoundError, ValueError):
        if action == "correct":
            decision = mapping_engine.correct(src.mappings_dir, mapping_id, source_field,
                                              target.split("+"), by=who, warehouse=warehouse)
        else:
            decision = getattr(mapping_engine, action)(src.mappings_dir, mapping_id,
                                                       source_field, by=who,
                                                       warehouse=warehouse)
    done = {"approve": "Approved", "reject": "Rejected", "correct": "Corrected"}[action]
    what = f"{mapping_id}: {source_field}" + (f" → {target}" if action == "correct" else "")
    return f"{done} {what} (decision {decision['id']}); the next run applies it."


def decide_match(src: Sources, action: str, item_id: str, who: str,
                 note: str | None = None) -> str:
    if action not in MATCH_ACTIONS:
        raise DecisionError(f"unknown match action {action!r}")
    with _said_to_the_reviewer(KeyError, ValueError):
        decision = match_engine.decide(_resolved_warehouse(src), action, item_id=item_id,
                                       who=who, note=note, mappings_dir=src.mappings_dir)
    return (f"Recorded {decision.id}: {decision.record} and {', '.join(decision.with_)} "
            f"{MATCH_ACTIONS[action]}; the next resolve run applies it.")


def accept_group(src: Sources, entity: str, golden_id: str, who: str,
                 note: str | None = None) -> str:
    if entity not in RESOLVED_ENTITIES:
        raise DecisionError(f"unknown entity {entity!r}")
    with _said_to_the_reviewer(KeyError, ValueError):
        decision = match_engine.accept_cluster(_resolved_warehouse(src), entity, golden_id,
                                               who=who, note=note, mappings_dir=src.mappings_dir)
    return (f"Recorded {decision.id}: accepted {golden_id} ({len(decision.with_) + 1} records) "
            "as one; the next resolve run releases it.")


def decide_push(src: Sources, action: str, approval_id: str, who: str) -> str:
    from sync_platform.engines.push import approve_push, cancel_push

    if action not in ("approve", "cancel"):
        raise DecisionError(f"unknown push action {action!r}")
    if not src.warehouse.exists():
        raise DecisionError("no warehouse yet: nothing has been pushed")
    with _said_to_the_reviewer(KeyError, ValueError):
        if action == "approve":
            n = approve_push(src.warehouse, approval_id, by=who)
            return (f"Approved {approval_id}: {n} writes released; the next push or push-resume "
                    "sends them.")
        n = cancel_push(src.warehouse, approval_id, by=who)
    return f"Cancelled {approval_id}: {n} writes will not be sent."


def decide_push_review(src: Sources, action: str, key: str, target_key: str | None,
                       who: str) -> str:
    from sync_platform.engines.catalog import CatalogError, load_catalog
    from sync_platform.engines.push import decide_review

    if action == "match" and not target_key:
        raise DecisionError("pick the existing record to match")
    with _said_to_the_reviewer(CatalogError, KeyError, ValueError):
        decide_review(load_catalog(src.mappings_dir), key, action,
                      target_key if action == "match" else None, warehouse=src.warehouse, by=who)
    return f"Decided {key[:12]}…: {action}; the next push or push-resume delivers it."
