"""Noise and format variants: typos, nicknames, case/whitespace noise, phone and name formats.

Every function takes the caller's `random.Random` so generated data stays deterministic.
"""

from __future__ import annotations

import random

NICKNAMES: dict[str, str] = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate",
    "Michael": "Mike", "Jennifer": "Jen", "James": "Jim", "Richard": "Rick",
    "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt",
    "Anthony": "Tony", "Joseph": "Joe", "Margaret": "Maggie", "Patricia": "Pat",
    "Susan": "Sue", "Deborah": "Deb", "Rebecca": "Becky", "Alexander": "Alex",
    "Nicholas": "Nick", "Jonathan": "Jon", "Benjamin": "Ben", "Samuel": "Sam",
    "Andrew": "Andy", "Steven": "Steve", "Edward": "Ed", "Timothy": "Tim",
    "Jessica": "Jess", "Victoria": "Vicky", "Kimberly": "Kim", "Christine": "Chris",
    "Gregory": "Greg", "Zachary": "Zach", "Joshua": "Josh", "Patrick": "Pat",
    "Charles": "Charlie", "Frederick": "Fred", "Catherine": "Cathy", "Stephanie": "Steph",
    "Samantha": "Sam", "Abigail": "Abby", "Kenneth": "Ken", "Donald": "Don",
    "Ronald": "Ron", "Lawrence": "Larry", "Peter": "Pete", "Gabriel": "Gabe",
}

COMPANY_SUFFIX_VARIANTS: dict[str, tuple[str, ...]] = {
    "Inc.": ("Inc.", "Inc", ", Inc.", "Incorporated"),
    "LLC": ("LLC", "L.L.C.", ", LLC"),
    "Corp.": ("Corp.", "Corporation", "Corp"),
    "Co.": ("Co.", "Company", "& Co."),
    "Ltd": ("Ltd", "Limited", "Ltd."),
    "GmbH": ("GmbH",),
    "SAS": ("SAS", "S.A.S."),
    "PLC": ("PLC", "plc"),
}

STREET_ABBREV: dict[str, str] = {
    "Street": "St.", "Avenue": "Ave", "Boulevard": "Blvd", "Road": "Rd",
    "Drive": "Dr.", "Lane": "Ln", "Court": "Ct", "Place": "Pl", "Way": "Way",
}

COUNTRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "US": ("United States", "USA", "US", "United States of America"),
    "GB": ("United Kingdom", "UK", "GB", "Great Britain"),
    "DE": ("Germany", "DE", "Deutschland"),
    "FR": ("France", "FR"),
    "CA": ("Canada", "CA"),
}


def typo(s: str, rng: random.Random) -> str:
    """Swap two adjacent letters somewhere in `s` (a classic keyboard typo)."""
    if len(s) < 3:
        return s
    i = 1 + int(rng.random() * (len(s) - 2))
    return s[:i - 1] + s[i] + s[i - 1] + s[i + 1:] if i < len(s) else s


def case_noise(s: str, rng: random.Random) -> str:
    """Return `s` in upper, lower or title case."""
    r = rng.random()
    if r < 0.4:
        return s.upper()
    if r < 0.8:
        return s.lower()
    return s.title()


def space_noise(s: str, rng: random.Random) -> str:
    """Add a stray leading/trailing or doubled space."""
    r = rng.random()
    if r < 0.4:
        return s + " "
    if r < 0.7:
        return " " + s
    return s.replace(" ", "  ", 1) if " " in s else s + " "


def nickname(first: str) -> str | None:
    """The common nickname of `first`, if any."""
    return NICKNAMES.get(first)


def company_name_variant(base: str, suffix: str, rng: random.Random) -> str:
    """The company written the way a given system would: suffix variant, no suffix, or all caps."""
    r = rng.random()
    if r < 0.55:
        return f"{base} {suffix}" if not suffix.startswith(",") else base + suffix
    if r < 0.8:
        v = COMPANY_SUFFIX_VARIANTS.get(suffix, (suffix,))
        s = v[int(rng.random() * len(v))]
        return base + s if s.startswith(",") else f"{base} {s}"
    if r < 0.92:
        return base
    return base.upper()


def street_variant(street: str, rng: random.Random) -> str:
    """Abbreviate the street type ("Main Street" -> "Main St.") half of the time."""
    if rng.random() < 0.5:
        return street
    parts = street.rsplit(" ", 1)
    if len(parts) == 2 and parts[1] in STREET_ABBREV:
        return f"{parts[0]} {STREET_ABBREV[parts[1]]}"
    return street


def country_variant(code: str, rng: random.Random) -> str:
    """A spelling of an ISO country code ("US" -> "USA", "United States", ...)."""
    v = COUNTRY_VARIANTS.get(code, (code,))
    return v[int(rng.random() * len(v))]


# Phone numbers are kept as (country calling code, national digits) and formatted per system.

def phone_parts(phone: str) -> tuple[str, str]:
    """Split the canonical "+CC|digits" form into its two parts."""
    cc, _, digits = phone.partition("|")
    return cc, digits


def format_phone(phone: str | None, style: str) -> str | None:
    """Format a canonical phone ("1|4155550100") in a system style.

    Styles: "paren" (415) 555-0100, "dots" 415.555.0100, "spaces" +1 415 555 0100,
    "dash" +1 415-555-0100, "e164" +14155550100.
    """
    if not phone:
        return None
    cc, d = phone_parts(phone)
    if cc != "1":
        # International numbers: same grouping everywhere, prefix differs by style.
        grouped = f"{d[:2]} {d[2:6]} {d[6:]}"
        if style == "e164":
            return f"+{cc}{d}"
        if style in ("paren", "dots"):
            return f"+{cc} {grouped}"
        return f"+{cc} ({d[0]}){d[1:2]} {d[2:6]} {d[6:]}" if style == "dash" else f"+{cc} {grouped}"
    a, b, c = d[:3], d[3:6], d[6:]
    if style == "paren":
        return f"({a}) {b}-{c}"
    if style == "dots":
        return f"{a}.{b}.{c}"
    if style == "spaces":
        return f"+1 {a} {b} {c}"
    if style == "dash":
        return f"+1 {a}-{b}-{c}"
    return f"+1{a}{b}{c}"
