"""Enrichment after the rules: derive missing values from other fields of the same record.

By semantic type of the canonical fields: a NULL domain from an email (not a free-mail domain)
or a website; a NULL country from an international phone prefix; country names/ISO3 to ISO2;
state names to 2-letter codes. Each returns SQL for the enriched value; staging records in
`_enriched` which fields changed.
"""

from __future__ import annotations

from sync_platform.engines.canonical import CanonicalEntity, SemanticType
from sync_platform.engines.transforms import (
    country_code_sql,
    domain_from_email_sql,
    domain_from_url_sql,
    state_code_sql,
)
from sync_platform.engines.transforms.sql import literal

FREE_MAIL = ("gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com",
             "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
             "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "t-online.de")


def _of_type(entity: CanonicalEntity, *types: SemanticType) -> list[str]:
    return [f.name for f in entity.fields if f.semantic_type in types]


def enrichment_sql(entity: CanonicalEntity, value: dict[str, str]) -> dict[str, str]:
    """field -> SQL of its enriched value, for fields that have an enrichment; `value` maps every
    field to its SQL after rules and typing."""
    out: dict[str, str] = {}
    emails = _of_type(entity, SemanticType.EMAIL)
    urls = _of_type(entity, SemanticType.URL)
    phones = _of_type(entity, SemanticType.PHONE)
    for name in _of_type(entity, SemanticType.DOMAIN):
        free = ", ".join(literal(d) for d in FREE_MAIL)
        sources = [f"(CASE WHEN {domain_from_email_sql(value[e])} NOT IN ({free}) "
                   f"THEN {domain_from_email_sql(value[e])} END)" for e in emails]
        sources += [domain_from_url_sql(value[u]) for u in urls]
        if sources:
            out[name] = f"COALESCE({value[name]}, {', '.join(sources)})"
    for name in _of_type(entity, SemanticType.COUNTRY):
        from_phone = [f"sp_phone_country({value[p]})" for p in phones]
        normalised = f"COALESCE({country_code_sql(value[name])}, {value[name]})"
        out[name] = (f"(CASE WHEN {value[name]} IS NOT NULL THEN {normalised} "
                     f"ELSE {'COALESCE(' + ', '.join(from_phone) + ')' if from_phone else 'NULL'} END)")
    countries = _of_type(entity, SemanticType.COUNTRY)
    for name in _of_type(entity, SemanticType.STATE):
        by_country = state_code_sql(value[name], "US")
        if countries:
            country = value[countries[0]]
            by_country = (f"(CASE {country_code_sql(country)} WHEN 'CA' THEN "
                          f"{state_code_sql(value[name], 'CA')} WHEN 'DE' THEN "
                          f"{state_code_sql(value[name], 'DE')} ELSE {by_country} END)")
        out[name] = f"(CASE WHEN {value[name]} IS NOT NULL THEN {by_country} END)"
    return out
