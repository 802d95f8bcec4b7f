"""What "the same value" means in a diff: one SQL normal form per semantic kind and strictness.

Kinds: text, email, phone, number, date, datetime, boolean. Strictness:
- `exact`: the values as text, byte for byte (NULL differs from '', `1.0` from `1`).
- `normalized` (default): text is NFC-normalised, trimmed and whitespace-collapsed, blank is NULL;
  emails are case-insensitive; numbers compare by value (`1.0` = `1`, `1,000.50` = `1000.5`);
  dates and datetimes by value, parsed from ISO, the profiler's formats (`MM/DD/YYYY` first when
  day/month is ambiguous, `DD.MM.YYYY`, ...) and epoch seconds/milliseconds; phones by their last
  10 digits (values with letters, like `1-800-FLOWERS` or `x12` extensions, through the
  transforms' E.164 normalisation first, US default region); booleans by truth value
  (`true/1/yes/y/on` ...).
- `loose`: normalized, plus text compares only its letters and digits, case-insensitively
  (punctuation, symbols and spaces are ignored).

A normal form is a STRUCT {v: typed value, t: text}: `t` is only set when `v` could not be
parsed, so unparseable values still compare by their cleaned text. The phone form calls the
`sp_phone` UDF: run `register_udfs(con)` first (it also pins the session time zone to UTC).
With `phone_udf=False` the phone form leaves that branch out (the same result for values
without letters, and no Python UDF to register or bind).
"""

from __future__ import annotations

from collections.abc import Callable

from sync_platform.engines.profiling.semantic import DATE_FORMATS, DATETIME_FORMATS
from sync_platform.engines.transforms.sql import text
from sync_platform.engines.transforms.steps import STEPS, boolean_sql, datetime_sql, epoch_sql

KINDS = ("text", "email", "phone", "number", "date", "datetime", "boolean")
STRICTNESS = ("exact", "normalized", "loose")

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


def is_numeric(dtype: str) -> bool:
    dt = dtype.upper()
    return dt in _NUMERIC or dt.startswith(("DECIMAL", "NUMERIC"))


def is_temporal(dtype: str) -> bool:
    return dtype.upper() == "DATE" or dtype.upper().startswith("TIMESTAMP")


def kind_for_type(dtype: str) -> str | None:
    """The kind a DuckDB column type settles on its own (None for VARCHAR and other text)."""
    dt = dtype.upper()
    if is_numeric(dt):
        return "number"
    if dt == "DATE":
        return "date"
    if dt.startswith("TIMESTAMP"):
        return "datetime"
    if dt == "BOOLEAN":
        return "boolean"
    return None


def clean(expr: str) -> str:
    """NFC text, whitespace runs (Unicode separators too) as one space, trimmed; blank -> NULL."""
    collapsed = f"regexp_replace(nfc_normalize({text(expr)}), '[\\s\\pZ]+', ' ', 'g')"
    return f"NULLIF(trim({collapsed}), '')"


def _loose(cleaned: str) -> str:
    """Only the letters and digits, lower-cased ('ACME, Inc.' = 'acme inc' = 'AcmeInc')."""
    return f"NULLIF(regexp_replace(lower({cleaned}), '[^\\pL\\pN]+', '', 'g'), '')"


def _typed(expr: str, value: str, fallback: Callable[[str], str]) -> str:
    """{v: value, t: fallback(expr) only where value is NULL}, each computed once per row."""
    both = f"{{'v': {value}, 'raw': {text(expr)}}}"
    return _once(both, f"{{'v': x.v, 't': CASE WHEN x.v IS NULL THEN {fallback('x.raw')} END}}")


def _once(value: str, body: str) -> str:
    """`body` (an expression of `x`) over `value` computed once (DuckDB does not share repeated
    subexpressions inside CASE)."""
    return f"list_transform([{value}], lambda x: {body})[1]"


def _number(expr: str, dtype: str) -> str:
    if is_numeric(dtype):
        return f"CAST({expr} AS DOUBLE)"
    unformatted = (
        "CASE WHEN regexp_full_match(x, '[-+]?\\d{1,3}(,\\d{3})+(\\.\\d+)?') THEN replace(x, ',', '') "
        "WHEN regexp_full_match(x, '[-+]?\\d{1,3}(\\.\\d{3})+,\\d+') "
        "THEN replace(replace(x, '.', ''), ',', '.') "
        "WHEN regexp_full_match(x, '[-+]?\\d+,\\d{1,2}') THEN replace(x, ',', '.') ELSE x END")
    stripped = f"regexp_replace({clean(expr)}, '[\\s$€£¥]', '', 'g')"
    return f"TRY_CAST({_once(stripped, unformatted)} AS DOUBLE)"


def _epoch(cleaned: str) -> str:
    """Epoch milliseconds (12-14 digits) or seconds (9-10 digits) as a TIMESTAMP."""
    return (f"CASE WHEN regexp_full_match({cleaned}, '-?\\d{{12,14}}') "
            f"THEN {epoch_sql(cleaned, {'unit': 'ms'})} "
            f"WHEN regexp_full_match({cleaned}, '-?\\d{{9,10}}(\\.\\d+)?') "
            f"THEN {epoch_sql(cleaned, {'unit': 's'})} END")


def _timestamp(expr: str, dtype: str) -> str:
    """A UTC TIMESTAMP from a typed column, ISO text, a known format or an epoch number."""
    if is_temporal(dtype):
        return f"CAST({expr} AS TIMESTAMP)"
    if is_numeric(dtype):
        return _once(text(expr), _epoch("x"))
    formats = list(DATETIME_FORMATS) + list(DATE_FORMATS)
    parsed = (f"COALESCE({datetime_sql('x', {})}, {datetime_sql('x', {'format': formats})}, "
              f"{_epoch('x')})")
    return _once(clean(expr), parsed)


def _phone(expr: str, udf: bool = True) -> str:
    """Last 10 digits; values with letters (vanity numbers, `ext.`) go through the transforms'
    E.164 normalisation first (unless not `udf`: for values known to have no letters), the rest
    are compared by their digits alone."""
    raw = text(expr)
    if not udf:
        return f"right(NULLIF(regexp_replace({raw}, '[^0-9]', '', 'g'), ''), 10)"
    e164 = STEPS["phone"].build([f"trim({raw})"], {"default_region": "US"}, ["phone"]).values[0]
    parsed = f"CASE WHEN regexp_matches({raw}, '[A-Za-z]') THEN {e164} END"
    digits = f"NULLIF(regexp_replace(COALESCE({parsed}, {raw}), '[^0-9]', '', 'g'), '')"
    return f"right({digits}, 10)"


def normal_form(expr: str, kind: str, strictness: str, dtype: str = "VARCHAR", *,
                phone_udf: bool = True) -> str:
    """SQL for the comparable form of `expr` (a column of DuckDB type `dtype`). `phone_udf=False`:
    the values hold no letters, so phones need no E.164 parsing (no `sp_phone` call)."""
    if strictness not in STRICTNESS:
        raise ValueError(f"strictness must be one of {STRICTNESS}, not {strictness!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if strictness == "exact":
        return text(expr)
    def fallback(e: str) -> str:
        return clean(e) if strictness == "normalized" else _loose(clean(e))

    if kind == "text":
        return fallback(expr)
    if kind == "email":
        return f"lower({clean(expr)})"
    if kind == "phone":
        value = _phone(expr, phone_udf)
    elif kind == "number":
        value = _number(expr, dtype)
    elif kind == "date":
        value = f"CAST({_timestamp(expr, dtype)} AS DATE)"
    elif kind == "datetime":
        value = _timestamp(expr, dtype)
    else:
        value = expr if dtype.upper() == "BOOLEAN" else boolean_sql(clean(expr), {})
    return _typed(expr, value, fallback)


def same_sql(left: str, right: str, kind: str, strictness: str, left_type: str,
             right_type: str, *, phone_udf: bool = True) -> str:
    """TRUE when the two values are the same under `strictness`. Values identical as stored
    (or as text, when the types differ) are the same at every strictness, so the normal forms
    are only computed for pairs that differ (CASE evaluates its ELSE branch on those rows only)."""
    if left_type == right_type:
        raw = f"{left} IS NOT DISTINCT FROM {right}"
    else:
        raw = f"{text(left)} IS NOT DISTINCT FROM {text(right)}"
    if strictness == "exact":
        return raw
    normal = (f"{normal_form(left, kind, strictness, left_type, phone_udf=phone_udf)} IS NOT "
              f"DISTINCT FROM {normal_form(right, kind, strictness, right_type, phone_udf=phone_udf)}")
    return f"(CASE WHEN {raw} THEN TRUE ELSE {normal} END)"
