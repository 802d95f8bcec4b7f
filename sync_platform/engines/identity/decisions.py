"""Match review decisions: merge, split and not-a-match, kept in `mappings/matches/<entity>.yaml`.

A decision links one record (`record`) with one or more others (`with`), by record key
`system|table|source_id`:
- merge: must-link. The records end up in one golden record, whatever the scores say.
- not_a_match: cannot-link. The records never share a golden record, not even through others.
- split: cannot-link for records that were in one golden record (a pair, or one record taken out
  of its golden record: `with` lists every other member at decision time).

Every run (incremental or full rebuild) applies all decisions; later decisions win over earlier
contradicting ones. The decided pairs are also labelled training data for the matcher's weights.
The file is plain YAML so a reviewer's decisions are versioned and reviewable like mappings.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from sync_platform import settings
from sync_platform.engines.catalog.loader import read_yaml, validate_model

Action = Literal["merge", "split", "not_a_match"]
HEADER = ("# Match review decisions for {entity}: honoured by every resolution run (never\n"
          "# overridden by scores). Written by `sync-platform matches merge|split|not-a-match`.\n")


class MatchDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    action: Action
    record: str
    with_: list[str] = Field(alias="with", min_length=1)
    who: str
    when: datetime
    score: float | None = None  # the pair's match probability when decided
    evidence: str | None = None
    note: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        return [tuple(sorted((self.record, other))) for other in self.with_
                if other != self.record]

    @property
    def links(self) -> bool:
        return self.action == "merge"


class MatchDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str
    decisions: list[MatchDecision] = Field(default_factory=list)

    def constraints(self) -> dict[tuple[str, str], tuple[bool, str, str]]:
        """(key_a, key_b) sorted -> (must link?, decision id, action); the latest decision of a
        pair wins."""
        out: dict[tuple[str, str], tuple[bool, str, str]] = {}
        for decision in self.decisions:
            for pair in decision.pairs():
                out[pair] = (decision.links, decision.id, decision.action)
        return out

    def next_id(self) -> str:
        prefix = self.entity[:1].upper()
        numbers = [int(d.id.split("-")[-1]) for d in self.decisions
                   if d.id.split("-")[-1].isdigit()]
        return f"M{prefix}-{max(numbers, default=0) + 1:04d}"


def decisions_path(entity: str, mappings_dir: Path | str | None = None) -> Path:
    root = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    return root / "matches" / f"{entity}.yaml"


def load_decisions(entity: str, mappings_dir: Path | str | None = None) -> MatchDecisions:
    """The entity's decisions; none when the file does not exist. A broken hand-edit is a
    CatalogError naming the file and the field."""
    path = decisions_path(entity, mappings_dir)
    if not path.is_file():
        return MatchDecisions(entity=entity)
    data = read_yaml(path) or {"entity": entity}
    return validate_model(path, MatchDecisions, data)


def record_decision(entity: str, action: Action, record: str, others: list[str], *, who: str,
                    score: float | None = None, evidence: str | None = None,
                    note: str | None = None,
                    mappings_dir: Path | str | None = None) -> MatchDecision:
    """Append one decision to the entity's file and return it."""
    others = [o for o in dict.fromkeys(others) if o != record]
    if not others:
        raise ValueError("a decision needs at least one other record")
    current = load_decisions(entity, mappings_dir)
    decision = MatchDecision(id=current.next_id(), action=action, record=record,
                             with_=others, who=who, when=datetime.now(UTC), score=score,
                             evidence=evidence, note=note)
    current.decisions.append(decision)
    path = decisions_path(entity, mappings_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(current.model_dump(mode="json", by_alias=True, exclude_none=True),
                          sort_keys=False, allow_unicode=True, width=100)
    path.write_text(HEADER.format(entity=entity) + body, encoding="utf-8")
    return decision


def pair_id(entity: str, key_a: str, key_b: str) -> str:
    """Short stable id of a candidate pair, used to name it in the review queue."""
    a, b = sorted((key_a, key_b))
    digest = hashlib.sha1(f"{entity}\n{a}\n{b}".encode()).hexdigest()[:10]
    return f"{entity}:{digest}"
