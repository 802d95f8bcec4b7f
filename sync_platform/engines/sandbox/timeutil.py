"""Timestamp formats of the sandbox products (epoch milliseconds <-> API strings)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def ms_to_dt(ms: int) -> datetime:
    """Aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def ms_to_naive(ms: int) -> datetime:
    """Naive UTC datetime (what SQL TIMESTAMP columns hold)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def sf_datetime(ms: int) -> str:
    """Salesforce style: 2024-05-01T12:00:00.000+0000."""
    return ms_to_dt(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def hs_datetime(ms: int) -> str:
    """HubSpot style: 2024-05-01T12:00:00.000Z."""
    return ms_to_dt(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def shopify_datetime(ms: int) -> str:
    """Shopify style (second precision): 2024-05-01T12:00:00-00:00."""
    return ms_to_dt(ms).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def parse_datetime_ms(text: str) -> int:
    """Parse an ISO-8601 datetime (Z, +0000, +00:00, naive = UTC) or epoch millis to ms.

    Raises ValueError on anything else.
    """
    s = text.strip().strip("'\"")
    if s.isdigit():
        return int(s)
    m = _ISO.match(s)
    if not m:
        raise ValueError(f"not a datetime: {text!r}")
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0), tzinfo=UTC)
    ms = int(dt.timestamp() * 1000) + (int((frac or "0").ljust(3, "0")[:3]) if frac else 0)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 1000
    return ms
