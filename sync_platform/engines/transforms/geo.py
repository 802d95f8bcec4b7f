"""Country and state vocabularies: names, ISO3 codes and local spellings to ISO codes.

Keys are normalised like `geo_key()`/`geo_key_sql()`: upper case, dots removed, whitespace
collapsed ('U.S.' -> 'US', 'united  states' -> 'UNITED STATES').
"""

from __future__ import annotations

import re

import phonenumbers

from sync_platform.engines.transforms.sql import lookup, text

_COUNTRIES: dict[str, list[str]] = {
    "US": ["United States", "United States of America", "USA", "US", "America"],
    "CA": ["Canada", "CAN"],
    "MX": ["Mexico", "México", "MEX"],
    "GB": ["United Kingdom", "Great Britain", "UK", "GBR", "England", "Scotland", "Wales",
           "Northern Ireland", "Britain"],
    "IE": ["Ireland", "IRL", "Eire"],
    "DE": ["Germany", "Deutschland", "DEU", "GER", "Federal Republic of Germany"],
    "FR": ["France", "FRA", "République française"],
    "ES": ["Spain", "España", "ESP"],
    "PT": ["Portugal", "PRT"],
    "IT": ["Italy", "Italia", "ITA"],
    "NL": ["Netherlands", "The Netherlands", "Holland", "Nederland", "NLD"],
    "BE": ["Belgium", "België", "Belgique", "BEL"],
    "LU": ["Luxembourg", "LUX"],
    "CH": ["Switzerland", "Schweiz", "Suisse", "CHE"],
    "AT": ["Austria", "Österreich", "Osterreich", "AUT"],
    "DK": ["Denmark", "Danmark", "DNK"],
    "SE": ["Sweden", "Sverige", "SWE"],
    "NO": ["Norway", "Norge", "NOR"],
    "FI": ["Finland", "Suomi", "FIN"],
    "IS": ["Iceland", "ISL"],
    "PL": ["Poland", "Polska", "POL"],
    "CZ": ["Czech Republic", "Czechia", "CZE"],
    "SK": ["Slovakia", "SVK"],
    "HU": ["Hungary", "HUN"],
    "RO": ["Romania", "ROU"],
    "BG": ["Bulgaria", "BGR"],
    "GR": ["Greece", "GRC"],
    "TR": ["Turkey", "Türkiye", "TUR"],
    "RU": ["Russia", "Russian Federation", "RUS"],
    "UA": ["Ukraine", "UKR"],
    "IL": ["Israel", "ISR"],
    "AE": ["United Arab Emirates", "UAE", "ARE"],
    "SA": ["Saudi Arabia", "SAU"],
    "EG": ["Egypt", "EGY"],
    "ZA": ["South Africa", "ZAF"],
    "NG": ["Nigeria", "NGA"],
    "KE": ["Kenya", "KEN"],
    "IN": ["India", "IND"],
    "PK": ["Pakistan", "PAK"],
    "CN": ["China", "People's Republic of China", "PRC", "CHN"],
    "HK": ["Hong Kong", "HKG"],
    "TW": ["Taiwan", "TWN"],
    "JP": ["Japan", "JPN"],
    "KR": ["South Korea", "Korea", "Republic of Korea", "KOR"],
    "SG": ["Singapore", "SGP"],
    "MY": ["Malaysia", "MYS"],
    "TH": ["Thailand", "THA"],
    "VN": ["Vietnam", "Viet Nam", "VNM"],
    "PH": ["Philippines", "PHL"],
    "ID": ["Indonesia", "IDN"],
    "AU": ["Australia", "AUS"],
    "NZ": ["New Zealand", "NZL"],
    "BR": ["Brazil", "Brasil", "BRA"],
    "AR": ["Argentina", "ARG"],
    "CL": ["Chile", "CHL"],
    "CO": ["Colombia", "COL"],
    "PE": ["Peru", "PER"],
}

_STATES: dict[str, dict[str, str]] = {
    "US": {
        "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
        "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
        "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
        "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
        "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
        "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
        "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
        "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
        "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
        "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
        "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
        "WY": "Wyoming", "DC": "District of Columbia", "PR": "Puerto Rico", "GU": "Guam",
        "VI": "U.S. Virgin Islands",
    },
    "CA": {
        "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
        "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
        "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
        "SK": "Saskatchewan", "YT": "Yukon",
    },
    "DE": {
        "BW": "Baden-Württemberg", "BY": "Bayern", "BE": "Berlin", "BB": "Brandenburg",
        "HB": "Bremen", "HH": "Hamburg", "HE": "Hessen", "MV": "Mecklenburg-Vorpommern",
        "NI": "Niedersachsen", "NW": "Nordrhein-Westfalen", "RP": "Rheinland-Pfalz",
        "SL": "Saarland", "SN": "Sachsen", "ST": "Sachsen-Anhalt", "SH": "Schleswig-Holstein",
        "TH": "Thüringen",
    },
}
_STATE_ALIASES = {"BAVARIA": "BY", "HESSE": "HE", "LOWER SAXONY": "NI", "SAXONY": "SN",
                  "NORTH RHINE-WESTPHALIA": "NW", "THURINGIA": "TH", "QUÉBEC": "QC",
                  "WASHINGTON DC": "DC", "WASHINGTON, DC": "DC"}


def geo_key(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace(".", "")).strip().upper()


def geo_key_sql(expr: str) -> str:
    """SQL twin of geo_key: dots removed, whitespace collapsed, trimmed, upper case."""
    return f"upper(trim(regexp_replace(replace({text(expr)}, '.', ''), '\\s+', ' ', 'g')))"


def _country_table() -> dict[str, str]:
    table = {region: region for region in phonenumbers.SUPPORTED_REGIONS}
    for code, names in _COUNTRIES.items():
        table.update({geo_key(name): code for name in names})
    return table


COUNTRY_CODES: dict[str, str] = _country_table()


def _state_table(countries: list[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for country in countries:
        for code, name in _STATES[country].items():
            table[geo_key(name)] = code
        for code in _STATES[country]:
            table.setdefault(code, code)
    table.update({geo_key(k): v for k, v in _STATE_ALIASES.items()})
    return table


STATE_COUNTRIES = tuple(_STATES)


def country_code_sql(expr: str) -> str:
    """ISO2 code for a country name / ISO3 / ISO2 value; NULL when unknown."""
    return lookup(COUNTRY_CODES, geo_key_sql(expr))


def country_code(value: str | None) -> str | None:
    return COUNTRY_CODES.get(geo_key(value)) if value else None


def state_code_sql(expr: str, country: str = "US") -> str:
    """2-letter state code for a state name; values it does not know pass through (trimmed).

    Names of the requested country win; names of the other known countries are recognised too
    (names do not collide across US/CA/DE)."""
    order = [country] + [c for c in _STATES if c != country] if country in _STATES else list(_STATES)
    table = _state_table(list(reversed(order)))
    return f"COALESCE({lookup(table, geo_key_sql(expr))}, NULLIF(trim({text(expr)}), ''))"


def state_code(value: str | None, country: str = "US") -> str | None:
    if not value:
        return None
    order = [country] + [c for c in _STATES if c != country] if country in _STATES else list(_STATES)
    return _state_table(list(reversed(order))).get(geo_key(value), value.strip())
