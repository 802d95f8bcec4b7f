"""Scoring on hand-built profiles: names, synonyms, types, caps, 1:n, transforms."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.mapping.features import targets_from_entity
from sync_platform.engines.mapping.knowledge import Knowledge
from sync_platform.engines.mapping.names import custom_reason, strip_affixes, tokens
from sync_platform.engines.mapping.scoring import score_table
from sync_platform_tests.engines.mapping.helpers import profile

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def entities():
    return load_entities(REPO / "mappings")


@pytest.fixture(scope="module")
def knowledge():
    return Knowledge.load(REPO / "mappings")


def _score(entities, knowledge, entity, profiles):
    targets = targets_from_entity(entities[entity], knowledge)
    return score_table(profiles, targets, entity=entity, knowledge=knowledge)


def _accepted(candidates):
    return {tuple(c.sources): c for c in candidates if c.accepted}


def test_names():
    assert tokens("BillingPostalCode") == ["billing", "postal", "code"]
    assert tokens("Bill_Addr_Line1") == ["bill", "addr", "line1"]
    assert strip_affixes(tokens("bill_addr_city")) == (["city"], ["bill", "addr"])
    assert custom_reason("x_loyalty_tier__c")
    assert custom_reason("x_loyalty_tier")
    assert custom_reason("Loyalty_Tier__c")
    assert custom_reason("billing_city") is None


def test_prefix_synonym_and_explanation(entities, knowledge):
    profiles = [
        profile("billing_postal_code", "postal_code", ["98101", "10001", "60601"]),
        profile("BillingCity", "city", ["Seattle", "New York"]),
        profile("zip_code_of_hq", "postal_code", ["98101"]),
        profile("Surname", "last_name", ["Smith", "Jones"]),
    ]
    got = _accepted(_score(entities, knowledge, "customer", profiles))
    postal = got[("billing_postal_code",)]
    assert postal.targets == ["postal_code"] and postal.confidence >= 0.95
    assert "removing prefix" in postal.evidence and "postal code" in postal.evidence
    assert got[("BillingCity",)].targets == ["city"]
    assert got[("Surname",)].targets == ["contact_last_name"]


def test_custom_fields_never_auto_applied(entities, knowledge):
    profiles = [profile("Phone__c", "phone", ["(206) 555-0100"]),
                profile("x_email", "email", ["a@b.com"]),
                profile("name", "company_name", ["Acme Inc."])]
    candidates = _score(entities, knowledge, "customer", profiles)
    for c in candidates:
        if c.sources[0] in ("Phone__c", "x_email"):
            assert c.confidence < 0.95
            assert "custom field" in c.evidence
    assert _accepted(candidates)[("name",)].confidence >= 0.95


def test_system_keys_capped(entities, knowledge):
    profiles = [profile("id", "identifier", ["1", "2", "3"]),
                profile("employee_id", "identifier", ["1001", "1002"])]
    candidates = _score(entities, knowledge, "employee", profiles)
    assert all(c.confidence <= 0.3 for c in candidates if c.sources == ["id"])
    best = _accepted(candidates)[("employee_id",)]
    assert best.targets == ["employee_number"] and best.confidence >= 0.95


def test_split_name_and_transforms(entities, knowledge):
    profiles = [
        profile("full_name", "person_full_name", ["Ann Lee", "Bo Chen"]),
        profile("hire_date", "date", ["08/12/2022", "20/09/2017"], value_format="%d/%m/%Y"),
        profile("salary", "currency_amount", ["$60,000.00", "$137,000.00"]),
        profile("status", "boolean", ["Active", "Inactive", "Active"]),
        profile("work_email", "email", ["ann@x.io"]),
    ]
    got = _accepted(_score(entities, knowledge, "employee", profiles))
    split = got[("full_name",)]
    assert split.kind == "1:n" and split.targets == ["first_name", "last_name"]
    assert [s.kind for s in split.transform] == ["split_name"]
    assert got[("hire_date",)].transform[0].model_dump() == {
        "kind": "date", "params": {"format": "%d/%m/%Y"}}
    assert [s.kind for s in got[("salary",)].transform] == ["currency"]
    boolean = got[("status",)].transform[0]
    assert boolean.kind == "boolean" and boolean.params["true_values"] == ["Active"]
    assert [s.kind for s in got[("work_email",)].transform] == ["email"]


def test_cents_and_join(entities, knowledge):
    cents = profile("annual_salary_cents", "integer", ["6000000"], data_type="BIGINT")
    got = _accepted(_score(entities, knowledge, "employee", [cents]))
    assert got[("annual_salary_cents",)].transform[0].model_dump() == {
        "kind": "scale", "params": {"factor": 0.01}}
    lines = [profile("address_line1", "street", ["1 Main St"]),
             profile("address_line2", "street", ["Suite 4"])]
    contact = _score(entities, knowledge, "contact", lines)
    join = [c for c in contact if c.kind == "n:1"]
    assert join and join[0].targets == ["street"] and join[0].transform[0].kind == "join"
