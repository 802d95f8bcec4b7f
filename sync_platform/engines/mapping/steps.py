"""Which transform steps a proposal needs, from source/target semantic types and value formats.

The step kinds are those the staging engine implements (trim, cast, date, datetime, epoch, phone,
email, currency, scale, boolean, value_map, split_name, join, split_address, domain_from_email,
domain_from_url, country_code, state_code, ...).
"""

from __future__ import annotations

import re
from typing import Any

from sync_platform.engines.canonical import SemanticType, TransformStep
from sync_platform.engines.mapping.features import Target, semantic_of
from sync_platform.engines.mapping.names import tokens

S = SemanticType
TRUE_WORDS = {"true", "t", "yes", "y", "1", "active", "enabled", "on"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "inactive", "disabled", "off", "terminated"}
_CURRENCY_TEXT = re.compile(r"[$€£¥]|^[A-Z]{3}\s|\s[A-Z]{3}$|,\d{3}")


def _step(kind: str, **params: Any) -> TransformStep:
    return TransformStep(kind=kind, params={k: v for k, v in params.items() if v is not None})


def _storage(profile: Any) -> str:
    return str(getattr(profile, "data_type", "") or "").upper()


def _is_text(profile: Any) -> bool:
    storage = _storage(profile)
    return not storage or "CHAR" in storage or "STR" in storage or "TEXT" in storage


def _values(profile: Any) -> list[str]:
    top = [str(v) for v, _ in (getattr(profile, "top_values", None) or [])]
    return top + [str(v) for v in (getattr(profile, "sample_values", None) or [])]


def currency_text(profile: Any) -> bool:
    """Values like '$85,000.00' or 'USD 1200' (amounts written as text with a currency)."""
    values = [v for v in _values(profile) if v]
    return _is_text(profile) and bool(values) and sum(
        bool(_CURRENCY_TEXT.search(v)) for v in values) >= 0.5 * len(values)


def _boolean(profile: Any) -> TransformStep:
    values = {v.strip() for v in _values(profile) if v is not None and v.strip()}
    lowered = {v.lower() for v in values}
    if lowered <= TRUE_WORDS - {"active", "enabled", "on"} | FALSE_WORDS - {
            "inactive", "disabled", "off", "terminated"}:
        return _step("boolean")
    true = sorted(v for v in values if v.lower() in TRUE_WORDS)
    false = sorted(v for v in values if v.lower() not in TRUE_WORDS)
    return _step("boolean", true_values=true or None, false_values=false or None)


def choose(profile: Any, target: Target) -> list[TransformStep]:
    """Steps turning the source column's values into the target field's representation."""
    source = semantic_of(profile)
    goal, name = target.semantic_type, profile.column_name
    text = _is_text(profile)
    fmt = getattr(profile, "value_format", None)
    if goal == S.EMAIL:
        return [_step("email")]
    if goal == S.PHONE:
        return [_step("phone", default_region="US")]
    if goal == S.DOMAIN:
        if source == S.EMAIL:
            return [_step("domain_from_email")]
        if source == S.URL:
            return [_step("domain_from_url")]
        return [_step("trim"), _step("lower")]
    if goal == S.COUNTRY:
        return [_step("trim"), _step("country_code")]
    if goal == S.STATE:
        lengths = getattr(profile, "max_length", None) or 0
        return [_step("trim"), _step("state_code", country="US")] if lengths > 2 else [
            _step("trim"), _step("upper")]
    if target.type == "boolean" or goal == S.BOOLEAN:
        return [] if "BOOL" in _storage(profile) else [_boolean(profile)]
    if target.type in ("date", "datetime") or goal in (S.DATE, S.DATETIME):
        wanted = "date" if target.type == "date" or goal == S.DATE else "datetime"
        if source == S.EPOCH_TIMESTAMP:
            numbers = [float(v) for v in _values(profile) if re.fullmatch(r"\d+(\.\d+)?", v)]
            unit = "ms" if numbers and max(numbers) > 1e11 else "s"
            return [_step("epoch", unit=unit)]
        if text:
            return [_step(wanted, format=fmt)] if wanted == "date" and fmt else (
                [_step("date", format=fmt or "%Y-%m-%d")] if wanted == "date"
                else [_step("datetime", format=fmt)])
        storage = _storage(profile)
        if wanted == "date" and "TIMESTAMP" in storage:
            return [_step("cast", to="date")]
        if wanted == "datetime" and "TIMESTAMP" not in storage:
            return [_step("cast", to="datetime")]
        return []
    if target.type in ("decimal", "integer") or goal in (S.CURRENCY_AMOUNT, S.NUMBER, S.INTEGER):
        steps: list[TransformStep] = []
        if currency_text(profile):
            steps.append(_step("currency"))
        elif text:
            steps.append(_step("cast", to="integer" if target.type == "integer" else "decimal"))
        if "cents" in tokens(name) and "cents" not in tokens(target.name):
            steps.append(_step("scale", factor=0.01))
        return steps
    if not text:
        return [_step("cast", to="string")]
    if goal in (S.FIRST_NAME, S.LAST_NAME, S.PERSON_FULL_NAME, S.CITY, S.STREET,
                S.COMPANY_NAME, S.JOB_TITLE, S.FREE_TEXT, S.POSTAL_CODE, S.ENUM, S.IDENTIFIER):
        return [_step("trim")]
    return [_step("trim")] if text else []


def notes(steps: list[TransformStep]) -> str:
    """Human wording of the steps for the exported mapping document."""
    if not steps:
        return "copy as is"
    out = []
    for step in steps:
        params = ", ".join(f"{k}={v}" for k, v in step.params.items())
        out.append(f"{step.kind}({params})" if params else step.kind)
    return " → ".join(out)
