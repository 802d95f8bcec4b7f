"""Semantic type detection: what the values of a column mean, decided set-based in DuckDB SQL.

Input is a relation of distinct values per column, `(col, val, cnt)` (val as VARCHAR, non-null).
One aggregate query computes, for every column at once, the share of values matching each
candidate type (regexes, TRY_STRPTIME formats, value lists); `decide` then turns those shares,
the column's DuckDB type and (as a small prior only) its name into a SemanticType, a confidence
and the value format.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.profiling import vocabulary as vocab

ST = SemanticType

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%m/%d/%y", "%d/%m/%y", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
)
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
)
EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
EPOCH_MS = (EPOCH_S[0] * 1000, EPOCH_S[1] * 1000)
MIN_SHARE = 0.6  # a type must match at least this share of non-null values to be a candidate


def _sql_list(words: Sequence[str]) -> str:
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


# Word lists are spelled once per query (a CTE row joined to every value), not once per test.
WORD_LISTS: dict[str, Sequence[str]] = {
    "currency_codes": vocab.CURRENCY_CODES, "boolean_words": vocab.BOOLEAN_WORDS,
    "countries": vocab.COUNTRIES, "states": vocab.STATES, "cities": vocab.CITIES,
    "first_names": vocab.FIRST_NAMES, "last_names": vocab.LAST_NAMES,
}


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w).replace("'", "''") for w in sorted(words, key=len, reverse=True))


_SYMBOLS = vocab.CURRENCY_SYMBOLS
_CODES = _alternation(vocab.CURRENCY_CODES)
_TITLES = _alternation(vocab.NAME_TITLES)
_NAME_TOKEN = r"[A-Za-zÀ-ÿ''\-]+"  # quotes doubled: these patterns sit in SQL strings
_FULL_NAME = (rf"(?i)(?:(?:{_TITLES})\.?\s+)?({_NAME_TOKEN})(?:\s+[A-Za-z]\.?)?\s+({_NAME_TOKEN})"
              r"(?:,?\s+(?:jr|sr|ii|iii|iv|phd|md)\.?)?")
_LAST_FIRST = rf"({_NAME_TOKEN}),\s*({_NAME_TOKEN})(?:\s+[A-Za-z]\.?)?"
_STREET = (rf"\d+[a-z]?(?:\s+[a-z0-9.''\-]+)+?\s+(?:{_alternation(vocab.STREET_SUFFIXES)})\.?"
           r"(?:\s*,?\s*(?:suite|ste|apt|unit|#|floor|fl)\.?\s*[a-z0-9\-]+)?")
_UNIT = r"(?:suite|ste|apt|apartment|unit|floor|fl|#)\.?\s*[a-z0-9\-]+"
_DAY_MONTH = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}"
_POSTAL = (r"\d{5}(?:-\d{4})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d"
           r"|[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}")

# Per-value tests over v (trimmed value) and lv (lower(v)); each becomes a share per column.
VALUE_TESTS: dict[str, str] = {
    "email": r"regexp_full_match(v, '[A-Za-z0-9._%+''\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}')",
    "url_scheme": r"regexp_full_match(v, '(?i)(?:https?://|www\.)[^\s]+')",
    "domain": r"regexp_full_match(lv, '(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,12}')",
    "phone": (r"regexp_full_match(v, '\+?[0-9][0-9 ().\-/]{5,}[0-9]|\+?\([0-9]+\)[0-9 .\-]+')"
              r" AND length(regexp_replace(v, '[^0-9]', '', 'g')) BETWEEN 7 AND 15"
              r" AND (starts_with(v, '+') OR (length(regexp_replace(v, '[^0-9]', '', 'g')) >= 10"
              r" AND regexp_matches(v, '[ ().\-]')))"
              r" AND NOT regexp_full_match(v, '\d{4}-\d{2}-\d{2}"
              r"|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}')"),
    "iso_datetime": (r"regexp_full_match(v, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                     r"(?:Z|[+\-]\d{2}(?::?\d{2})?)?')"),
    "epoch_s": (r"regexp_full_match(v, '\d{10}(?:\.\d+)?') AND "
                f"TRY_CAST(v AS DOUBLE) BETWEEN {EPOCH_S[0]} AND {EPOCH_S[1]}"),
    "epoch_ms": (r"regexp_full_match(v, '\d{13}') AND "
                 f"TRY_CAST(v AS DOUBLE) BETWEEN {EPOCH_MS[0]} AND {EPOCH_MS[1]}"),
    "integer": r"regexp_full_match(v, '[-+]?\d+')",
    "number": r"regexp_full_match(v, '[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?')",
    "dec2": r"regexp_full_match(v, '[-+]?\d+\.\d{2}')",
    "fraction": r"TRY_CAST(v AS DOUBLE) BETWEEN 0 AND 1",
    "money": (rf"regexp_full_match(v, '(?i)[-(]?\s*(?:[{_SYMBOLS}]|(?:{_CODES})\s?)?\s*-?"
              rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d{{1,2}})?"
              rf"\s*(?:[{_SYMBOLS}]|\s?(?:{_CODES}))?\)?')"
              rf" AND regexp_matches(v, '(?i)[{_SYMBOLS}]|\b(?:{_CODES})\b|\d,\d{{3}}')"),
    "percent": r"regexp_full_match(v, '[-+]?\d+(?:\.\d+)?\s?%')",
    "currency_code": "list_contains(currency_codes, lv)",
    "uuid": (r"regexp_full_match(lv, '\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?"
             r"[0-9a-f]{12}\}?')"),
    "sfid": (r"regexp_full_match(v, '[a-zA-Z0-9]{5}0[a-zA-Z0-9]{9}(?:[A-Z0-5]{3})?')"
             r" AND regexp_matches(v, '[0-9]') AND regexp_matches(v, '[A-Za-z]')"),
    "code": r"regexp_full_match(v, '[A-Za-z]{1,6}[\-_]?\d{3,}(?:[\-_][A-Za-z0-9]+)*')",
    "opaque_id": (r"regexp_full_match(v, '[A-Za-z0-9:/_\-.]{6,}') AND regexp_matches(v, '[0-9]')"
                  r" AND regexp_matches(v, '[A-Za-z]')"),
    "boolean_word": "list_contains(boolean_words, lv)",
    "country": "list_contains(countries, lv)",
    "state": "list_contains(states, lv)",
    "city": "list_contains(cities, lv)",
    "postal": f"regexp_full_match(v, '{_POSTAL}')",
    "first_name": "list_contains(first_names, lv)",
    "last_name": "list_contains(last_names, lv)",
    "full_name": (
        f"(regexp_full_match(v, '{_FULL_NAME}') AND ("
        f"list_contains(first_names, lower(regexp_extract(v, '{_FULL_NAME}', 1))) OR "
        f"list_contains(last_names, lower(regexp_extract(v, '{_FULL_NAME}', 2)))))"
        f" OR (regexp_full_match(v, '{_LAST_FIRST}') AND ("
        f"list_contains(first_names, lower(regexp_extract(v, '{_LAST_FIRST}', 2))) OR "
        f"list_contains(last_names, lower(regexp_extract(v, '{_LAST_FIRST}', 1)))))"),
    "company": (f"regexp_matches(lv, '\\S\\s+(?:{_alternation(vocab.COMPANY_SUFFIXES)})\\.?$')"
                f" OR regexp_matches(lv, '\\S\\s+(?:{_alternation(vocab.COMPANY_WORDS)})\\b')"
                " OR regexp_matches(v, '\\w & \\w')"),
    "job_title": f"regexp_matches(lv, '\\b(?:{_alternation(vocab.JOB_TITLE_WORDS)})\\b')",
    "street": f"regexp_full_match(lv, '{_STREET}') OR regexp_full_match(lv, '{_UNIT}')"
              " OR regexp_full_match(lv, "
              "'[a-zäöüß\\-]+(?:strasse|straße|str\\.|weg|gasse) ?\\d+[a-z]?')",
    "address_block": (r"regexp_matches(v, '^\s*\d+[A-Za-z]?\s+\S')"
                      r" AND length(v) - length(regexp_replace(v, '[,\n]', '', 'g')) >= 2"
                      rf" AND regexp_matches(v, '\b(?:{_POSTAL})\b|\b[A-Z]{{2}}\b')"),
    "free_text": (r"(length(v) >= 40 AND contains(v, ' '))"
                  r" OR regexp_matches(v, '(?:\S+\s+){5,}\S+')"
                  r" OR regexp_matches(v, '<[A-Za-z][^>]*>')"),
    "lead_zero": r"regexp_full_match(v, '0\d+')",
    "day_first": f"TRY_CAST(regexp_extract(v, '{_DAY_MONTH}', 1) AS INT) > 12",
    "month_first": f"TRY_CAST(regexp_extract(v, '{_DAY_MONTH}', 2) AS INT) > 12",
}
for _i, _fmt in enumerate(DATE_FORMATS):
    VALUE_TESTS[f"date_{_i}"] = f"TRY_STRPTIME(v, '{_fmt}') IS NOT NULL"
for _i, _fmt in enumerate(DATETIME_FORMATS):
    VALUE_TESTS[f"datetime_{_i}"] = f"TRY_STRPTIME(v, '{_fmt}') IS NOT NULL"

_SHAPE = ("regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(v, "
          "'[A-Z]', 'A', 'g'), '[a-z]', 'a', 'g'), '[0-9]', '9', 'g'), 'a{4,}', 'aaa', 'g'), "
          "'A{4,}', 'AAA', 'g')")


def detection_query(values_relation: str) -> str:
    """One aggregate query giving, per column of `values_relation(col, val, cnt)`, the counts
    and the share of values matching each test, the dominant shape and value-set facts."""
    shares = ",\n  ".join(
        f"coalesce(sum(cnt) FILTER (WHERE {expr}), 0)::DOUBLE / sum(cnt) AS \"{name}\""
        for name, expr in VALUE_TESTS.items()
    )
    lists = ", ".join(f"{_sql_list(words)} AS {name}" for name, words in WORD_LISTS.items())
    return f"""
WITH words AS (
  SELECT {lists}
), vals AS (
  SELECT col, trim(val) AS v, lower(trim(val)) AS lv, cnt, words.*
  FROM {values_relation} CROSS JOIN words
), shaped AS (
  SELECT col, {_SHAPE} AS shape, sum(cnt) AS w,
         bool_or({VALUE_TESTS['phone']}) AS is_phone
  FROM vals GROUP BY col, shape
), shapes AS (
  SELECT col, arg_max(shape, w) AS pattern,
         arg_max(shape, w) FILTER (WHERE is_phone) AS phone_shape,
         count(*) AS shape_count
  FROM shaped GROUP BY col
), aggs AS (
  SELECT col, sum(cnt) AS n, count(*) AS d,
  min(length(v)) AS min_len, max(length(v)) AS max_len,
  CASE WHEN count(DISTINCT lv) <= 2 THEN list(DISTINCT lv ORDER BY lv) END AS small_set,
  count(DISTINCT left(v, 3)) AS prefixes,
  mode(regexp_extract(v, '(?i)[{_SYMBOLS}]|\\b(?:{_CODES})\\b'))
      FILTER (WHERE regexp_matches(v, '(?i)[{_SYMBOLS}]|\\b(?:{_CODES})\\b')) AS currency_symbol,
  {shares}
  FROM vals GROUP BY col
)
SELECT aggs.*, shapes.pattern, shapes.phone_shape, shapes.shape_count
FROM aggs JOIN shapes USING (col)
"""


def run_detection(con: duckdb.DuckDBPyConnection, values_relation: str
                  ) -> dict[str, dict[str, Any]]:
    """Evidence per column name, from one query over `values_relation(col, val, cnt)`."""
    result = con.execute(detection_query(values_relation))
    names = [d[0] for d in result.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


NAME_HINTS: dict[SemanticType, tuple[str, ...]] = {
    ST.EMAIL: ("email", "mail"),
    ST.PHONE: ("phone", "mobile", "fax", "tel"),
    ST.URL: ("url", "website", "web", "link", "homepage"),
    ST.DOMAIN: ("domain",),
    ST.FIRST_NAME: ("first", "given", "fname", "forename"),
    ST.LAST_NAME: ("last_name", "lastname", "family", "surname", "lname"),
    ST.PERSON_FULL_NAME: ("full_name", "fullname", "contact_name", "person", "employee_name"),
    ST.COMPANY_NAME: ("company", "account", "organization", "organisation", "org", "vendor",
                      "customer", "business", "employer", "display_name", "name"),
    ST.CITY: ("city", "town"),
    ST.STATE: ("state", "province", "region", "sub_division"),
    ST.POSTAL_CODE: ("zip", "postal", "postcode", "post_code"),
    ST.COUNTRY: ("country",),
    ST.STREET: ("street", "address", "line1", "line2", "addr"),
    ST.ADDRESS_BLOCK: ("address",),
    ST.CURRENCY_AMOUNT: ("amount", "amt", "price", "salary", "revenue", "balance", "total",
                         "cost", "fee", "pay", "wage"),
    ST.CURRENCY_CODE: ("currency",),
    ST.PERCENT: ("percent", "pct", "rate", "ratio", "share", "discount", "margin"),
    ST.DATE: ("date", "dob", "birth", "day"),
    ST.DATETIME: ("time", "timestamp", "_at", "date", "modified", "changed", "updated"),
    ST.EPOCH_TIMESTAMP: ("epoch", "ts", "time", "unix", "_at"),
    ST.JOB_TITLE: ("title", "job", "role", "position"),
    ST.IDENTIFIER: ("id", "number", "code", "sku", "ref", "key", "_no", "num"),
    ST.UUID: ("uuid", "guid", "id"),
    ST.SALESFORCE_ID: ("id",),
    ST.BOOLEAN: ("is_", "has_", "active", "flag", "enabled", "status", "deleted", "optout",
                 "archived"),
    ST.ENUM: ("status", "type", "stage", "category", "tier", "level", "kind", "industry"),
}
NAME_PRIOR = 0.05


def _prior(column_name: str | None, semantic: SemanticType) -> float:
    if not column_name:
        return 0.0
    name = column_name.lower()
    return NAME_PRIOR if any(h in name for h in NAME_HINTS.get(semantic, ())) else 0.0


def _id_like_name(column_name: str | None) -> bool:
    if not column_name:
        return False
    name = column_name.lower()
    tokens = re.split(r"[_\W]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", column_name).lower())
    return (name in {"id", "key", "sku", "uuid", "guid"} or tokens[-1] in vocab.ID_NAME_HINTS
            or name.endswith("id") or name.endswith("ref"))


def _bool_pair(values: list[str] | None) -> bool:
    if not values or len(values) != 2:
        return False
    return any(set(values) == set(pair) for pair in vocab.BOOLEAN_PAIRS)


def needs_evidence(data_type: str) -> bool:
    """False for DuckDB types that settle the semantic type alone (no value tests needed)."""
    return _decide_typed(data_type, None, None, 0.0) in (None, (ST.INTEGER, 0.5, None),
                                                         (ST.NUMBER, 0.5, None))


def _decide_typed(data_type: str, column_name: str | None, e: dict[str, Any] | None,
                  uniqueness: float) -> tuple[SemanticType, float, str | None] | None:
    """Types the DuckDB column type settles (or narrows to numeric candidates)."""
    dt = data_type.upper()
    if dt == "BOOLEAN":
        return ST.BOOLEAN, 1.0, None
    if dt.startswith("TIMESTAMP") or dt in {"DATETIME", "TIMESTAMPTZ"}:
        return ST.DATETIME, 1.0, None
    if dt == "DATE":
        return ST.DATE, 1.0, "%Y-%m-%d"
    if dt == "UUID":
        return ST.UUID, 1.0, None
    if dt.startswith(("TIME", "INTERVAL", "BLOB", "STRUCT", "MAP")) or dt.endswith("[]"):
        return ST.UNKNOWN, 0.0, None
    integer = dt in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                     "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
    decimal = dt.startswith("DECIMAL") or dt.startswith("NUMERIC")
    floating = dt in {"FLOAT", "DOUBLE", "REAL"}
    if not (integer or decimal or floating):
        return None
    if e is None:
        return (ST.INTEGER if integer else ST.NUMBER), 0.5, None
    if integer:
        small = e.get("small_set") or []
        if _bool_pair(small) or (len(small) == 1 and small[0] in {"0", "1"}
                                 and _prior(column_name, ST.BOOLEAN)):
            return ST.BOOLEAN, round(min(1.0, 0.9 + _prior(column_name, ST.BOOLEAN)), 3), None
        if e["epoch_ms"] >= 0.95:
            prior = 2 * _prior(column_name, ST.EPOCH_TIMESTAMP)
            return ST.EPOCH_TIMESTAMP, round(0.85 * e["epoch_ms"] + prior, 3), "ms"
        if e["epoch_s"] >= 0.95 and (_prior(column_name, ST.EPOCH_TIMESTAMP) or
                                     _prior(column_name, ST.DATETIME)):
            return ST.EPOCH_TIMESTAMP, round(0.85 * e["epoch_s"] + 0.1, 3), "s"
        if _id_like_name(column_name):
            fixed = e["min_len"] == e["max_len"] and e["min_len"] >= 6
            return ST.IDENTIFIER, (0.9 if fixed else 0.75), None
        return ST.INTEGER, 0.95, None
    scale = re.search(r",\s*(\d+)\)", dt)
    money_prior = _prior(column_name, ST.CURRENCY_AMOUNT)
    if _prior(column_name, ST.PERCENT) and e["fraction"] >= 0.99:
        return ST.PERCENT, 0.75, "fraction"
    if decimal and scale and scale.group(1) == "2":
        return ST.CURRENCY_AMOUNT, round(0.75 + 3 * money_prior, 3), None
    if money_prior:
        return ST.CURRENCY_AMOUNT, 0.65, None
    return ST.NUMBER, 0.9, None


def decide(column_name: str | None, data_type: str, e: dict[str, Any] | None,
           uniqueness: float | None = None) -> tuple[SemanticType, float, str | None]:
    """The semantic type, confidence (0..1) and value format of one column, from its evidence
    row (`run_detection`), its DuckDB type and, as a small prior, its name."""
    if e is not None and uniqueness is None:
        uniqueness = e["d"] / e["n"] if e["n"] else 0.0
    typed = _decide_typed(data_type, column_name, e, uniqueness or 0.0)
    if typed is not None:
        return typed
    if e is None or not e["n"]:
        return ST.UNKNOWN, 0.0, None
    n, d = e["n"], e["d"]
    fixed_len = e["min_len"] == e["max_len"]
    cands: list[tuple[SemanticType, float, float, str | None]] = []  # type, share, strength, fmt

    def add(t: SemanticType, share: float, strength: float, fmt: str | None = None) -> None:
        if share >= MIN_SHARE:
            cands.append((t, share, strength, fmt))

    add(ST.UUID, e["uuid"], 1.0)
    if e["prefixes"] <= 3 and e["min_len"] >= 15 and e["max_len"] <= 18:
        add(ST.SALESFORCE_ID, e["sfid"], 1.0)
    add(ST.EMAIL, e["email"], 1.0)
    if e["url_scheme"] >= 0.2:
        add(ST.URL, min(1.0, e["url_scheme"] + e["domain"]), 0.97)
    else:
        add(ST.DOMAIN, e["domain"], 0.96)
    add(ST.PHONE, e["phone"], 0.96, e.get("phone_shape"))
    # Dates: the format matching most values; day/month order decided by values > 12.
    date_shares = [(e[f"date_{i}"], fmt) for i, fmt in enumerate(DATE_FORMATS)]
    best_share, best_fmt = max(date_shares, key=lambda s: s[0])
    if best_share >= MIN_SHARE:
        strength = 0.97
        if best_fmt.startswith(("%d/", "%m/", "%d.", "%d-", "%m-")) and not (
                e["day_first"] or e["month_first"]):
            strength = 0.75  # every value is ambiguous: the day/month order is a guess
        add(ST.DATE, best_share, strength, best_fmt)
    dt_shares = [(e[f"datetime_{i}"], fmt) for i, fmt in enumerate(DATETIME_FORMATS)]
    dt_share, dt_fmt = max(dt_shares, key=lambda s: s[0])
    if e["iso_datetime"] > dt_share:
        dt_share, dt_fmt = e["iso_datetime"], "ISO 8601"
    add(ST.DATETIME, dt_share, 0.97, dt_fmt)
    # Epoch values sit in 2000..2100; random 10/13-digit ids mostly do not (ids get a name prior).
    add(ST.EPOCH_TIMESTAMP, e["epoch_ms"], 0.96 if e["epoch_ms"] >= 0.95 else 0.8, "ms")
    add(ST.EPOCH_TIMESTAMP, e["epoch_s"], 0.96 if e["epoch_s"] >= 0.95 else 0.8, "s")
    add(ST.PERCENT, e["percent"], 0.96, "%")
    if _prior(column_name, ST.PERCENT) and e["number"] >= 0.99:
        add(ST.PERCENT, e["fraction"], 0.8, "fraction")
    add(ST.CURRENCY_AMOUNT, e["money"], 0.96, e.get("currency_symbol"))
    if e["dec2"] >= 0.9:
        add(ST.CURRENCY_AMOUNT, e["dec2"], 0.8 + _prior(column_name, ST.CURRENCY_AMOUNT), None)
    add(ST.CURRENCY_CODE, e["currency_code"], 0.93)
    small = e.get("small_set") or []
    if _bool_pair(small):
        add(ST.BOOLEAN, 1.0, 0.97)
    elif len(small) == 1 and small[0] in {"true", "false", "yes", "no"}:
        add(ST.BOOLEAN, 1.0, 0.7)
    # Digit strings and codes: identifiers when fixed-length, zero-padded or named like ids.
    if e["integer"] >= 0.95:
        if fixed_len and e["min_len"] >= 6:
            add(ST.IDENTIFIER, e["integer"], 0.95)
        elif e["lead_zero"] > 0.05 and e["postal"] < 0.9:
            add(ST.IDENTIFIER, e["integer"], 0.9)
        elif _id_like_name(column_name):
            add(ST.IDENTIFIER, e["integer"], 0.86)
    add(ST.IDENTIFIER, e["code"], 0.95)
    if uniqueness and uniqueness >= 0.9 and e["free_text"] < 0.1:
        add(ST.IDENTIFIER, e["opaque_id"], 0.8)
    add(ST.INTEGER, e["integer"], 0.8)
    add(ST.NUMBER, e["number"], 0.78)
    postal_strength = 0.9 if e["integer"] < 0.99 else 0.85
    add(ST.POSTAL_CODE, e["postal"], postal_strength + 2 * _prior(column_name, ST.POSTAL_CODE))
    add(ST.COUNTRY, e["country"], 0.93)
    add(ST.STATE, e["state"], 0.92)
    add(ST.CITY, e["city"], 0.9)
    add(ST.PERSON_FULL_NAME, e["full_name"], 0.92)
    if e["first_name"] >= e["last_name"]:
        add(ST.FIRST_NAME, e["first_name"], 0.9)
    else:
        add(ST.LAST_NAME, e["last_name"], 0.9)
    add(ST.STREET, e["street"], 0.9)
    add(ST.ADDRESS_BLOCK, e["address_block"], 0.93)
    add(ST.JOB_TITLE, e["job_title"], 0.88)
    add(ST.COMPANY_NAME, e["company"], 0.86)
    if n >= 10 and d <= 50 and d <= 0.2 * n:
        add(ST.ENUM, 1.0, 0.75)
    elif n >= 4 and d <= 0.5 * n and d <= 10:
        add(ST.ENUM, 1.0, 0.65)
    if uniqueness and uniqueness >= 0.5:
        add(ST.FREE_TEXT, e["free_text"], 0.7)

    if not cands:
        if n >= 10 and d <= 0.5 * n:
            return ST.ENUM, round(0.5 + _prior(column_name, ST.ENUM), 3), None
        if e["free_text"] >= 0.3:
            return ST.FREE_TEXT, 0.5, None
        return ST.UNKNOWN, 0.0, None
    scored = [(share * strength + _prior(column_name, t), t, fmt)
              for t, share, strength, fmt in cands]
    score, semantic, fmt = max(scored, key=lambda s: s[0])
    return semantic, round(min(1.0, score), 3), fmt


def detect_values(values: Sequence[str | None], column_name: str | None = None
                  ) -> tuple[SemanticType, float, str | None]:
    """Detect the semantic type of ad hoc values with the same SQL, in an in-memory DuckDB."""
    table = "_detect_" + uuid.uuid4().hex[:8]
    with duckdb.connect(":memory:") as con:
        texts = [None if v is None else str(v) for v in values]
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT 'c' AS col, val, count(*) AS cnt "
                    "FROM (SELECT unnest($1::VARCHAR[]) AS val) WHERE val IS NOT NULL "
                    "GROUP BY ALL", [texts])
        evidence = run_detection(con, table).get("c")
    return decide(column_name, "VARCHAR", evidence)
