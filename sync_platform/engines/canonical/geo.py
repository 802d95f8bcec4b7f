"""Countries and states: names, local spellings and codes, shared by profiling and transforms.

`COUNTRY_NAMES`: ISO2 code -> names and codes people write for it; `STATE_NAMES`: country ->
state code -> name; keys compare after `geo_key()` (upper case, dots removed, spaces collapsed).
"""

from __future__ import annotations

import re

COUNTRY_NAMES: dict[str, list[str]] = {
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
    "MA": ["Morocco", "MAR"],
    "VE": ["Venezuela", "VEN"],
    "QA": ["Qatar", "QAT"],
    "EE": ["Estonia", "EST"],
    "LV": ["Latvia", "LVA"],
    "LT": ["Lithuania", "LTU"],
    "HR": ["Croatia", "HRV"],
    "RS": ["Serbia", "SRB"],
    "SI": ["Slovenia", "SVN"],
}

STATE_NAMES: dict[str, dict[str, str]] = {
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
STATE_ALIASES = {"BAVARIA": "BY", "HESSE": "HE", "LOWER SAXONY": "NI", "SAXONY": "SN",
                  "NORTH RHINE-WESTPHALIA": "NW", "THURINGIA": "TH", "QUÉBEC": "QC",
                  "WASHINGTON DC": "DC", "WASHINGTON, DC": "DC"}


def geo_key(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace(".", "")).strip().upper()
