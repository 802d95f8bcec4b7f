"""Salesforce-style API: SOQL paging, modified-since, describe, upserts, auth."""

from __future__ import annotations

import requests

from sync_platform.engines.sandbox import Sandbox

from .helpers import API, crm, soql, soql_all


def test_auth_required(sandbox: Sandbox) -> None:
    r = requests.get(sandbox.env()["CRM_BASE_URL"] + f"{API}/limits", timeout=5)
    assert r.status_code == 401
    assert r.json() == [{"errorCode": "INVALID_SESSION_ID",
                         "message": "Session expired or invalid"}]
    assert crm(sandbox, f"{API}/limits").json()["DailyApiRequests"]["Max"] == 100000


def test_query_paging_is_complete_and_ordered(sandbox: Sandbox) -> None:
    first = soql(sandbox, "SELECT Id, Name, LastModifiedDate FROM Account").json()
    assert first["done"] is False and len(first["records"]) == 50
    assert first["nextRecordsUrl"].startswith(f"{API}/query/")
    records = soql_all(sandbox, "SELECT Id, Name, LastModifiedDate FROM Account "
                                "ORDER BY LastModifiedDate ASC, Id ASC")
    assert len(records) == first["totalSize"]
    keys = [(r["LastModifiedDate"], r["Id"]) for r in records]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    rec = records[0]
    assert rec["attributes"]["type"] == "Account" and len(rec["Id"]) == 18
    assert rec["Id"].startswith("001") and rec["LastModifiedDate"].endswith("+0000")
    big = soql(sandbox, "SELECT Id FROM Contact",
               headers={"Sforce-Query-Options": "batchSize=200"}).json()
    assert len(big["records"]) == 200
    limited = soql_all(sandbox, "SELECT Id FROM Contact LIMIT 70")
    assert len(limited) == 70


def test_modified_since_boundary(sandbox: Sandbox) -> None:
    records = soql_all(sandbox, "SELECT Id, LastModifiedDate FROM Contact")
    pivot = records[len(records) // 2]["LastModifiedDate"]
    expected = [r["Id"] for r in records if r["LastModifiedDate"] >= pivot]
    for literal in (pivot, pivot[:23] + "Z", f"'{pivot}'", pivot[:23] + "+00:00"):
        got = soql_all(sandbox, f"SELECT Id, LastModifiedDate FROM Contact "
                                f"WHERE LastModifiedDate >= {literal}")
        assert [r["Id"] for r in got] == expected
    got = soql_all(sandbox, f"SELECT Id FROM Contact WHERE LastModifiedDate > {pivot}")
    assert [r["Id"] for r in got] == [r["Id"] for r in records if r["LastModifiedDate"] > pivot]


def test_query_errors_and_describe(sandbox: Sandbox) -> None:
    r = soql(sandbox, "SELECT Id, Bogus__c FROM Account")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"
    r = soql(sandbox, "SELECT Id FROM Opportunity")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_TYPE"
    d = crm(sandbox, f"{API}/sobjects/Contact/describe").json()
    fields = {f["name"]: f for f in d["fields"]}
    assert fields["External_Id__c"]["externalId"] and fields["External_Id__c"]["custom"]
    assert fields["AccountId"]["type"] == "reference" and fields["Email"]["type"] == "email"
    one = soql(sandbox, "SELECT FIELDS(ALL) FROM Contact LIMIT 1").json()["records"][0]
    assert set(one) - {"attributes"} == set(fields)
    got = crm(sandbox, f"{API}/sobjects/Contact/{one['Id']}").json()
    assert got["Id"] == one["Id"] and got["LastName"] == one["LastName"]


def test_upsert_single_and_composite(sandbox: Sandbox) -> None:
    url = f"{API}/sobjects/Contact/External_Id__c/ext-1"
    r = crm(sandbox, url, "PATCH", json={"LastName": "Okafor", "Email": "a.okafor@example.com"})
    assert r.status_code == 201 and r.json()["created"] is True
    new_id = r.json()["id"]
    r = crm(sandbox, url, "PATCH", json={"Title": "CFO"})
    assert r.status_code == 200 and r.json() == {"id": new_id, "success": True,
                                                 "created": False, "errors": []}
    rec = crm(sandbox, f"{API}/sobjects/Contact/{new_id}").json()
    assert rec["Title"] == "CFO" and rec["External_Id__c"] == "ext-1"
    bad = crm(sandbox, f"{API}/sobjects/Contact/External_Id__c/ext-2", "PATCH",
              json={"FirstName": "x"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for body, code in (({"LastName": "x", "Nope": 1}, "INVALID_FIELD"),
                       ({"LastName": "x" * 300}, "STRING_TOO_LONG"),
                       ({"LastName": "x", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS")):
        r = crm(sandbox, f"{API}/sobjects/Contact/External_Id__c/ext-3", "PATCH", json=body)
        assert r.status_code == 400 and r.json()[0]["errorCode"] == code
    records = [{"attributes": {"type": "Account"}, "External_Id__c": "acc-1", "Name": "Zeta"},
               {"attributes": {"type": "Account"}, "External_Id__c": "acc-2"},
               {"attributes": {"type": "Account"}, "External_Id__c": "acc-1", "Phone": "1"}]
    r = crm(sandbox, f"{API}/composite/sobjects/Account/External_Id__c", "PATCH",
            json={"allOrNone": False, "records": records})
    assert r.status_code == 200
    res = r.json()
    assert [x["success"] for x in res] == [True, False, True]
    assert res[0]["created"] and not res[2]["created"] and res[0]["id"] == res[2]["id"]
    assert res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    r = crm(sandbox, f"{API}/composite/sobjects/Account/External_Id__c", "PATCH",
            json={"allOrNone": False, "records": records * 70})
    assert r.status_code == 400
    # Upserts are the newest records: a modified-since reader sees them last.
    last = soql_all(sandbox, "SELECT Id FROM Account ORDER BY LastModifiedDate")[-1]
    assert last["Id"] == res[0]["id"]
