"""Evidence for one candidate correspondence (source column -> target field), as numbers.

A target is a canonical field (with its synonyms and the values other systems already map to it)
or a column of another system's table. Every feature is in [-1, 1]; `scoring.py` combines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from sync_platform.engines.canonical import CanonicalEntity, SemanticType, compatible
from sync_platform.engines.mapping.knowledge import Knowledge, norm_value
from sync_platform.engines.mapping.names import compact, strip_affixes, tokens

# Textual types a profiler often confuses with one another: a mismatch among them is weak evidence.
TEXTUAL = {
    SemanticType.FREE_TEXT, SemanticType.ENUM, SemanticType.PERSON_FULL_NAME,
    SemanticType.FIRST_NAME, SemanticType.LAST_NAME, SemanticType.COMPANY_NAME,
    SemanticType.STREET, SemanticType.CITY, SemanticType.STATE, SemanticType.COUNTRY,
    SemanticType.JOB_TITLE, SemanticType.ADDRESS_BLOCK,
}
_BY_DUCKDB_TYPE = (
    ("TIMESTAMP", SemanticType.DATETIME), ("DATE", SemanticType.DATE),
    ("BOOL", SemanticType.BOOLEAN), ("INT", SemanticType.INTEGER), ("DECIMAL", SemanticType.NUMBER),
    ("DOUBLE", SemanticType.NUMBER), ("FLOAT", SemanticType.NUMBER),
)


@dataclass
class Target:
    """A field something can map to."""

    name: str
    semantic_type: SemanticType | None = None
    type: str = "string"  # canonical type (string, integer, decimal, boolean, date, datetime)
    synonyms: list[str] = field(default_factory=list)
    identifier: bool = False
    reference_values: set[str] = field(default_factory=set)  # normalised values mapped elsewhere
    reference_patterns: set[str] = field(default_factory=set)
    reference_from: list[str] = field(default_factory=list)  # "system.table.column" it came from
    learned: list[str] = field(default_factory=list)  # learned source names (from decisions)


@dataclass
class Features:
    exact: float = 0.0  # same name (possibly after removing a system prefix)
    synonym: float = 0.0  # a known synonym (entity, knowledge base or learned)
    fuzzy: float = 0.0  # best fuzzy similarity of the names
    type_score: float = 0.0  # +1 same semantic type, +0.5 compatible, -1 incompatible
    overlap: float = 0.0  # share of source values seen in the field elsewhere
    pattern: float = 0.0  # same value pattern as the field elsewhere / as learned
    learned: float = 0.0  # learned synonym (+1 / +0.8) or learned rejection (-1)
    relationship: float = 0.0  # the column references another table and the field is a reference
    reasons: list[str] = field(default_factory=list)

    def vector(self) -> list[float]:
        return [self.exact, self.synonym, self.fuzzy, self.type_score, self.overlap, self.pattern,
                self.learned, self.relationship]


def semantic_of(profile: Any) -> SemanticType | None:
    """The profile's semantic type, falling back to the storage type when the profiler is unsure."""
    sem = getattr(profile, "semantic_type", None)
    if sem is not None and str(sem) != SemanticType.UNKNOWN:
        return SemanticType(str(sem))
    data_type = str(getattr(profile, "data_type", "") or "").upper()
    for key, semantic in _BY_DUCKDB_TYPE:
        if key in data_type:
            return semantic
    return None


def profile_values(profile: Any) -> set[str]:
    values = {norm_value(v) for v, _ in (getattr(profile, "top_values", None) or [])}
    values |= {norm_value(v) for v in (getattr(profile, "sample_values", None) or [])}
    values.discard("")
    return values


def type_score(source: SemanticType | None, target: SemanticType | None, profile: Any = None) -> float:
    if source is None or target is None:
        return 0.0
    if source == target:
        return 1.0
    if compatible(source, target):
        return 0.5
    if target == SemanticType.BOOLEAN and profile is not None and 0 < (
            getattr(profile, "distinct_count", 0) or 0) <= 2:
        return 0.5  # two distinct values (1/0, Y/N, Active/Inactive) behave as a boolean
    if source in TEXTUAL and target in TEXTUAL:
        return -0.3
    return -1.0


def targets_from_entity(entity: CanonicalEntity, knowledge: Knowledge) -> list[Target]:
    learned = knowledge.learned_targets(entity.entity)
    return [
        Target(name=f.name, semantic_type=f.semantic_type, type=f.type,
               synonyms=list(f.synonyms) + knowledge.field_synonyms(entity.entity, f.name),
               identifier=f.identifier, learned=learned.get(f.name, []))
        for f in entity.fields
    ]


def targets_from_profiles(profiles: list[Any]) -> list[Target]:
    """Another system's columns as targets (system-to-system mapping)."""
    out = []
    for p in profiles:
        if p.column_name.startswith("_"):
            continue
        sem = semantic_of(p)
        out.append(Target(name=p.column_name, semantic_type=sem, type=str(p.data_type or "string"),
                          reference_values=profile_values(p),
                          reference_patterns={p.pattern} if getattr(p, "pattern", None) else set(),
                          reference_from=[f"{p.system}.{p.table_name}.{p.column_name}"]))
    return out


def _name_similarity(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(compact(a), compact(b)), fuzz.token_sort_ratio(" ".join(a), " ".join(b))) / 100


def compute(profile: Any, target: Target, *, entity: str, knowledge: Knowledge,
            kind: str | None = None, preset: str | None = None, related: bool = False) -> Features:
    """Every feature of `profile` (a ColumnProfile) as a candidate for `target`."""
    f = Features()
    column = profile.column_name
    parts = tokens(column)
    stripped, removed = strip_affixes(parts)
    variants = knowledge.variants(parts) | knowledge.variants(stripped)
    target_parts = tokens(target.name)
    synonym_names = [tokens(s) for s in target.synonyms]
    learned_names = [tokens(s) for s in target.learned]

    if compact(parts) == compact(target_parts):
        f.exact = 1.0
        f.reasons.append(f"name '{column}' = '{target.name}'")
    elif compact(stripped) == compact(target_parts):
        f.exact = 1.0
        f.reasons.append(f"name '{column}' = '{target.name}' after removing prefix/suffix "
                         f"'{'_'.join(removed)}'")
    elif compact(target_parts) in variants:
        f.synonym = 1.0
        f.reasons.append(f"'{column}' ≈ '{target.name}' by a knowledge-base synonym")
    if not f.exact and not f.synonym:
        for names, label in ((synonym_names, "synonym of"), (learned_names, "learned synonym of")):
            hit = next((s for s in names if compact(s) in variants), None)
            if hit:
                f.synonym = 1.0
                f.reasons.append(f"'{column}' is a {label} '{target.name}' ('{'_'.join(hit)}')")
                break

    best, best_name = 0.0, ""
    for candidate in [target_parts, *synonym_names, *learned_names]:
        for source in (parts, stripped):
            score = _name_similarity(source, candidate)
            if score > best:
                best, best_name = score, "_".join(candidate)
    f.fuzzy = best
    if not f.exact and not f.synonym and best >= 0.6:
        f.reasons.append(f"name '{column}' ≈ '{best_name}' ({best:.2f})")

    learned, why = knowledge.learned_synonym(column, target.name, entity, kind, preset)
    if learned:
        f.learned = learned
        f.reasons.append(why or "")

    source_type = semantic_of(profile)
    f.type_score = type_score(source_type, target.semantic_type, profile)
    confidence = getattr(profile, "semantic_confidence", None)
    if f.type_score > 0 and source_type is not None:
        share = f" ({confidence:.0%})" if confidence else ""
        f.reasons.append(f"values look like {source_type.value.replace('_', ' ')}{share}")
    elif f.type_score < 0 and source_type is not None and target.semantic_type is not None:
        f.reasons.append(f"values look like {source_type.value.replace('_', ' ')}, the field "
                         f"holds {target.semantic_type.value.replace('_', ' ')}")

    values = profile_values(profile)
    if target.reference_values and values:
        shared = values & target.reference_values
        f.overlap = len(shared) / max(1, min(len(values), len(target.reference_values)))
        if f.overlap >= 0.2:
            where = ", ".join(target.reference_from[:2])
            f.reasons.append(f"{f.overlap:.0%} of sampled values also appear in {where}")
    pattern = getattr(profile, "pattern", None)
    if pattern and pattern in target.reference_patterns:
        f.pattern = 1.0
        f.reasons.append("same value pattern as the field in already-mapped systems")
    else:
        learned_pattern, why = knowledge.learned_pattern(
            str(source_type) if source_type else None, pattern, target.name, entity)
        value_rule, why_values = knowledge.learned_values(values, target.name, entity)
        if learned_pattern or value_rule >= 0.5:
            f.pattern = 1.0
            f.reasons.append((why if learned_pattern else why_values) or "")
    if related and target.identifier is False and target.semantic_type == SemanticType.IDENTIFIER:
        f.relationship = 1.0
        f.reasons.append("the column references another table (relationship)")
    return f
