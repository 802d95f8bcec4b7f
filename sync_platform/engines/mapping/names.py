"""Field-name normalisation: tokens, system prefixes/suffixes, custom and system-key columns.

Landed names are dlt snake_case (`billing_postal_code`), ad hoc files keep their own spelling
(`BillingPostalCode`, `Billing Postal Code`): every name is reduced to lower-case tokens first.
"""

from __future__ import annotations

import re

# Qualifiers systems put in front of a standard field; stripping them gives a second name variant.
PREFIXES: tuple[tuple[str, ...], ...] = (
    ("bill", "addr"), ("ship", "addr"), ("billing",), ("mailing",), ("shipping",), ("hs",),
    ("primary",), ("main",), ("default",), ("sf",), ("qb",), ("x",), ("cf",), ("custom",),
    ("c",), ("usr",), ("udf",),
)
SUFFIXES: tuple[tuple[str, ...], ...] = (("c",), ("custom",))
# Prefixes and suffixes that mark a client-specific custom field (never auto-applied to a
# standard field): Odoo/ERP `x_`, Zendesk `cf_`, Salesforce `__c`, generic `custom_`/`udf_`.
CUSTOM_PREFIXES = {"x", "cf", "custom", "usr", "udf", "c", "zz"}
CUSTOM_SUFFIXES = {"c", "custom"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def tokens(name: str) -> list[str]:
    """`BillingPostalCode`, `billing_postal_code`, `Billing Postal-Code` -> billing postal code."""
    spaced = _CAMEL.sub(" ", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def compact(parts: list[str]) -> str:
    return "".join(parts)


def normalise(name: str) -> str:
    """The canonical spelling used as a key in knowledge files: snake_case tokens."""
    return "_".join(tokens(name))


def strip_affixes(parts: list[str]) -> tuple[list[str], list[str]]:
    """Remove known system prefixes/suffixes; returns (remaining tokens, removed tokens)."""
    removed: list[str] = []
    changed = True
    while changed and len(parts) > 1:
        changed = False
        for prefix in PREFIXES:
            if len(parts) > len(prefix) and tuple(parts[: len(prefix)]) == prefix:
                removed += list(prefix)
                parts = parts[len(prefix):]
                changed = True
                break
    for suffix in SUFFIXES:
        if len(parts) > len(suffix) and tuple(parts[-len(suffix):]) == suffix:
            removed += list(suffix)
            parts = parts[: -len(suffix)]
    return parts, removed


def custom_reason(name: str) -> str | None:
    """Why a column looks like a client-specific custom field, or None."""
    raw = name.strip()
    parts = tokens(raw)
    if not parts:
        return None
    if raw.lower().endswith("__c"):
        return f"'{name}' has the Salesforce custom-field suffix '__c'"
    if len(parts) > 1 and parts[0] in CUSTOM_PREFIXES:
        return f"'{name}' has the custom-field prefix '{parts[0]}_'"
    if len(parts) > 1 and parts[-1] in CUSTOM_SUFFIXES:
        return f"'{name}' has the custom-field suffix '_{parts[-1]}'"
    return None


def system_column(name: str) -> bool:
    """Loader bookkeeping columns (`_dlt_id`, `_source_file`): never mapped."""
    return name.startswith("_")


def system_key_reason(name: str, external_id_field: str | None = None) -> str | None:
    """Why a column looks like a system's own record key (not a business identifier), or None."""
    parts = tokens(name)
    if external_id_field and compact(parts) == compact(tokens(external_id_field)):
        return f"'{name}' is the external-id field the platform writes golden ids to"
    if parts == ["id"] or parts in (["object", "id"], ["uuid"], ["guid"], ["row", "id"]):
        return f"'{name}' is the system's own record id"
    if parts[-2:] in (["object", "id"], ["api", "id"]) or parts[:1] == ["external"]:
        return f"'{name}' is a system/integration key"
    if "graphql" in parts or parts[:2] == ["sync", "external"]:
        return f"'{name}' is a system/integration key"
    return None
