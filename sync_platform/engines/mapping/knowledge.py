"""What the analyzer knows beyond the canonical model: seed synonyms, decisions, learned priors.

Files under `mappings/knowledge/` (reviewable, in git):
- `synonyms.yaml`: general domain synonyms (groups of phrases that mean the same), seeded by people;
- `decisions.yaml`: every human decision (approve / reject / correct), append-only;
- `learned.yaml`: priors learned from decisions: synonyms (normalised source name -> target field,
  scoped by entity and optionally system kind/preset), negatives (rejected pairs), value patterns
  (semantic type / pattern of the source -> target) and value rules (typical values -> target).
  Each learned item names the decision it came from, so `explain()` can answer "why?".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from sync_platform import settings
from sync_platform.engines.catalog.loader import read_yaml
from sync_platform.engines.mapping.names import compact, tokens


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SynonymFile(_Model):
    """`knowledge/synonyms.yaml`: groups of words/phrases that mean the same thing."""

    groups: list[list[str]] = Field(default_factory=list)
    fields: dict[str, dict[str, list[str]]] = Field(default_factory=dict)  # entity -> field -> names


class DecisionContext(_Model):
    system: str | None = None
    system_kind: str | None = None
    preset: str | None = None
    entity: str | None = None
    data_type: str | None = None
    industry: str | None = None


class Decision(_Model):
    id: str
    when: datetime
    who: str
    mapping: str
    source_field: list[str]
    target: list[str]
    previous_target: list[str] = Field(default_factory=list)
    action: Literal["approve", "reject", "correct"]
    context: DecisionContext = Field(default_factory=DecisionContext)


class DecisionFile(_Model):
    decisions: list[Decision] = Field(default_factory=list)


class LearnedSynonym(_Model):
    source: str  # normalised source name (snake_case tokens)
    target: str
    entity: str
    system_kind: str | None = None
    preset: str | None = None
    decision: str


class LearnedPattern(_Model):
    semantic_type: str | None = None
    pattern: str | None = None
    target: str
    entity: str
    decision: str


class LearnedValueRule(_Model):
    values: list[str]  # normalised typical values of the source column
    target: str
    entity: str
    decision: str


class LearnedFile(_Model):
    synonyms: list[LearnedSynonym] = Field(default_factory=list)
    negatives: list[LearnedSynonym] = Field(default_factory=list)
    patterns: list[LearnedPattern] = Field(default_factory=list)
    value_rules: list[LearnedValueRule] = Field(default_factory=list)


def knowledge_dir(mappings_dir: Path | str | None) -> Path:
    return (Path(mappings_dir) if mappings_dir else settings.mappings_dir()) / "knowledge"


def _read(path: Path, model: type[_Model]) -> Any:
    if not path.exists():
        return model()
    raw = read_yaml(path) or {}
    return model.model_validate(raw)


def _write(path: Path, model: _Model, header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(model.model_dump(mode="json", exclude_none=True), sort_keys=False,
                          allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")


def norm_value(value: object) -> str:
    """A value reduced for overlap comparisons: lower case, alphanumerics only."""
    return "".join(ch for ch in str(value).lower() if ch.isalnum())


class Knowledge:
    """Seed synonyms plus learned priors, with the lookups the scorer needs."""

    def __init__(self, synonyms: SynonymFile, learned: LearnedFile, decisions: DecisionFile):
        self.synonyms, self.learned, self.decisions = synonyms, learned, decisions
        self._groups = [[tokens(p) for p in group] for group in synonyms.groups]

    @classmethod
    def load(cls, mappings_dir: Path | str | None = None) -> Knowledge:
        folder = knowledge_dir(mappings_dir)
        return cls(_read(folder / "synonyms.yaml", SynonymFile),
                   _read(folder / "learned.yaml", LearnedFile),
                   _read(folder / "decisions.yaml", DecisionFile))

    @classmethod
    def empty(cls) -> Knowledge:
        return cls(SynonymFile(), LearnedFile(), DecisionFile())

    def save(self, mappings_dir: Path | str | None = None) -> None:
        folder = knowledge_dir(mappings_dir)
        _write(folder / "learned.yaml", self.learned,
               "# Learned from human mapping decisions (written by the platform; see decisions.yaml).\n")
        _write(folder / "decisions.yaml", self.decisions,
               "# Every human mapping decision, append-only. Automatic runs never override these.\n")

    # --- lookups -------------------------------------------------------------------------
    def variants(self, parts: list[str], limit: int = 40) -> set[str]:
        """Compact spellings of a token list with every domain synonym phrase substituted once."""
        found = {compact(parts)}
        for group in self._groups:
            for phrase in group:
                n = len(phrase)
                for i in range(len(parts) - n + 1):
                    if parts[i: i + n] == phrase:
                        for other in group:
                            if other != phrase:
                                found.add(compact(parts[:i] + other + parts[i + n:]))
                if len(found) >= limit:
                    return found
        return found

    def field_synonyms(self, entity: str, field: str) -> list[str]:
        return self.synonyms.fields.get(entity, {}).get(field, [])

    def learned_synonym(self, source: str, target: str, entity: str, kind: str | None = None,
                        preset: str | None = None) -> tuple[float, str | None]:
        """1.0 for a learned synonym in the same scope, 0.8 for the entity only; -1 when rejected."""
        key = compact(tokens(source))
        for item in self.learned.negatives:
            if compact(tokens(item.source)) == key and item.target == target and item.entity == entity:
                return -1.0, f"rejected before ({item.decision})"
        best, why = 0.0, None
        for item in self.learned.synonyms:
            if compact(tokens(item.source)) != key or item.target != target or item.entity != entity:
                continue
            scoped = (item.system_kind in (None, kind)) and (item.preset in (None, preset))
            score = 1.0 if scoped else 0.8
            if score > best:
                best, why = score, f"learned synonym from decision {item.decision}"
        return best, why

    def learned_pattern(self, semantic_type: str | None, pattern: str | None, target: str,
                        entity: str) -> tuple[float, str | None]:
        for item in self.learned.patterns:
            if item.target != target or item.entity != entity:
                continue
            if pattern and item.pattern == pattern:
                return 1.0, f"same value pattern as decision {item.decision}"
        return 0.0, None

    def learned_values(self, values: set[str], target: str, entity: str) -> tuple[float, str | None]:
        best, why = 0.0, None
        for item in self.learned.value_rules:
            if item.target != target or item.entity != entity or not item.values or not values:
                continue
            overlap = len(values & set(item.values)) / min(len(values), len(item.values))
            if overlap > best:
                best, why = overlap, f"typical values as in decision {item.decision}"
        return best, why

    def learned_targets(self, entity: str) -> dict[str, list[str]]:
        """target field -> learned source names (used as extra synonyms of the field)."""
        out: dict[str, list[str]] = {}
        for item in self.learned.synonyms:
            if item.entity == entity:
                out.setdefault(item.target, []).append(item.source)
        return out

    # --- learning --------------------------------------------------------------------------
    def next_decision_id(self) -> str:
        return f"d{len(self.decisions.decisions) + 1:05d}"

    def record(self, decision: Decision, profile: Any | None = None,
               values: list[str] | None = None) -> None:
        """Append a decision and learn from it (corrections and approvals teach; rejects warn)."""
        self.decisions.decisions.append(decision)
        ctx = decision.context
        entity = ctx.entity or ""
        if len(decision.source_field) != 1:
            return
        source = "_".join(tokens(decision.source_field[0]))
        if decision.action == "reject":
            for target in decision.target:
                self.learned.negatives.append(LearnedSynonym(
                    source=source, target=target, entity=entity, decision=decision.id))
            return
        if len(decision.target) != 1:
            return
        target = decision.target[0]
        if decision.action == "correct":
            for old in decision.previous_target:
                if old != target:
                    self.learned.negatives.append(LearnedSynonym(
                        source=source, target=old, entity=entity, decision=decision.id))
        self.learned.negatives = [n for n in self.learned.negatives
                                  if not (n.source == source and n.target == target
                                          and n.entity == entity)]
        if not any(s.source == source and s.target == target and s.entity == entity
                   for s in self.learned.synonyms):
            self.learned.synonyms.append(LearnedSynonym(
                source=source, target=target, entity=entity, system_kind=ctx.system_kind,
                preset=ctx.preset, decision=decision.id))
        if profile is not None and getattr(profile, "pattern", None):
            sem = getattr(profile, "semantic_type", None)
            self.learned.patterns.append(LearnedPattern(
                semantic_type=str(sem) if sem is not None else None, pattern=profile.pattern,
                target=target, entity=entity, decision=decision.id))
        if values:
            typical = sorted({norm_value(v) for v in values if norm_value(v)})[:20]
            if typical and len(typical) <= 20:
                self.learned.value_rules.append(LearnedValueRule(
                    values=typical, target=target, entity=entity, decision=decision.id))


def new_decision(knowledge: Knowledge, *, who: str, mapping: str, source_field: list[str],
                 target: list[str], action: str, previous_target: list[str] | None = None,
                 context: DecisionContext | None = None) -> Decision:
    return Decision(id=knowledge.next_decision_id(), when=datetime.now(UTC), who=who,
                    mapping=mapping, source_field=source_field, target=target,
                    previous_target=previous_target or [], action=action,
                    context=context or DecisionContext())


def explain(mappings_dir: Path | str | None = None) -> list[dict]:
    """What was learned, each item with the decision it came from (who, when, what)."""
    knowledge = Knowledge.load(mappings_dir)
    by_id = {d.id: d for d in knowledge.decisions.decisions}
    out: list[dict] = []
    sections = (("synonym", knowledge.learned.synonyms), ("negative", knowledge.learned.negatives),
                ("pattern", knowledge.learned.patterns), ("value_rule", knowledge.learned.value_rules))
    for kind, items in sections:
        for item in items:
            decision = by_id.get(item.decision)
            entry = {"kind": kind, **item.model_dump(exclude_none=True)}
            if decision is not None:
                entry["because"] = (f"{decision.who} {decision.action}ed {decision.mapping} "
                                    f"{'+'.join(decision.source_field)} -> "
                                    f"{'+'.join(decision.target)} at {decision.when:%Y-%m-%d %H:%M}")
            out.append(entry)
    return out
