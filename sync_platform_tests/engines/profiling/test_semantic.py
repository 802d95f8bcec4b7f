"""Semantic detection of landed sandbox columns and of ad hoc values (`detect_values`)."""

from __future__ import annotations

import pytest

from sync_platform.engines.canonical import SemanticType as ST
from sync_platform.engines.profiling import detect_values

EXPECTED = [
    ("crm", "contacts", "email", ST.EMAIL),
    ("crm", "accounts", "phone", ST.PHONE),
    ("accounting", "customers", "primary_phone", ST.PHONE),
    ("hr", "employees", "hire_date", ST.DATE),
    ("hr", "employees", "salary", ST.CURRENCY_AMOUNT),
    ("hr", "employees", "full_name", ST.PERSON_FULL_NAME),
    ("hr", "employees", "status", ST.BOOLEAN),
    ("crm", "accounts", "account_number", ST.IDENTIFIER),
    ("crm", "accounts", "id", ST.SALESFORCE_ID),
    ("crm", "accounts", "website", ST.URL),
    ("marketing", "companies", "domain", ST.DOMAIN),
    ("crm", "contacts", "first_name", ST.FIRST_NAME),
    ("crm", "contacts", "last_name", ST.LAST_NAME),
    ("crm", "accounts", "name", ST.COMPANY_NAME),
    ("crm", "accounts", "billing_city", ST.CITY),
    ("crm", "accounts", "billing_postal_code", ST.POSTAL_CODE),
    ("crm", "accounts", "billing_country", ST.COUNTRY),
    ("crm", "accounts", "billing_state", ST.STATE),
    ("marketing", "contacts", "lifecyclestage", ST.ENUM),
    ("crm", "contacts", "title", ST.JOB_TITLE),
    ("accounting", "customers", "active", ST.BOOLEAN),
    ("crm", "accounts", "created_date", ST.DATETIME),
    ("marketing", "contacts", "createdate", ST.DATETIME),
    ("accounting", "customers", "create_time", ST.DATETIME),
    ("marketing", "contacts", "firstname", ST.FIRST_NAME),
    ("accounting", "customers", "family_name", ST.LAST_NAME),
    ("marketing", "contacts", "associatedcompanyid", ST.IDENTIFIER),
    ("shop", "products__variants", "sku", ST.IDENTIFIER),
    ("accounting", "customers", "currency_ref", ST.CURRENCY_CODE),
    ("crm", "contacts", "mailing_street", ST.STREET),
]


@pytest.mark.parametrize(("system", "table", "column", "expected"), EXPECTED,
                         ids=[f"{s}.{t}.{c}" for s, t, c, _ in EXPECTED])
def test_sandbox_semantic_types(profiled_warehouse, system, table, column, expected):
    _, profiles, _ = profiled_warehouse
    profile = profiles[(system, table, column)]
    assert profile.semantic_type == expected, profile
    assert 0.5 <= profile.semantic_confidence <= 1.0


def test_sandbox_formats(profiled_warehouse):
    _, profiles, _ = profiled_warehouse
    assert profiles[("hr", "employees", "hire_date")].value_format == "%d/%m/%Y"
    assert profiles[("hr", "employees", "salary")].value_format == "$"
    assert profiles[("crm", "accounts", "phone")].value_format == "(999) 999-9999"
    assert profiles[("crm", "accounts", "phone")].pattern == "(999) 999-9999"
    assert profiles[("accounting", "customers", "primary_phone")].value_format == "+9 999-999-9999"
    assert profiles[("crm", "accounts", "created_date")].semantic_confidence == 1.0


def test_ambiguous_dates_are_decided_by_values_over_12():
    day_first = ["01/02/2020", "03/04/2021", "25/12/2019", "11/10/2022"]
    month_first = ["01/02/2020", "03/04/2021", "12/25/2019", "11/10/2022"]
    assert detect_values(day_first)[0::2] == (ST.DATE, "%d/%m/%Y")
    assert detect_values(month_first)[0::2] == (ST.DATE, "%m/%d/%Y")
    semantic, confidence, _ = detect_values(["01/02/2020", "03/04/2021"])
    assert semantic == ST.DATE and confidence < detect_values(day_first)[1]


@pytest.mark.parametrize(("values", "name", "expected", "fmt"), [
    (["1700000000", "1650000000", "1600000123"], "created", ST.EPOCH_TIMESTAMP, "s"),
    (["1700000000000", "1650000000123"], None, ST.EPOCH_TIMESTAMP, "ms"),
    (["12%", "5.5%", "100%", None], None, ST.PERCENT, "%"),
    (["0.12", "0.5", "0.33"], "discount_rate", ST.PERCENT, "fraction"),
    (["123e4567-e89b-12d3-a456-426614174000", "9f1c2b3a-0000-4000-8000-000000000001"], None,
     ST.UUID, None),
    (["$85,000.00", "$1,200.50", "$99.00"], None, ST.CURRENCY_AMOUNT, "$"),
    (["EUR 1.200", "EUR 15", "EUR 7,300"], None, ST.CURRENCY_AMOUNT, "EUR"),
    (["Ryan Diaz", "Ellis, Debra", "Dr. Mark Price"], None, ST.PERSON_FULL_NAME, None),
    (["12 Main St, Springfield, IL 62701", "5 Oak Ave, Boston, MA 02110"], None,
     ST.ADDRESS_BLOCK, None),
    (["SKU-000123", "SKU-000124", "SKU-000200"], None, ST.IDENTIFIER, None),
    (["2012032106", "6384718975", "7766875925"], "account_number", ST.IDENTIFIER, None),
    (["0015g000000005tAAA", "0015g000000001xAAA", "0015g000000002XAAQ"], None,
     ST.SALESFORCE_ID, None),
    (["Y", "N", "N", "Y"], None, ST.BOOLEAN, None),
    (["Open", "Closed", "Open"], None, ST.BOOLEAN, None),
    (["42", "7", "1999", "-3"], None, ST.INTEGER, None),
    (["4.25", "3.1", "-0.5"], None, ST.NUMBER, None),
    (["alice@example.com", "bob.smith@corp.io"], None, ST.EMAIL, None),
    (["2022-04-01T20:11:50Z", "2024-02-15T04:03:19Z"], None, ST.DATETIME, "%Y-%m-%dT%H:%M:%SZ"),
])
def test_detect_values(values, name, expected, fmt):
    semantic, confidence, value_format = detect_values(values, name)
    assert semantic == expected
    assert value_format == fmt
    assert 0.5 <= confidence <= 1.0


def test_detect_values_without_values_is_unknown():
    assert detect_values([None, None]) == (ST.UNKNOWN, 0.0, None)
    assert detect_values([]) == (ST.UNKNOWN, 0.0, None)
