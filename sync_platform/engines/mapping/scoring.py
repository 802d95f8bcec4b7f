"""Calibrated confidence for candidate correspondences, one-to-one assignment and 1:n / n:1 rules.

confidence = sigmoid(A * (BIAS + WEIGHTS · features) + B). The weights were set by hand so that
the evidence levels rank where they should (exact or synonym name + same semantic type first,
fuzzy name alone low, contradicting types capped); PLATT = (A, B) is a monotone calibration fit by
logistic regression on the benchmark candidates (`benchmarks/mapping_accuracy.py --fit`, see
below). A full refit of the eight weights was tried and rejected: on the system-to-system
benchmark it gives `pattern` a negative weight and `exact` almost none, which breaks the entity
scoring tests; free Platt scaling (A and B) auto-applies proposals the sandbox expects to be
reviewed and let a wrong rule into the >= 0.95 band out of sample. Caps then keep
client-specific custom fields and system keys below the auto-apply threshold whatever the score.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from sync_platform.engines.canonical import CanonicalEntity, SemanticType, TransformStep
from sync_platform.engines.mapping import steps as step_rules
from sync_platform.engines.mapping.features import Features, Target, compute, semantic_of
from sync_platform.engines.mapping.knowledge import Knowledge
from sync_platform.engines.mapping.names import (
    custom_reason,
    system_column,
    system_key_reason,
    tokens,
)

# exact, synonym, fuzzy, type_score, overlap, pattern, learned, relationship
WEIGHTS = (4.3, 4.0, 4.2, 1.6, 2.5, 0.8, 5.0, 1.2)
BIAS = -6.4
# Platt scaling of the evidence score: confidence = sigmoid(A * (BIAS + WEIGHTS · features) + B),
# anchored so that the score that gave 0.95 (auto-apply) still gives 0.95: only A is fit, B follows.
# Fit 2026-11-22 by `benchmarks/mapping_accuracy.py --fit` (Newton on the log-loss) on 836
# candidates (78 true, 758 false; every source x target column plus name-split composites) of the
# five benchmark pairs in benchmarks/mapping_cases/ (insurance, helpdesk_contacts,
# ecommerce_orders, hr_employees, erp_customers), before and after leave-one-out learning; the
# sandbox was not used (it is the held-out acceptance set). ECE of the accepted proposals
# 0.264 -> 0.211 in-sample, 0.230 with leave-one-pair-out fits.
PLATT = (0.772, 0.672)
CUSTOM_CAP = 0.60  # a custom field can be proposed, never auto-applied to a standard field
SYSTEM_KEY_CAP = 0.30
FLOOR = 0.05  # candidates whose uncalibrated score is below this are not kept at all


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def floor() -> float:
    """FLOOR in calibrated terms, so calibration does not change which candidates are kept."""
    if FLOOR <= 0:
        return FLOOR
    return sigmoid(PLATT[0] * math.log(FLOOR / (1 - FLOOR)) + PLATT[1])


def confidence(features: Features) -> float:
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, features.vector(), strict=True))
    return sigmoid(PLATT[0] * z + PLATT[1])


@dataclass
class Candidate:
    sources: list[str]
    targets: list[str]
    confidence: float
    evidence: str
    transform: list[TransformStep] = field(default_factory=list)
    features: list[float] = field(default_factory=list)
    rank: int = 0  # rank among the candidates for the same target (1 = best)
    accepted: bool = False  # won the one-to-one assignment

    @property
    def kind(self) -> str:
        if len(self.sources) == 1 and len(self.targets) == 1:
            return "1:1"
        return "1:n" if len(self.sources) == 1 else "n:1"


def _explain(features: Features, conf: float, cap: str | None) -> str:
    reasons = [r for r in features.reasons if r]
    if not reasons:
        reasons = ["no name, synonym or value evidence"]
    text = "; ".join(reasons) + f" → {conf:.2f}"
    return text + (f"; capped: {cap}" if cap else "")


def _score(profile: Any, target: Target, context: dict,
           external_id_field: str | None = None) -> tuple[float, Features, str | None]:
    feats = compute(profile, target, **context)
    conf = confidence(feats)
    cap = None
    key = system_key_reason(profile.column_name, external_id_field)
    custom = custom_reason(profile.column_name)
    if key and conf > SYSTEM_KEY_CAP:
        conf, cap = SYSTEM_KEY_CAP, f"{key}, never auto-applied"
    elif custom and conf > CUSTOM_CAP:
        conf, cap = CUSTOM_CAP, f"{custom}: a client-specific custom field is never auto-applied to a standard field"
    elif feats.type_score <= -1 and conf > 0.8:
        conf, cap = 0.8, "values contradict the field's type"
    return conf, feats, cap


def _first(targets: list[Target], *semantic: SemanticType, names: tuple[str, ...] = ()) -> Target | None:
    for t in targets:
        if "_".join(tokens(t.name)) in names:
            return t
    for t in targets:
        if names and any("_".join(tokens(t.name)).endswith("_" + n) for n in names):
            return t
    return next((t for t in targets if t.semantic_type in semantic), None)


def composites(profiles: list[Any], targets: list[Target], context: dict,
               single: dict[tuple[str, str], float]) -> list[Candidate]:
    """1:n (full name -> first+last, address block -> parts, currency text -> amount+code) and
    n:1 (address lines -> street, first+last -> full name) candidates."""
    out: list[Candidate] = []
    by_name = {t.name: t for t in targets}
    first = _first(targets, SemanticType.FIRST_NAME, names=("first_name", "given_name", "fname"))
    last = _first(targets, SemanticType.LAST_NAME, names=("last_name", "family_name", "surname"))
    full = _first(targets, SemanticType.PERSON_FULL_NAME)
    for p in profiles:
        if first and last and first is not last:
            pseudo = Target(name="full_name", semantic_type=SemanticType.PERSON_FULL_NAME,
                            synonyms=["fullname", "person_name", "employee_name", "contact_name",
                                      "name", "display_name"])
            conf, feats, cap = _score(p, pseudo, context)
            if feats.type_score > -0.5 and (feats.exact or feats.synonym) and not (
                    feats.type_score <= 0 and tokens(p.column_name) == ["name"]):
                if feats.type_score <= 0:
                    conf = min(conf, 0.9)
                out.append(Candidate([p.column_name], [first.name, last.name], conf,
                                     "full name split into first and last name: "
                                     + _explain(feats, conf, cap),
                                     [TransformStep(kind="split_name")], feats.vector()))
        parts = [_first(targets, s) for s in (SemanticType.STREET, SemanticType.CITY,
                                              SemanticType.STATE, SemanticType.POSTAL_CODE,
                                              SemanticType.COUNTRY)]
        if all(parts) and semantic_of(p) == SemanticType.ADDRESS_BLOCK:
            pseudo = Target(name="address", semantic_type=SemanticType.ADDRESS_BLOCK,
                            synonyms=["full_address", "address_block", "mailing_address",
                                      "postal_address", "location"])
            conf, feats, cap = _score(p, pseudo, context)
            out.append(Candidate([p.column_name], [t.name for t in parts if t], conf,
                                 "address block split into parts: " + _explain(feats, conf, cap),
                                 [TransformStep(kind="split_address")], feats.vector()))
        currency = _first(targets, SemanticType.CURRENCY_CODE)
        if currency and step_rules.currency_text(p):
            amounts = [(single.get((p.column_name, t.name), 0.0), t) for t in targets
                       if t.semantic_type == SemanticType.CURRENCY_AMOUNT]
            if amounts:
                conf, amount = max(amounts, key=lambda pair: pair[0])
                out.append(Candidate([p.column_name], [amount.name, currency.name], conf * 0.99,
                                     f"amount written with its currency: amount to {amount.name}, "
                                     f"currency code to {currency.name}",
                                     [TransformStep(kind="currency")]))
    # n:1 address lines -> street (only when the target has a single street field)
    street = by_name.get("street") or _first(targets, SemanticType.STREET)
    street_fields = [t for t in targets if t.semantic_type == SemanticType.STREET]
    lines = sorted((p for p in profiles if _line_number(p.column_name)),
                   key=lambda p: _line_number(p.column_name))
    if street and len(street_fields) == 1 and len(lines) >= 2:
        base = max(single.get((lines[0].column_name, street.name), 0.0), 0.0)
        if base > 0.2:
            names = [p.column_name for p in lines]
            out.append(Candidate(names, [street.name], base * 0.99,
                                 f"address lines {', '.join(names)} joined into {street.name}",
                                 [TransformStep(kind="join", params={"separator": ", "})]))
    if full is not None:
        firsts = [p for p in profiles if semantic_of(p) == SemanticType.FIRST_NAME
                  or tokens(p.column_name)[-2:] == ["first", "name"]]
        lasts = [p for p in profiles if semantic_of(p) == SemanticType.LAST_NAME
                 or tokens(p.column_name)[-2:] == ["last", "name"]]
        if firsts and lasts:
            conf = 0.9 if tokens(full.name)[-1:] == ["name"] else 0.7
            out.append(Candidate([firsts[0].column_name, lasts[0].column_name], [full.name], conf,
                                 f"first and last name joined into {full.name}",
                                 [TransformStep(kind="join", params={"separator": " "})]))
    return out


def _line_number(name: str) -> int:
    parts = tokens(name)
    joined = "_".join(parts)
    match = re.search(r"(?:line|addr|address|street)_?(\d)$", joined)
    return int(match.group(1)) if match and any(
        t in ("line", "addr", "address", "street") or t.startswith(("addr", "line"))
        for t in parts) else 0


def score_table(profiles: list[Any], targets: list[Target], *, entity: str, knowledge: Knowledge,
                kind: str | None = None, preset: str | None = None,
                external_id_field: str | None = None,
                related_columns: set[str] | None = None) -> list[Candidate]:
    """Every candidate (above FLOOR) for one source table, ranked per target, assigned greedily."""
    context = {"entity": entity, "knowledge": knowledge, "kind": kind, "preset": preset}
    candidates: list[Candidate] = []
    single: dict[tuple[str, str], float] = {}
    usable = [p for p in profiles if not system_column(p.column_name)]
    for p in usable:
        best: Candidate | None = None
        for t in targets:
            related = bool(related_columns and p.column_name in related_columns)
            conf, feats, cap = _score(p, t, {**context, "related": related}, external_id_field)
            single[(p.column_name, t.name)] = conf
            candidate = Candidate([p.column_name], [t.name], conf, _explain(feats, conf, cap),
                                  step_rules.choose(p, t), feats.vector())
            if conf >= floor():
                candidates.append(candidate)
            elif best is None or conf > best.confidence:
                best = candidate
        if best is not None and not any(p.column_name in c.sources for c in candidates):
            # Every field gets a proposal, so a new one is seen in review: here the best weak guess.
            why = custom_reason(p.column_name) or "no canonical field fits"
            best.evidence = (f"no good match ({why}); best guess only. Extend "
                             f"mappings/entities/{entity}.yaml or reject. " + best.evidence)
            candidates.append(best)
    candidates += composites(usable, targets, context, single)
    assign(candidates)
    return candidates


def assign(candidates: list[Candidate]) -> None:
    """Greedy one-to-one by confidence: each source column and target field is used once."""
    order = sorted(candidates, key=lambda c: (-c.confidence, c.kind != "1:1", c.sources, c.targets))
    used_sources: set[str] = set()
    used_targets: set[str] = set()
    for c in order:
        if used_sources.isdisjoint(c.sources) and used_targets.isdisjoint(c.targets):
            c.accepted = True
            used_sources.update(c.sources)
            used_targets.update(c.targets)
    per_target: dict[str, list[Candidate]] = {}
    for c in order:
        for t in c.targets:
            per_target.setdefault(t, []).append(c)
    for group in per_target.values():
        for rank, c in enumerate(group, start=1):
            c.rank = rank if c.rank == 0 else min(c.rank, rank)


def entity_targets(entity: CanonicalEntity, knowledge: Knowledge) -> list[Target]:
    from sync_platform.engines.mapping.features import targets_from_entity

    return targets_from_entity(entity, knowledge)
