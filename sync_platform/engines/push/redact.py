"""Secrets never leave the process: every message stored or raised by the push goes through here.

A secret is the value of any environment variable the catalog names as a secret (tokens,
passwords, database URLs) or whose name looks like one; auth headers and URL passwords are masked
by shape as well, so a value the catalog does not know about is still caught.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

MASK = "***"
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|CREDENTIAL|DATABASE_URL)", re.I)
_SHAPES = [
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{4,}"),
    re.compile(r"(?i)((?:access[_-]?token|api[_-]?key|token|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"),  # user:password@host
]


def secret_values(names: Iterable[str] = ()) -> list[str]:
    """Values of the named variables plus of every variable whose name looks secret."""
    wanted = set(names) | {k for k in os.environ if _SECRET_NAME.search(k)}
    values = {os.environ.get(k, "") for k in wanted}
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: object, secrets: Iterable[str] | None = None, limit: int = 2000) -> str:
    """`text` with every secret masked, bounded to `limit` characters."""
    out = "" if text is None else str(text)
    for value in secret_values() if secrets is None else secrets:
        if value:
            out = out.replace(value, MASK)
    out = _SHAPES[0].sub(lambda m: f"{m.group(1)} {MASK}", out)
    out = _SHAPES[1].sub(lambda m: f"{m.group(1)}{MASK}", out)
    out = _SHAPES[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", out)
    return out if len(out) <= limit else out[: limit - 1] + "…"
