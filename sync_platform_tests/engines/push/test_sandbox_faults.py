"""The sandbox faults and look-ups the push tests rely on, checked directly over HTTP."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
import requests

from sync_platform_tests.engines.sandbox.helpers import API, crm, hs

LIMITS = f"{API}/limits"


def test_retry_after_styles_and_storm(sandbox) -> None:
    sandbox.set_faults("crm", rate_limit_storm=1, retry_after="http_date", retry_after_s=120)
    r = crm(sandbox, LIMITS)
    assert r.status_code == 429 and parsedate_to_datetime(r.headers["Retry-After"]).tzinfo
    assert crm(sandbox, LIMITS).status_code == 200  # the storm was one request long
    sandbox.set_faults("crm", rate_limit_storm=1, retry_after="none")
    r = crm(sandbox, LIMITS)
    assert r.status_code == 429 and "Retry-After" not in r.headers
    sandbox.set_faults("crm", rate_limit_storm=1, retry_after_s=3600)
    assert crm(sandbox, LIMITS).headers["Retry-After"] == "3600"


def test_lost_response_commits_and_expired_token_and_body_limit(sandbox) -> None:
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": "Lost",
                                             "External_Id__c": "lost-1"}]}
    sandbox.set_faults("crm", lose_response_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        crm(sandbox, f"{API}/composite/sobjects/Contact/External_Id__c", "PATCH", json=body)
    sandbox.set_faults("crm")
    found = crm(sandbox, f"{API}/sobjects/Contact/External_Id__c/lost-1")  # it was written
    assert found.status_code == 200 and found.json()["LastName"] == "Lost"
    assert crm(sandbox, f"{API}/sobjects/Contact/External_Id__c/none").status_code == 404
    assert sandbox.stats("crm")["faults"]["lost"] == 1  # counted by the sandbox
    sandbox.set_faults("marketing", token_expired=True)
    r = hs(sandbox, "/crm/v3/objects/contacts")
    assert r.status_code == 401 and r.json()["category"] == "INVALID_AUTHENTICATION"
    sandbox.set_faults("marketing", max_body_bytes=100)
    r = hs(sandbox, "/crm/v3/objects/contacts/batch/upsert", "POST", json={"inputs": [{"x": "y" * 200}]})
    assert r.status_code == 413


def test_hubspot_get_by_unique_property(sandbox) -> None:
    inputs = [{"idProperty": "sync_external_id", "id": "hs-ext-1",
               "properties": {"email": "Unique@Example.com", "lastname": "U"}}]
    assert hs(sandbox, "/crm/v3/objects/contacts/batch/upsert", "POST",
              json={"inputs": inputs}).status_code == 200
    by_ext = hs(sandbox, "/crm/v3/objects/contacts/hs-ext-1?idProperty=sync_external_id")
    by_email = hs(sandbox, "/crm/v3/objects/contacts/unique@example.com?idProperty=email")
    assert by_ext.json()["id"] == by_email.json()["id"]
    assert hs(sandbox, "/crm/v3/objects/contacts/x?idProperty=lastname").status_code == 400
