"""The transform vocabulary: one function per TransformStep.kind, each turning input SQL
expressions into output SQL expressions (plus how the step fails).

Every step treats NULL and blank input as missing (NULL out, no failure). A failure is a
non-blank input that yields no output; the compiler turns it into a check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync_platform.engines.transforms.geo import STATE_COUNTRIES, country_code_sql, state_code_sql
from sync_platform.engines.transforms.model import Failure, StepResult
from sync_platform.engines.transforms.sql import clean_text, literal, text

SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DECIMAL(18,2)",
             "boolean": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMP"}

TRUE_VALUES = ("true", "t", "yes", "y", "1", "on", "active", "open", "enabled")
FALSE_VALUES = ("false", "f", "no", "n", "0", "off", "inactive", "closed", "disabled")

NAME_TARGETS = {"prefix": "prefix", "title": "prefix", "salutation": "prefix", "first": "first",
                "given": "first", "middle": "middle", "last": "last", "family": "last",
                "surname": "last", "suffix": "suffix"}
ADDRESS_TARGETS = {"street": "street", "address": "street", "line": "street", "city": "city",
                   "town": "city", "state": "state", "region": "state", "province": "state",
                   "postal": "postal_code", "zip": "postal_code", "postcode": "postal_code",
                   "country": "country"}


@dataclass(frozen=True)
class StepSpec:
    """A step kind: its SQL builder, allowed/required params and input/output arity."""

    build: Callable[[list[str], dict[str, Any], list[str]], StepResult]
    params: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    arity: str = "each"  # each (element-wise), join (n -> 1), split (1 -> n targets), pair (1 -> 1|2)


def _each(fn: Callable[[str], str], reason: str | None = None) -> Callable:
    """An element-wise step: fn per input; `reason` when a non-blank input gives NULL."""

    def build(values: list[str], params: dict, targets: list[str]) -> StepResult:
        failures = [Failure(i, (i,), reason) for i in range(len(values))] if reason else []
        return StepResult([fn(v) for v in values], failures)

    return build


def _with_params(fn: Callable[[str, dict], str], reason: Callable[[dict], str] | None = None):
    def build(values: list[str], params: dict, targets: list[str]) -> StepResult:
        why = reason(params) if reason else None
        failures = [Failure(i, (i,), why) for i in range(len(values))] if why else []
        return StepResult([fn(v, params) for v in values], failures)

    return build


# ---- text ---------------------------------------------------------------------------------------

def title_sql(value: str) -> str:
    words = f"string_split(lower({clean_text(value)}), ' ')"
    return f"array_to_string(list_transform({words}, lambda w: upper(w[1]) || w[2:]), ' ')"


def _cast(value: str, params: dict) -> str:
    to = params["to"]
    if to == "boolean":
        return boolean_sql(value, {})
    if to == "datetime":
        return datetime_sql(value, {})
    if to == "date":
        return date_sql(value, {})
    if to == "string":
        return text(value)
    return f"TRY_CAST(NULLIF(trim({text(value)}), '') AS {SQL_TYPES[to]})"


def _value_map(value: str, params: dict) -> str:
    insensitive = params.get("case_insensitive", True)
    key = f"trim({text(value)})"
    key = f"lower({key})" if insensitive else key
    branches = " ".join(
        f"WHEN {key} = {literal(str(k).strip().lower() if insensitive else str(k).strip())} "
        f"THEN {literal(None if v is None else str(v))}"
        for k, v in params["map"].items())
    otherwise = literal(str(params["default"])) if "default" in params else clean_text(value)
    return f"(CASE WHEN NULLIF(trim({text(value)}), '') IS NULL THEN NULL {branches} ELSE {otherwise} END)"


def _default(value: str, params: dict) -> str:
    blank = f"NULLIF(trim({text(value)}), '') IS NULL"
    return f"(CASE WHEN {blank} THEN {literal(params['value'])} ELSE {value} END)"


def domain_from_email_sql(value: str) -> str:
    domain = f"regexp_extract(lower(trim({text(value)})), '@([^@\\s>]+)$', 1)"
    return f"NULLIF(regexp_replace({domain}, '^www\\.', ''), '')"


def domain_from_url_sql(value: str) -> str:
    host = (f"regexp_extract(lower(trim({text(value)})), "
            f"'^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?([^/:?#\\s]+)', 1)")
    return f"NULLIF(rtrim(regexp_replace({host}, '^www\\.', ''), '.'), '')"


def _join(values: list[str], params: dict, targets: list[str]) -> StepResult:
    sep = literal(params.get("separator", " "))
    parts = ", ".join(clean_text(v) for v in values)
    return StepResult([f"NULLIF(concat_ws({sep}, {parts}), '')"])


# ---- dates and times ----------------------------------------------------------------------------

def _utc(tstz: str) -> str:
    return f"timezone('UTC', {tstz})"


def _iso_timestamptz(value: str) -> str:
    return f"TRY_CAST(NULLIF(trim({text(value)}), '') AS TIMESTAMPTZ)"


def _formats(params: dict) -> str | None:
    fmt = params.get("format")
    if not fmt:
        return None
    return literal(fmt) if isinstance(fmt, str) else "[" + ", ".join(literal(f) for f in fmt) + "]"


def date_sql(value: str, params: dict) -> str:
    fmt = _formats(params)
    if fmt:
        return f"CAST(try_strptime(trim({text(value)}), {fmt}) AS DATE)"
    return f"CAST({_utc(_iso_timestamptz(value))} AS DATE)"


def datetime_sql(value: str, params: dict) -> str:
    fmt = _formats(params)
    if fmt:
        return _utc(f"CAST(try_strptime(trim({text(value)}), {fmt}) AS TIMESTAMPTZ)")
    return _utc(_iso_timestamptz(value))


def epoch_sql(value: str, params: dict) -> str:
    factor = {"s": "1000000", "ms": "1000", "us": "1"}[params.get("unit", "s")]
    micros = f"TRY_CAST(round(TRY_CAST(trim({text(value)}) AS DOUBLE) * {factor}) AS BIGINT)"
    return (f"(CASE WHEN {micros} BETWEEN -62135596800000000 AND 253402300799000000 "
            f"THEN make_timestamp({micros}) END)")


# ---- numbers ------------------------------------------------------------------------------------

def currency_amount_sql(value: str) -> str:
    s = f"trim({text(value)})"
    num = f"regexp_replace({s}, '[^0-9.,]', '', 'g')"
    normalised = (
        f"(CASE WHEN {num} LIKE '%,%' AND {num} LIKE '%.%' THEN "
        f"  CASE WHEN regexp_matches({num}, '\\.[0-9]*$') THEN replace({num}, ',', '') "
        f"       ELSE replace(replace({num}, '.', ''), ',', '.') END "
        f" WHEN {num} LIKE '%,%' THEN "
        f"  CASE WHEN regexp_matches({num}, '^[0-9]{{1,3}}(,[0-9]{{3}})+$') THEN replace({num}, ',', '') "
        f"       ELSE replace({num}, ',', '.') END "
        f" WHEN regexp_matches({num}, '^[0-9]{{1,3}}(\\.[0-9]{{3}}){{2,}}$') THEN replace({num}, '.', '') "
        f" ELSE {num} END)")
    negative = f"({s} LIKE '(%)' OR {s} LIKE '%-%')"
    parsed = (f"(TRY_CAST(NULLIF({normalised}, '') AS DECIMAL(18,2)) "
              f"* CASE WHEN {negative} THEN -1 ELSE 1 END)")
    return f"COALESCE(TRY_CAST({s} AS DECIMAL(18,2)), {parsed})"


_SYMBOLS = [("US$", "USD"), ("CA$", "CAD"), ("C$", "CAD"), ("A$", "AUD"), ("NZ$", "NZD"),
            ("HK$", "HKD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"),
            ("₩", "KRW"), ("₽", "RUB"), ("₺", "TRY"), ("Fr.", "CHF"), ("kr", "SEK"),
            ("zł", "PLN"), ("R$", "BRL")]


def currency_code_sql(value: str, default: str | None) -> str:
    s = f"trim({text(value)})"
    code = f"NULLIF(regexp_extract(upper({s}), '(?:^|[^A-Z])([A-Z]{{3}})(?:[^A-Z]|$)', 1), '')"
    symbols = " ".join(f"WHEN contains({s}, {literal(sym)}) THEN {literal(iso)}"
                       for sym, iso in sorted(_SYMBOLS, key=lambda p: -len(p[0])))
    return f"COALESCE({code}, CASE {symbols} END, {literal(default)})"


def _currency(values: list[str], params: dict, targets: list[str]) -> StepResult:
    amount = currency_amount_sql(values[0])
    out = [amount]
    if len(targets) > 1:
        code = currency_code_sql(values[0], params.get("default_currency"))
        out.append(f"(CASE WHEN {amount} IS NOT NULL THEN {code} END)")
    return StepResult(out, [Failure(0, (0,), "invalid currency amount")])


def _scale(value: str, params: dict) -> str:
    factor = literal(str(params["factor"]))
    return f"(TRY_CAST(trim({text(value)}) AS DECIMAL(38,10)) * CAST({factor} AS DECIMAL(38,10)))"


def boolean_sql(value: str, params: dict) -> str:
    trues = params.get("true_values") or TRUE_VALUES
    falses = params.get("false_values") or FALSE_VALUES
    key = f"lower(trim({text(value)}))"
    in_list = lambda vs: ", ".join(literal(str(v).strip().lower()) for v in vs)  # noqa: E731
    return (f"(CASE WHEN {key} IN ({in_list(trues)}) THEN TRUE "
            f"WHEN {key} IN ({in_list(falses)}) THEN FALSE END)")


# ---- people, phones, addresses (Python UDFs) ----------------------------------------------------

# SQL fast paths: values of the common shapes skip Python; they accept a subset of what the
# libraries accept and give the same result, anything else goes to the UDF.
_NANP_SHAPE = r"^(\+?1[ .-]?)?\(?[2-9][0-9]{2}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}$"
_EMAIL_SHAPE = (r"^[a-z0-9_%+-]+(\.[a-z0-9_%+-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+"
                r"[a-z]{2,63}$")
_SPECIAL_USE = r"\.(arpa|invalid|local|localhost|onion|test)$"


def _phone(value: str, params: dict) -> str:
    region = params.get("default_region", "US")
    mode = "valid" if params.get("strict") else "possible"
    v = f"trim({text(value)})"
    udf = f"sp_phone({v}, {literal(region)}, '{mode}')"
    if mode == "valid" or region not in ("US", "CA"):
        return udf
    digits = f"right(regexp_replace({v}, '[^0-9]', '', 'g'), 10)"
    return f"(CASE WHEN regexp_full_match({v}, {literal(_NANP_SHAPE)}) THEN '+1' || {digits} ELSE {udf} END)"


def _email(value: str) -> str:
    v = f"lower(trim({text(value)}))"
    fast = (f"regexp_full_match({v}, {literal(_EMAIL_SHAPE)}) AND length({v}) <= 254 "
            f"AND strpos({v}, '@') <= 65 AND NOT regexp_matches({v}, {literal(_SPECIAL_USE)})")
    return f"(CASE WHEN {fast} THEN {v} ELSE sp_email({v}) END)"


def _parts_for(targets: list[str], params: dict, names: dict[str, str], known: tuple) -> list[str]:
    if params.get("parts"):
        return [names.get(p, p) for p in params["parts"]]
    chosen = []
    for target in targets:
        hits = [part for word, part in names.items() if word in target.lower()]
        chosen.append(hits[0] if hits else target)
    bad = [t for t, p in zip(targets, chosen, strict=True) if p not in known]
    if bad:
        raise ValueError(f"cannot tell which part goes to target(s) {bad}; give params.parts "
                         f"from {list(known)}")
    return chosen


def _split_name(values: list[str], params: dict, targets: list[str]) -> StepResult:
    parts = _parts_for(targets, params, NAME_TARGETS, ("prefix", "first", "middle", "last", "suffix"))
    outs = [f"{{h0}}.{p}" for p in parts]
    return StepResult(outs, [Failure(0, tuple(range(len(outs))), "unparseable name")],
                      helpers=[f"sp_split_name(trim({text(values[0])}))"])


def _split_address(values: list[str], params: dict, targets: list[str]) -> StepResult:
    parts = _parts_for(targets, params, ADDRESS_TARGETS,
                       ("street", "city", "state", "postal_code", "country"))
    outs = [f"{{h0}}.{p}" for p in parts]
    return StepResult(outs, [Failure(0, tuple(range(len(outs))), "unparseable address")],
                      helpers=[f"sp_split_address(trim({text(values[0])}))"])


def _country_from_phone(value: str) -> str:
    return f"sp_phone_country(trim({text(value)}))"


STEPS: dict[str, StepSpec] = {
    "trim": StepSpec(_each(clean_text)),
    "lower": StepSpec(_each(lambda v: f"lower({clean_text(v)})")),
    "upper": StepSpec(_each(lambda v: f"upper({clean_text(v)})")),
    "title": StepSpec(_each(title_sql)),
    "cast": StepSpec(_with_params(_cast, lambda p: f"cannot cast to {p['to']}"),
                     frozenset({"to"}), frozenset({"to"})),
    "date": StepSpec(_with_params(date_sql, lambda p: f"invalid date (format {p.get('format') or 'ISO 8601'})"),
                     frozenset({"format"})),
    "datetime": StepSpec(_with_params(datetime_sql, lambda p: "invalid datetime"), frozenset({"format"})),
    "epoch": StepSpec(_with_params(epoch_sql, lambda p: "invalid epoch timestamp"), frozenset({"unit"})),
    "phone": StepSpec(_with_params(_phone, lambda p: "invalid phone"),
                      frozenset({"default_region", "strict"})),
    "email": StepSpec(_each(_email, "invalid email")),
    "currency": StepSpec(_currency, frozenset({"default_currency"}), arity="pair"),
    "scale": StepSpec(_with_params(_scale, lambda p: "not a number"), frozenset({"factor"}),
                      frozenset({"factor"})),
    "boolean": StepSpec(_with_params(boolean_sql, lambda p: "unknown boolean value"),
                        frozenset({"true_values", "false_values"})),
    "value_map": StepSpec(_with_params(_value_map), frozenset({"map", "default", "case_insensitive"}),
                          frozenset({"map"})),
    "split_name": StepSpec(_split_name, frozenset({"parts"}), arity="split"),
    "join": StepSpec(_join, frozenset({"separator"}), arity="join"),
    "split_address": StepSpec(_split_address, frozenset({"parts"}), arity="split"),
    "default": StepSpec(_with_params(_default), frozenset({"value"}), frozenset({"value"})),
    "domain_from_email": StepSpec(_each(domain_from_email_sql, "no domain in email")),
    "domain_from_url": StepSpec(_each(domain_from_url_sql, "no domain in url")),
    "country_from_phone": StepSpec(_each(_country_from_phone, "no country for phone")),
    "state_code": StepSpec(_with_params(lambda v, p: state_code_sql(v, p.get("country", "US"))),
                           frozenset({"country"})),
    "country_code": StepSpec(_each(country_code_sql, "unknown country")),
}


def check_params(kind: str, params: dict[str, Any]) -> None:
    """Raise ValueError when a step's params are unknown, missing or malformed."""
    spec = STEPS[kind]
    unknown = sorted(set(params) - spec.params)
    if unknown:
        raise ValueError(f"transform {kind!r}: unknown params {unknown}; allowed: {sorted(spec.params)}")
    missing = sorted(spec.required - set(params))
    if missing:
        raise ValueError(f"transform {kind!r}: missing params {missing}")
    if kind == "cast" and params["to"] not in SQL_TYPES:
        raise ValueError(f"transform 'cast': to must be one of {sorted(SQL_TYPES)}, not {params['to']!r}")
    if kind == "epoch" and params.get("unit", "s") not in ("s", "ms", "us"):
        raise ValueError(f"transform 'epoch': unit must be 's', 'ms' or 'us', not {params['unit']!r}")
    if kind in ("date", "datetime") and params.get("format") is not None:
        fmt = params["format"]
        fmts = [fmt] if isinstance(fmt, str) else fmt
        if not isinstance(fmts, list) or not all(isinstance(f, str) and "%" in f for f in fmts):
            raise ValueError(f"transform {kind!r}: format must be a strptime format like '%d/%m/%Y'")
    if kind == "scale" and not isinstance(params["factor"], int | float) or (
            kind == "scale" and isinstance(params["factor"], bool)):
        raise ValueError("transform 'scale': factor must be a number")
    if kind == "value_map" and not isinstance(params["map"], dict):
        raise ValueError("transform 'value_map': map must be a mapping {source: target}")
    if kind == "boolean":
        for key in ("true_values", "false_values"):
            if key in params and not isinstance(params[key], list):
                raise ValueError(f"transform 'boolean': {key} must be a list")
    if kind == "state_code" and params.get("country", "US") not in STATE_COUNTRIES:
        raise ValueError(f"transform 'state_code': country must be one of {list(STATE_COUNTRIES)}")
    if kind in ("split_name", "split_address") and "parts" in params and not isinstance(params["parts"], list):
        raise ValueError(f"transform {kind!r}: parts must be a list")
    if kind == "phone" and not isinstance(params.get("default_region", "US"), str):
        raise ValueError("transform 'phone': default_region must be an ISO2 region like 'US'")
