"""Secrets never leave the process: every message stored or raised by the push goes through here.

A secret is the value of any environment variable the catalog names as a secret (tokens,
passwords, database URLs) or whose name looks like one; auth headers and URL passwords are masked
by shape as well, so a value the catalog does not know about is still caught.

Personal data (decision): a change names the payload fields whose values are personal data
(`Change.sensitive`, e.g. a national id, birth date, salary; filled by whoever renders changes
from the canonical model). Their values are sent to the target (that is the point of the push)
but are never written anywhere else: `ops.audit_log` before/after hold `pii_mask(value)`
(`***pii:` + the first 8 hex of the value's sha256, so an analyst still sees *that* it changed),
and every message stored or raised (ledger errors, dead letters, audit messages, review
candidates, exceptions) goes through `redact(text, pii=values)`, which masks the value wherever
it appears, also when a target echoes it back (as is, JSON-escaped, repr-quoted, or cut to its
first 20 characters). `ops.push_ledger` holds the clear payload only while the write is in
flight (a resume needs it); once the row settles (acknowledged, rejected, superseded, skipped,
discarded) its sensitive values are replaced by their masks. Replay of a dead letter therefore
rebuilds the payload from the golden record; a payload that still holds masks is refused with
`MaskedPayload` instead of being sent. The push engine itself logs nothing; callers log reports
and messages, which are already masked. Values shorter than 4 characters are masked in
structured fields but not searched for in free text (too many false hits).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
PII_MASK = "***pii:"
_ECHO_PREFIX = 20  # targets cut long values in their messages (Salesforce: first 20 characters)
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


class MaskedPayload(ValueError):
    """A payload holds masked personal data (scrubbed from the ledger): it must not be sent."""


def _pii_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def is_pii_mask(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PII_MASK)


def pii_mask(value: Any) -> Any:
    """`***pii:` + first 8 hex of sha256 of the value (None and masks stay as they are)."""
    if value is None or is_pii_mask(value):
        return value
    digest = hashlib.sha256(_pii_text(value).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{PII_MASK}{digest[:8]}"


def mask_fields(values: Mapping[str, Any] | None, sensitive: Iterable[str]) -> dict[str, Any] | None:
    """A copy of `values` with the sensitive fields masked."""
    if values is None:
        return None
    keys = set(sensitive)
    return {k: (pii_mask(v) if k in keys else v) for k, v in values.items()}


def masked_fields(values: Mapping[str, Any]) -> list[str]:
    """Fields of a payload that hold a PII mask instead of a value."""
    return sorted(k for k, v in values.items() if is_pii_mask(v))


def pii_values(values: Mapping[str, Any] | None, sensitive: Iterable[str]) -> list[Any]:
    """The sensitive values of a payload (for `redact(..., pii=...)`)."""
    if not values:
        return []
    return [values[k] for k in sensitive if values.get(k) is not None and not is_pii_mask(values[k])]


def _pii_forms(values: Iterable[Any]) -> list[tuple[str, str]]:
    """(text to find, its mask), longest first: the value as is, JSON-escaped, repr-quoted, and
    its first characters (a target's message cutting a long value)."""
    forms: dict[str, str] = {}
    for value in values:
        text = _pii_text(value)
        if len(text) < 4:
            continue
        mask = pii_mask(value)
        for form in (text, json.dumps(text)[1:-1], repr(text)[1:-1], text[:_ECHO_PREFIX]):
            forms.setdefault(form, mask)
    return sorted(forms.items(), key=lambda kv: len(kv[0]), reverse=True)


def mask_pii(value: Any, pii: Iterable[Any]) -> Any:
    """`value` (JSON-like: dicts, lists, scalars) with every personal-data value in `pii` masked
    in its strings, and scalars equal to one replaced by the mask; the structure is kept."""
    forms = _pii_forms(pii)
    exact = {_pii_text(v): pii_mask(v) for v in pii if v is not None}

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        if item is None or isinstance(item, bool):
            return item
        text = _pii_text(item)
        if text in exact:
            return exact[text]
        if not isinstance(item, str):
            return item
        for form, mask in forms:
            text = text.replace(form, mask)
        return text

    return walk(value) if forms or exact else value


def redact(text: object, secrets: Iterable[str] | None = None, limit: int = 2000,
           pii: Iterable[Any] = ()) -> str:
    """`text` with every secret masked, and every personal-data value in `pii` replaced by its
    `pii_mask`, bounded to `limit` characters."""
    out = "" if text is None else str(text)
    for value, mask in _pii_forms(pii):
        out = out.replace(value, mask)
    for value in secret_values() if secrets is None else secrets:
        if value:
            out = out.replace(value, MASK)
    out = _SHAPES[0].sub(lambda m: f"{m.group(1)} {MASK}", out)
    out = _SHAPES[1].sub(lambda m: f"{m.group(1)}{MASK}", out)
    out = _SHAPES[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", out)
    return out if len(out) <= limit else out[: limit - 1] + "…"
