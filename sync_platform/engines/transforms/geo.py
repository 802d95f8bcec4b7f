"""Country and state vocabularies: names, ISO3 codes and local spellings to ISO codes.

Keys are normalised like `geo_key()`/`geo_key_sql()`: upper case, dots removed, whitespace
collapsed ('U.S.' -> 'US', 'united  states' -> 'UNITED STATES').
"""

from __future__ import annotations

import phonenumbers

from sync_platform.engines.canonical.geo import COUNTRY_NAMES, STATE_ALIASES, STATE_NAMES, geo_key
from sync_platform.engines.transforms.sql import lookup, text


def geo_key_sql(expr: str) -> str:
    """SQL twin of geo_key: dots removed, whitespace collapsed, trimmed, upper case."""
    return f"upper(trim(regexp_replace(replace({text(expr)}, '.', ''), '\\s+', ' ', 'g')))"


def _country_table() -> dict[str, str]:
    table = {region: region for region in phonenumbers.SUPPORTED_REGIONS}
    for code, names in COUNTRY_NAMES.items():
        table.update({geo_key(name): code for name in names})
    return table


COUNTRY_CODES: dict[str, str] = _country_table()


def _state_table(countries: list[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for country in countries:
        for code, name in STATE_NAMES[country].items():
            table[geo_key(name)] = code
        for code in STATE_NAMES[country]:
            table.setdefault(code, code)
    table.update({geo_key(k): v for k, v in STATE_ALIASES.items()})
    return table


STATE_COUNTRIES = tuple(STATE_NAMES)


def country_code_sql(expr: str) -> str:
    """ISO2 code for a country name / ISO3 / ISO2 value; NULL when unknown."""
    return lookup(COUNTRY_CODES, geo_key_sql(expr))


def country_code(value: str | None) -> str | None:
    return COUNTRY_CODES.get(geo_key(value)) if value else None


def state_code_sql(expr: str, country: str = "US") -> str:
    """2-letter state code for a state name; values it does not know pass through (trimmed).

    Names of the requested country win; names of the other known countries are recognised too
    (names do not collide across US/CA/DE)."""
    order = [country] + [c for c in STATE_NAMES if c != country] if country in STATE_NAMES else list(STATE_NAMES)
    table = _state_table(list(reversed(order)))
    return f"COALESCE({lookup(table, geo_key_sql(expr))}, NULLIF(trim({text(expr)}), ''))"


def state_code(value: str | None, country: str = "US") -> str | None:
    if not value:
        return None
    order = [country] + [c for c in STATE_NAMES if c != country] if country in STATE_NAMES else list(STATE_NAMES)
    return _state_table(list(reversed(order))).get(geo_key(value), value.strip())
