"""Delete routes of the HTTP sandbox systems, in each real API's style, with fault injection."""

from __future__ import annotations

import pytest
import requests

from .helpers import API, crm, hs, shop, soql_all


def test_crm_composite_delete_to_recycle_bin(fresh) -> None:
    live = [r["Id"] for r in soql_all(fresh, "SELECT Id FROM Contact")][:3]
    r = crm(fresh, f"{API}/composite/sobjects", "DELETE",
            params={"ids": f"{live[0]},{live[1]},003000000000000AAA,bad", "allOrNone": "false"})
    assert r.status_code == 200
    body = r.json()
    assert [b["success"] for b in body] == [True, True, False, False]
    assert body[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert body[3]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert crm(fresh, f"{API}/sobjects/Contact/{live[0]}").status_code == 404
    deleted = {x["Id"]: x["IsDeleted"] for x in soql_all(fresh, "SELECT Id, IsDeleted FROM Contact", True)}
    assert deleted[live[0]] is True and deleted[live[2]] is False
    again = crm(fresh, f"{API}/composite/sobjects", "DELETE", params={"ids": live[0]}).json()
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    rolled = crm(fresh, f"{API}/composite/sobjects", "DELETE",
                 params={"ids": f"{live[2]},{live[0]}", "allOrNone": "true"}).json()
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert crm(fresh, f"{API}/sobjects/Contact/{live[2]}").status_code == 200  # not deleted
    assert crm(fresh, f"{API}/composite/sobjects", "DELETE").status_code == 400  # no ids


def test_hubspot_batch_archive_and_shopify_delete(fresh) -> None:
    ids = [c["id"] for c in hs(fresh, "/crm/v3/objects/contacts", params={"limit": 2}).json()["results"]]
    r = hs(fresh, "/crm/v3/objects/contacts/batch/archive", "POST",
           json={"inputs": [{"id": ids[0]}, {"id": "99999999999"}]})
    assert r.status_code == 204 and r.content == b""
    assert hs(fresh, f"/crm/v3/objects/contacts/{ids[0]}").status_code == 404
    assert hs(fresh, f"/crm/v3/objects/contacts/{ids[0]}", params={"archived": "true"}).json()["archived"]
    assert hs(fresh, "/crm/v3/objects/contacts/batch/archive", "POST",
              json={"inputs": [{"id": ids[0]}]}).status_code == 204  # already archived: fine
    assert hs(fresh, "/crm/v3/objects/contacts/batch/archive", "POST", json={"inputs": [{}]}).status_code == 400
    product = shop(fresh, "/admin/api/2024-07/products.json", params={"limit": 1}).json()["products"][0]
    assert shop(fresh, f"/admin/api/2024-07/products/{product['id']}.json", "DELETE").json() == {}
    assert shop(fresh, f"/admin/api/2024-07/products/{product['id']}.json").status_code == 404
    assert shop(fresh, f"/admin/api/2024-07/products/{product['id']}.json", "DELETE").status_code == 404


def test_faults_apply_to_delete_routes(fresh) -> None:
    contact = soql_all(fresh, "SELECT Id FROM Contact")[0]["Id"]
    fresh.set_faults("crm", error_burst=1)
    assert crm(fresh, f"{API}/composite/sobjects", "DELETE", params={"ids": contact}).status_code == 503
    fresh.set_faults("crm", lose_response_rate=1.0)  # deleted, but the answer never comes
    with pytest.raises(requests.ConnectionError):
        crm(fresh, f"{API}/composite/sobjects", "DELETE", params={"ids": contact})
    fresh.set_faults("crm")
    assert crm(fresh, f"{API}/sobjects/Contact/{contact}").status_code == 404
    fresh.set_faults("marketing", token_expired=True)
    assert hs(fresh, "/crm/v3/objects/contacts/batch/archive", "POST",
              json={"inputs": [{"id": "1"}]}).status_code == 401
    fresh.set_faults("shop", rate_limit_storm=1)
    assert shop(fresh, "/admin/api/2024-07/products/1.json", "DELETE").status_code == 429
