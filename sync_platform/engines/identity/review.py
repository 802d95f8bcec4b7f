"""Match review: the uncertain pairs of the last run, side by side, and the reviewer's decisions.

`pending_matches` reads `golden.<entity>_review` (written by every resolution run), drops pairs a
decision already covers, and attaches both staged records and their current golden ids.
`decide` records merge / split / not-a-match for a queued pair (by its id) or any two records;
`split_record` takes one record out of its golden record; `accept_cluster` accepts a golden record
held for review (too large or loose) as a whole, as a merge of all its records. Decisions land in
`mappings/matches/<entity>.yaml` (see `decisions`) and are honoured from the next run on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_platform.engines.identity.config import RESOLVED_ENTITIES
from sync_platform.engines.identity.decisions import (
    Action,
    MatchDecision,
    load_decisions,
    pair_id,
    record_decision,
)
from sync_platform.engines.warehouse import connect, quote

HIDDEN_FIELDS = {"source_system", "source_table", "source_id", "row_hash", "staged_at", "_enriched"}


@dataclass
class MatchItem:
    """One pair waiting for a reviewer."""

    id: str
    entity: str
    key_a: str
    key_b: str
    score: float
    evidence: str
    reason: str
    golden_a: str | None = None
    golden_b: str | None = None
    record_a: dict[str, Any] = field(default_factory=dict)
    record_b: dict[str, Any] = field(default_factory=dict)


def _tables(con: Any) -> set[str]:
    return {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'golden'").fetchall()}


def _records(con: Any, entity: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The latest staged row of each record key, canonical fields only."""
    if not keys:
        return {}
    rows = con.execute(f"""
        SELECT * FROM staged.{quote(entity)}
        WHERE source_system || '|' || source_table || '|' || source_id IN (SELECT unnest(?))
        QUALIFY row_number() OVER (PARTITION BY source_system, source_table, source_id
                                   ORDER BY row_hash) = 1""", [keys])
    names = [d[0] for d in rows.description]
    out = {}
    for row in rows.fetchall():
        record = dict(zip(names, row, strict=True))
        key = "|".join(str(record[c]) for c in ("source_system", "source_table", "source_id"))
        out[key] = {k: v for k, v in record.items() if k not in HIDDEN_FIELDS}
    return out


def _golden_ids(con: Any, entity: str, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    return dict(con.execute(f"""
        SELECT source_system || '|' || source_table || '|' || source_id, golden_id
        FROM golden.{quote(entity + '_xref')}
        WHERE source_system || '|' || source_table || '|' || source_id IN (SELECT unnest(?))""",
                            [keys]).fetchall())


def pending_matches(warehouse: Path, entity: str | None = None,
                    mappings_dir: Path | str | None = None,
                    limit: int | None = None) -> list[MatchItem]:
    """Undecided pairs of the last run's review queue, best score first."""
    if not Path(warehouse).exists():
        return []
    entities = [entity] if entity else list(RESOLVED_ENTITIES)
    items: list[MatchItem] = []
    with connect(warehouse, read_only=True) as con:
        tables = _tables(con)
        for name in entities:
            if f"{name}_review" not in tables:
                continue
            decided = set(load_decisions(name, mappings_dir).constraints())
            rows = con.execute(f"SELECT key_a, key_b, score, evidence, reason "
                               f"FROM golden.{quote(name + '_review')} "
                               "ORDER BY score DESC, key_a, key_b").fetchall()
            batch = [MatchItem(pair_id(name, a, b), name, a, b, float(score), evidence or "",
                               reason) for a, b, score, evidence, reason in rows
                     if tuple(sorted((a, b))) not in decided]
            if limit is not None:
                batch = batch[:limit]
            keys = sorted({k for i in batch for k in (i.key_a, i.key_b)})
            records, golden = _records(con, name, keys), _golden_ids(con, name, keys)
            for item in batch:
                item.record_a, item.record_b = records.get(item.key_a, {}), records.get(item.key_b, {})
                item.golden_a, item.golden_b = golden.get(item.key_a), golden.get(item.key_b)
            items.extend(batch)
    items.sort(key=lambda i: (-i.score, i.entity, i.key_a, i.key_b))
    return items[:limit] if limit is not None else items


def find_pair(warehouse: Path, item_id: str) -> MatchItem:
    """A queued pair by its id (`entity:hash`), or KeyError naming what to run."""
    entity = item_id.split(":", 1)[0]
    if entity not in RESOLVED_ENTITIES:
        raise KeyError(f"{item_id!r} is not a match review id (expected e.g. contact:1a2b3c4d5e)")
    with connect(warehouse, read_only=True) as con:
        tables = _tables(con)
        for table in (f"{entity}_review", f"{entity}_pairs"):
            if table not in tables:
                continue
            score_col = "score" if table.endswith("_review") else "probability"
            for a, b, score, evidence in con.execute(
                    f"SELECT key_a, key_b, {score_col}, evidence FROM golden.{quote(table)}"
            ).fetchall():
                if pair_id(entity, a, b) == item_id:
                    return MatchItem(item_id, entity, a, b, float(score), evidence or "", table)
    raise KeyError(f"no pair {item_id!r} in the last run's review queue or candidate pairs; "
                   "list them with: sync-platform matches review")


def decide(warehouse: Path, action: Action, *, item_id: str | None = None,
           records: tuple[str, str] | None = None, entity: str | None = None, who: str,
           note: str | None = None, mappings_dir: Path | str | None = None) -> MatchDecision:
    """Record merge / split / not_a_match for a queued pair or for two record keys."""
    if item_id:
        item = find_pair(warehouse, item_id)
        return record_decision(item.entity, action, item.key_a, [item.key_b], who=who,
                               score=item.score, evidence=item.evidence, note=note,
                               mappings_dir=mappings_dir)
    if not records or not entity:
        raise ValueError("name a review item id, or an entity and two record keys")
    known = _golden_ids_of(warehouse, entity, list(records))
    missing = [k for k in records if k not in known]
    if missing:
        raise KeyError(f"no {entity} record {missing[0]!r} in golden.{entity}_xref "
                       "(keys look like system|table|source_id)")
    return record_decision(entity, action, records[0], [records[1]], who=who, note=note,
                           mappings_dir=mappings_dir)


def _golden_ids_of(warehouse: Path, entity: str, keys: list[str]) -> dict[str, str]:
    with connect(warehouse, read_only=True) as con:
        if f"{entity}_xref" not in _tables(con):
            return {}
        return _golden_ids(con, entity, keys)


def split_record(warehouse: Path, entity: str, record: str, *, who: str,
                 note: str | None = None,
                 mappings_dir: Path | str | None = None) -> MatchDecision:
    """Take one record out of its golden record: kept apart from every other current member."""
    golden = _golden_ids_of(warehouse, entity, [record]).get(record)
    if golden is None:
        raise KeyError(f"no {entity} record {record!r} in golden.{entity}_xref "
                       "(keys look like system|table|source_id)")
    others = [k for k in _members(warehouse, entity, golden) if k != record]
    if not others:
        raise ValueError(f"{record!r} is alone in golden record {golden}; nothing to split")
    return record_decision(entity, "split", record, others, who=who, note=note,
                           mappings_dir=mappings_dir)



def _members(warehouse: Path, entity: str, golden_id: str) -> list[str]:
    with connect(warehouse, read_only=True) as con:
        if f"{entity}_xref" not in _tables(con):
            return []
        return [k for (k,) in con.execute(f"""
            SELECT source_system || '|' || source_table || '|' || source_id
            FROM golden.{quote(entity + '_xref')} WHERE golden_id = ? ORDER BY 1""",
                                          [golden_id]).fetchall()]


def accept_cluster(warehouse: Path, entity: str, golden_id: str, *, who: str,
                   note: str | None = None,
                   mappings_dir: Path | str | None = None) -> MatchDecision:
    """Accept every record of a golden record as one entity (e.g. a cluster held for review)."""
    members = _members(warehouse, entity, golden_id)
    if len(members) < 2:
        raise KeyError(f"golden {entity} {golden_id!r} has {len(members)} records in "
                       f"golden.{entity}_xref; nothing to accept")
    return record_decision(entity, "merge", members[0], members[1:], who=who, note=note,
                           mappings_dir=mappings_dir)
