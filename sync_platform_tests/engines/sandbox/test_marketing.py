"""HubSpot-style API: list paging, search, batch upsert with partial errors, properties."""

from __future__ import annotations

import sqlite3

import requests

from sync_platform.engines.sandbox import Sandbox

from .helpers import hs


def test_auth_required(sandbox: Sandbox) -> None:
    r = requests.get(sandbox.env()["MARKETING_BASE_URL"] + "/crm/v3/objects/contacts", timeout=5)
    assert r.status_code == 401
    assert r.json()["category"] == "INVALID_AUTHENTICATION"


def test_list_paging(sandbox: Sandbox) -> None:
    conn = sqlite3.connect(sandbox.root / "marketing.sqlite")
    live, archived = (conn.execute("SELECT count(*) FROM records WHERE object='companies' AND "
                                   f"deleted={d}").fetchone()[0] for d in (0, 1))
    first = hs(sandbox, "/crm/v3/objects/companies").json()
    assert len(first["results"]) == 10 and "after" in first["paging"]["next"]
    assert first["paging"]["next"]["link"].startswith(sandbox.env()["MARKETING_BASE_URL"])
    seen, after = [], None
    while True:
        params = {"limit": 100, **({"after": after} if after else {})}
        body = hs(sandbox, "/crm/v3/objects/companies", params=params).json()
        seen += body["results"]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert len(seen) == live and len({r["id"] for r in seen}) == live
    rec = seen[0]
    assert set(rec) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert rec["properties"]["hs_object_id"] == rec["id"]
    assert all(v is None or isinstance(v, str) for v in rec["properties"].values())
    arch = hs(sandbox, "/crm/v3/objects/companies", params={"archived": "true",
                                                            "limit": 100}).json()
    assert len(arch["results"]) == min(archived, 100)
    assert all(r["archived"] for r in arch["results"])
    few = hs(sandbox, "/crm/v3/objects/contacts", params={"properties": "email,firstname"}).json()
    assert set(few["results"][0]["properties"]) <= {"email", "firstname", "hs_object_id",
                                                    "createdate", "hs_lastmodifieddate"}


def test_search_modified_since(sandbox: Sandbox) -> None:
    everything, after = [], None
    while True:
        body = {"limit": 200, "sorts": [{"propertyName": "hs_lastmodifieddate",
                                         "direction": "ASCENDING"}]}
        if after:
            body["after"] = after
        page = hs(sandbox, "/crm/v3/objects/contacts/search", "POST", json=body).json()
        everything += page["results"]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
    assert len(everything) == page["total"]
    stamps = [r["properties"]["hs_lastmodifieddate"] for r in everything]
    assert stamps == sorted(stamps)
    pivot = stamps[len(stamps) // 3]
    flt = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                          "operator": "GTE", "value": pivot}]}], "limit": 200}
    got = hs(sandbox, "/crm/v3/objects/contacts/search", "POST", json=flt).json()
    assert got["total"] == sum(1 for s in stamps if s >= pivot)
    assert all(r["properties"]["hs_lastmodifieddate"] >= pivot for r in got["results"])
    flt["filterGroups"][0]["filters"][0]["operator"] = "GT"
    gt = hs(sandbox, "/crm/v3/objects/contacts/search", "POST", json=flt).json()
    assert gt["total"] == sum(1 for s in stamps if s > pivot)
    assert hs(sandbox, "/crm/v3/objects/contacts/search", "POST",
              json={"limit": 500}).status_code == 400


def test_batch_upsert_partial_errors(sandbox: Sandbox) -> None:
    inputs = [
        {"idProperty": "email", "id": "new.person@example.org",
         "properties": {"firstname": "New", "lastname": "Person"}},
        {"idProperty": "email", "id": "oops@example.org", "properties": {"shoe_size": "9"}},
        {"idProperty": "email", "id": "not-an-email", "properties": {"firstname": "X"}},
        {"idProperty": "sync_external_id", "id": "sx-1",
         "properties": {"email": "sx1@example.org", "lastname": "Ext"}},
    ]
    r = hs(sandbox, "/crm/v3/objects/contacts/batch/upsert", "POST", json={"inputs": inputs})
    assert r.status_code == 207
    body = r.json()
    assert [x["new"] for x in body["results"]] == [True, True]
    assert len(body["errors"]) == 2
    assert {e["context"]["ids"][0] for e in body["errors"]} == {"oops@example.org",
                                                                "not-an-email"}
    assert all(e["category"] == "VALIDATION_ERROR" for e in body["errors"])
    again = hs(sandbox, "/crm/v3/objects/contacts/batch/upsert", "POST", json={"inputs": [
        {"idProperty": "email", "id": "NEW.person@example.org",
         "properties": {"jobtitle": "CTO"}}]})
    assert again.status_code == 200
    res = again.json()["results"][0]
    assert res["new"] is False and res["id"] == body["results"][0]["id"]
    assert res["properties"]["jobtitle"] == "CTO"
    too_many = [{"idProperty": "email", "id": f"p{i}@x.org", "properties": {}}
                for i in range(101)]
    r = hs(sandbox, "/crm/v3/objects/contacts/batch/upsert", "POST", json={"inputs": too_many})
    assert r.status_code == 400


def test_properties(sandbox: Sandbox) -> None:
    props = {p["name"]: p for p in hs(sandbox, "/crm/v3/properties/contacts").json()["results"]}
    assert props["sync_external_id"]["hasUniqueValue"] is True
    assert props["hs_lastmodifieddate"]["type"] == "datetime"
    assert {"type", "fieldType", "label"} <= set(props["email"])
