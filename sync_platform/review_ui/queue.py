"""What the review page shows: the shared review queue read through the same engine functions as
the CLI (`mapping.pending`, `identity.review.pending_matches`, `push.pending_approvals`,
`push.open_reviews`), turned into plain dicts for the templates.

Values are only formatted here, never escaped: the templates escape everything they show.
Personal data (canonical fields marked `pii: true`, the columns mapped to them, a push's
sensitive fields) is shown masked, as in every other place outside the target systems.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.identity.review import pending_matches
from sync_platform.engines.mapping import load_mappings, pending
from sync_platform.engines.mapping.pii import is_pii, pii_columns
from sync_platform.engines.push import open_reviews, pending_approvals
from sync_platform.engines.push.redact import pii_mask

SHOWN = 30  # cards per section; the rest wait until these are decided
TARGET_COLUMNS = 3  # other systems' columns shown next to a proposal's source values
MAX_TEXT = 300

HELD_REASON = "cluster flagged"  # golden.<entity>_review reason of a held cluster's pairs


@dataclass(frozen=True)
class Sources:
    """Where decisions are read from and written to: the same places the CLI uses."""

    mappings_dir: Path
    warehouse: Path

    def warehouse_or_none(self) -> Path | None:
        return self.warehouse if self.warehouse.exists() else None


def text(value: Any) -> str:
    """A value as a person reads it (bounded; escaping is the template's job)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, float):
        value = f"{value:.6g}"
    out = str(value)
    return out if len(out) <= MAX_TEXT else out[:MAX_TEXT - 1] + "…"


def shown(value: Any, personal: bool) -> str:
    """`text(value)`, or its personal-data mask."""
    return text(pii_mask(value) if personal else value)


def dom_id(prefix: str, *parts: str) -> str:
    return prefix + "-" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]


def _level(confidence: float) -> str:
    return "high" if confidence >= 0.85 else "medium" if confidence >= 0.6 else "low"


# --- mapping proposals ---------------------------------------------------------------------------
def mapping_cards(src: Sources, entities: dict | None = None) -> list[dict[str, Any]]:
    items = pending(src.mappings_dir, src.warehouse_or_none())
    if not items:
        return []
    entities = load_entities(src.mappings_dir) if entities is None else entities
    loaded = load_mappings(src.mappings_dir)
    pii_by_system: dict[str, set[str]] = {}

    def pii_of(system: str) -> set[str]:
        if system not in pii_by_system:
            pii_by_system[system] = pii_columns(src.mappings_dir, system, loaded, entities)
        return pii_by_system[system]

    cards = []
    for item in items:
        entity = entities.get(item["entity"])
        pii_targets = {f.name for f in entity.fields if f.pii} if entity else set()
        personal = bool(pii_targets & set(item["target_fields"]))
        columns = []
        for field in item["source_fields"]:
            values = item["source_samples"].get(field, [])
            masked = personal or is_pii(field, pii_of(item["source_system"]))
            columns.append({"role": "this system", "title": f"{item['source_system']}."
                            f"{item['source_table']}.{field}", "masked": masked,
                            "values": [shown(v, masked) for v in values]})
        for where, values in list(item["target_samples"].items())[:TARGET_COLUMNS]:
            system, column = where.split(".", 1)[0], where.rsplit(".", 1)[-1]
            masked = personal or is_pii(column, pii_of(system))
            columns.append({"role": f"already mapped to {'+'.join(item['target_fields'])}",
                            "title": where, "masked": masked,
                            "values": [shown(v, masked) for v in values]})
        current = "+".join(item["target_fields"])
        fields = [{"value": f.name, "label": f.name, "description": f.description,
                   "selected": f.name == current} for f in (entity.fields if entity else [])]
        if len(item["target_fields"]) > 1:
            fields.insert(0, {"value": current, "label": " + ".join(item["target_fields"]),
                              "description": "the proposed combination", "selected": True})
        source_field = item["source_fields"][0]
        cards.append({
            "dom_id": dom_id("m", item["mapping_id"], source_field),
            "mapping_id": item["mapping_id"], "system": item["source_system"],
            "table": item["source_table"], "entity": item["entity"],
            "source_field": source_field, "sources": " + ".join(item["source_fields"]),
            "targets": " + ".join(item["target_fields"]), "kind": item["kind"],
            "confidence": float(item["confidence"]),
            "percent": round(float(item["confidence"]) * 100),
            "level": _level(float(item["confidence"])), "evidence": item["evidence"],
            "transform": ", ".join(step["kind"] for step in item["transform"]),
            "columns": columns,
            "rows": [list(r) for r in zip_longest(*(c["values"] for c in columns), fillvalue="")],
            "fields": fields, "personal": any(c["masked"] for c in columns)})
    return cards


# --- uncertain matches ---------------------------------------------------------------------------
def match_cards(src: Sources, limit: int = SHOWN,
                entities: dict | None = None) -> tuple[list[dict[str, Any]], bool]:
    """(cards, whether more are waiting than shown)."""
    warehouse = src.warehouse_or_none()
    if warehouse is None:
        return [], False
    items = pending_matches(warehouse, None, src.mappings_dir, limit=limit + 1)
    entities = load_entities(src.mappings_dir) if entities is None else entities
    cards = []
    for item in items[:limit]:
        entity = entities.get(item.entity)
        personal = {f.name for f in entity.fields if f.pii} if entity else set()
        rows = [{"field": "golden id", "a": text(item.golden_a), "b": text(item.golden_b),
                 "same": item.golden_a == item.golden_b}]
        for name in dict.fromkeys([*item.record_a, *item.record_b]):
            a, b = item.record_a.get(name), item.record_b.get(name)
            if a is None and b is None:
                continue
            rows.append({"field": name, "a": shown(a, name in personal),
                         "b": shown(b, name in personal), "same": a == b})
        held = item.reason.startswith(HELD_REASON) and item.golden_a == item.golden_b
        cards.append({
            "dom_id": dom_id("x", item.id), "id": item.id, "entity": item.entity,
            "key_a": item.key_a, "key_b": item.key_b, "score": item.score,
            "percent": round(item.score * 100), "level": _level(item.score),
            "reason": item.reason, "evidence": item.evidence, "rows": rows,
            "together": item.golden_a is not None and item.golden_a == item.golden_b,
            "held": held, "golden_id": item.golden_a if held else None})
    return cards, len(items) > limit


# --- pushes --------------------------------------------------------------------------------------
def _changes(payload: dict[str, Any], before: dict[str, Any] | None) -> list[dict[str, str]]:
    out = []
    for name, value in payload.items():
        old = (before or {}).get(name)
        if before is not None and old == value:
            continue
        out.append({"field": name, "before": text(old), "after": text(value)})
    return out


def approval_cards(src: Sources, sample: int = 5) -> list[dict[str, Any]]:
    warehouse = src.warehouse_or_none()
    if warehouse is None:
        return []
    cards = []
    for a in pending_approvals(warehouse, sample=sample)[:SHOWN]:
        cards.append({
            "dom_id": dom_id("p", a["approval_id"]), "id": a["approval_id"],
            "target": a["target"], "table": a["table_name"], "changes": a["changes"],
            "target_records": a["target_records"],
            "share": round(float(a["share"]) * 100), "threshold": round(float(a["threshold"]) * 100),
            "requested_at": text(a["requested_at"]),
            "writes": [{"golden_id": w["golden_id"], "operation": w["operation"],
                        "changes": _changes(w["payload"], w["before"])} for w in a["writes"]]})
    return cards


def _candidates(stored: str | None) -> list[dict[str, str]]:
    """The stored candidate list (a Python literal of dicts with `target_key`), or [] when it
    is not one (it is shown as text then)."""
    try:
        parsed = ast.literal_eval(stored or "")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return []
    if not isinstance(parsed, list):
        return []
    out = []
    for c in parsed:
        if isinstance(c, dict) and c.get("target_key") is not None:
            details = ", ".join(f"{k.replace('_', ' ')}: {text(v)}" for k, v in c.items()
                                if k != "target_key" and v is not None)
            out.append({"key": text(c["target_key"]), "details": details})
    return out


def push_review_cards(src: Sources) -> list[dict[str, Any]]:
    warehouse = src.warehouse_or_none()
    if warehouse is None:
        return []
    cards = []
    for r in open_reviews(warehouse)[:SHOWN]:
        candidates = _candidates(r["candidates"])
        cards.append({
            "dom_id": dom_id("r", r["idempotency_key"]), "key": r["idempotency_key"],
            "target": r["target"], "table": r["table_name"], "entity": r["entity"],
            "golden_id": r["golden_id"], "reason": text(r["reason"]),
            "candidates": candidates,
            "candidates_text": "" if candidates else text(r["candidates"])})
    return cards


# --- the whole page ------------------------------------------------------------------------------
BUSY = ("the warehouse is busy (a run is writing it) or unreadable right now: reload in a "
        "moment")


def load_queue(src: Sources) -> dict[str, Any]:
    """Every section of the page; a section that cannot be read says so instead of failing."""
    problems: list[str] = []
    entities = load_entities(src.mappings_dir)

    def section(name: str, read, empty):
        try:
            return read()
        except duckdb.Error as exc:
            problems.append(f"{name}: {BUSY} ({text(exc)})")
            return empty

    mappings = section("mapping proposals", lambda: mapping_cards(src, entities), [])
    matches, more = section("matches", lambda: match_cards(src, entities=entities), ([], False))
    approvals = section("blocked pushes", lambda: approval_cards(src), [])
    reviews = section("push questions", lambda: push_review_cards(src), [])
    return {"mappings": mappings[:SHOWN], "mappings_total": len(mappings),
            "matches": matches, "matches_more": more, "approvals": approvals,
            "push_reviews": reviews, "problems": problems,
            "total": len(mappings) + len(matches) + len(approvals) + len(reviews),
            "warehouse_missing": not src.warehouse.exists()}
