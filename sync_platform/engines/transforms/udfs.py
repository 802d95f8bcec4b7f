"""Vectorised Python UDFs for what SQL cannot do: phone numbers, email validation, person names
and address blocks (phonenumbers, email-validator, nameparser).

Each UDF takes Arrow batches, parses each *distinct* value once (`dictionary_encode`) and maps the
results back with `take`, so a column of repeated values costs one parse per value.
`register_udfs(con)` registers them (idempotent) and pins the session time zone to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import duckdb
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

from sync_platform.engines.transforms.geo import country_code, state_code

NAME_PARTS = ("prefix", "first", "middle", "last", "suffix")
ADDRESS_PARTS = ("street", "city", "state", "postal_code", "country")

_NAME_TYPE = pa.struct([(p, pa.string()) for p in NAME_PARTS])
_ADDRESS_TYPE = pa.struct([(p, pa.string()) for p in ADDRESS_PARTS])


def _combined(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks else pa.array([], pa.string())
    return array


def _first(array: pa.Array | pa.ChunkedArray) -> Any:
    array = _combined(array)
    return array[0].as_py() if len(array) else None


def _per_distinct(values: pa.Array | pa.ChunkedArray, parse: Callable[[str], Any],
                  out_type: pa.DataType) -> pa.Array:
    """parse() applied once per distinct non-null value, broadcast back to every row."""
    encoded = pc.dictionary_encode(_combined(values).cast(pa.string()))
    results = pa.array([parse(v) for v in encoded.dictionary.to_pylist()], type=out_type)
    return pc.take(results, encoded.indices)


# ---- phones -------------------------------------------------------------------------------------

def parse_phone(value: str, region: str = "US", strict: bool = False) -> str | None:
    """E.164 form of a phone number, or None when it is not a (possible / valid) number."""
    if not value or not re.search(r"\d", value):
        return None
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else None


def phone_country(value: str) -> str | None:
    """ISO2 country of an international phone number ('+44 20 ...' -> 'GB'); None otherwise."""
    text = (value or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None or region == "ZZ":
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return None if region in (None, "ZZ", "001") else region


def _udf_phone(values, regions, modes):
    region, strict = _first(regions) or "US", _first(modes) == "valid"
    return _per_distinct(values, lambda v: parse_phone(v, region, strict), pa.string())


def _udf_phone_country(values):
    return _per_distinct(values, phone_country, pa.string())


# ---- emails -------------------------------------------------------------------------------------

def parse_email(value: str) -> str | None:
    """Trimmed lower-case email when valid (syntax only, no DNS), else None."""
    candidate = (value or "").strip().lower()
    if not candidate:
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _udf_email(values):
    return _per_distinct(values, parse_email, pa.string())


# ---- names --------------------------------------------------------------------------------------

def split_name(value: str) -> dict[str, str | None]:
    """'Dr. Sarah Jane Smith' -> prefix Dr., first Sarah, middle Jane, last Smith ('Smith, John',
    'John Smith Jr.' and single names too; a single name is a first name)."""
    name = HumanName(re.sub(r"\s+", " ", value or "").strip())
    parts = {"prefix": name.title, "first": name.first, "middle": name.middle,
             "last": name.last, "suffix": name.suffix}
    return {k: (v or None) for k, v in parts.items()}


def _udf_split_name(values):
    return _per_distinct(values, split_name, _NAME_TYPE)


# ---- addresses ----------------------------------------------------------------------------------

_US_STATE_ZIP = re.compile(r"^(?P<state>[A-Za-z][A-Za-z .]*?)\s+(?P<zip>\d{5}(?:-\d{4})?)$")
_UK_POSTCODE = re.compile(r"\b(?P<pc>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$", re.IGNORECASE)
_DE_ZIP_CITY = re.compile(r"^(?:D-)?(?P<zip>\d{5})\s+(?P<city>.+)$")
_CA_POSTCODE = re.compile(r"^(?P<state>[A-Za-z]{2})\s+(?P<pc>[A-Z]\d[A-Z]\s?\d[A-Z]\d)$", re.I)


def split_address(value: str) -> dict[str, str | None]:
    """Best-effort split of a one-line address block into street, city, state, postal code and
    ISO2 country; US ('12 Main St, Springfield, IL 62704, USA'), UK ('10 Downing St, London SW1A
    2AA, UK') and German ('Hauptstr. 5, 10115 Berlin, Deutschland') shapes."""
    out: dict[str, str | None] = dict.fromkeys(ADDRESS_PARTS)
    parts = [p.strip() for p in re.split(r"[,\n;]+", value or "") if p.strip()]
    if parts and len(parts) > 1 and country_code(parts[-1]):
        out["country"] = country_code(parts.pop())
    if not parts:
        return out
    last = parts[-1]
    if m := _US_STATE_ZIP.match(last):
        out["state"], out["postal_code"] = state_code(m["state"], "US"), m["zip"]
        out["country"] = out["country"] or "US"
        parts.pop()
    elif m := _CA_POSTCODE.match(last):
        out["state"], out["postal_code"] = m["state"].upper(), m["pc"].upper()
        out["country"] = out["country"] or "CA"
        parts.pop()
    elif m := _DE_ZIP_CITY.match(last):
        out["postal_code"], out["city"] = m["zip"], m["city"].strip()
        out["country"] = out["country"] or "DE"
        parts.pop()
    elif m := _UK_POSTCODE.search(last):
        out["postal_code"] = m["pc"].upper()
        rest = last[: m.start()].strip()
        out["country"] = out["country"] or "GB"
        parts.pop()
        if rest:
            parts.append(rest)
    if out["city"] is None and len(parts) > 1:
        out["city"] = parts.pop()
    out["street"] = ", ".join(parts) or None
    return out


def _udf_split_address(values):
    return _per_distinct(values, split_address, _ADDRESS_TYPE)


# ---- registration -------------------------------------------------------------------------------

def _struct(parts: tuple[str, ...]) -> duckdb.DuckDBPyType:
    return duckdb.struct_type({p: duckdb.sqltypes.VARCHAR for p in parts})


@lru_cache(maxsize=1)
def _definitions() -> list[tuple[str, Callable, list, Any]]:
    v = duckdb.sqltypes.VARCHAR
    return [
        ("sp_phone", _udf_phone, [v, v, v], v),
        ("sp_phone_country", _udf_phone_country, [v], v),
        ("sp_email", _udf_email, [v], v),
        ("sp_split_name", _udf_split_name, [v], _struct(NAME_PARTS)),
        ("sp_split_address", _udf_split_address, [v], _struct(ADDRESS_PARTS)),
    ]


def register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    """Register the transform UDFs on a connection (skips ones already there) and set the session
    time zone to UTC, so timestamps without an offset are read as UTC."""
    con.execute("SET TimeZone = 'UTC'")
    present = {row[0] for row in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'sp\\_%' ESCAPE '\\'"
    ).fetchall()}
    for name, function, params, returns in _definitions():
        if name not in present:
            con.create_function(name, function, params, returns, type="arrow",
                                null_handling="special", side_effects=False)
