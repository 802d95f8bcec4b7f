"""Custom survivorship rules: Python functions registered by name with `@survivorship_rule`.

A custom rule is vectorised: it receives every candidate value of one field for all golden ids
whose sources disagree (a DataFrame with columns golden_id, value, source_system, source_table,
source_id, modified_at; `value` is the text form of the value) and returns a score per row
(a Series aligned with the frame). Per golden id the highest score wins; ties and missing
scores fall back to recency, then source_system and source_id. Nulls and empty values never
reach a rule: they never win over a value.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

CustomRule = Callable[[pd.DataFrame], pd.Series]

_REGISTRY: dict[str, CustomRule] = {}


def survivorship_rule(name: str) -> Callable[[CustomRule], CustomRule]:
    """Register the decorated function as the custom rule `name` (usable in the YAML)."""

    def register(function: CustomRule) -> CustomRule:
        _REGISTRY[name] = function
        return function

    return register


def get_rule(name: str) -> CustomRule:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no custom survivorship rule {name!r}; registered: {registered_rules()}") from None


def registered_rules() -> list[str]:
    return sorted(_REGISTRY)


# HubSpot's lifecycle stages in order; a contact only moves forward through them.
LIFECYCLE_ORDER = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                   "opportunity", "customer", "evangelist"]
_LIFECYCLE_RANK = {stage: rank for rank, stage in enumerate(LIFECYCLE_ORDER)}
_LIFECYCLE_ALIASES = {"mql": "marketingqualifiedlead", "sql": "salesqualifiedlead"}


def _lifecycle_key(value: str) -> str:
    key = "".join(ch for ch in value.lower() if ch.isalnum())
    return _LIFECYCLE_ALIASES.get(key, key)


@survivorship_rule("furthest_lifecycle_stage")
def furthest_lifecycle_stage(candidates: pd.DataFrame) -> pd.Series:
    """The stage furthest along the funnel wins ("customer" beats a newer "lead" from a form
    fill); unknown stages ("other") score lowest."""
    keys = candidates["value"].astype(str).map(_lifecycle_key)
    return keys.map(_LIFECYCLE_RANK).astype(float).fillna(-1.0)


@survivorship_rule("earliest_value")
def earliest_value(candidates: pd.DataFrame) -> pd.Series:
    """The earliest date/time wins: for `created_at`, `hire_date` the first system that saw the
    record knows best. Values that are not dates score lowest."""
    parsed = pd.to_datetime(candidates["value"], errors="coerce", utc=True, format="mixed")
    seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return (-seconds).astype(float).fillna(float("-inf"))


_TRUE = {"true", "t", "1", "yes", "y"}


@survivorship_rule("any_true")
def any_true(candidates: pd.DataFrame) -> pd.Series:
    """A true flag from any system wins (an email opt-out recorded anywhere must be honoured)."""
    return candidates["value"].astype(str).str.strip().str.lower().isin(_TRUE).astype(float)
