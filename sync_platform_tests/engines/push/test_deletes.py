"""Deletes through the connectors, against the real sandbox: Salesforce recycle bin, HubSpot
archive, Shopify delete, SQL DELETE by primary key; idempotent, in-doubt safe, clear dead letters."""

from __future__ import annotations

import sqlalchemy as sa

from sync_platform.engines.connectors import connector_for
from sync_platform.engines.push import push, resume
from sync_platform_tests.engines.sandbox.helpers import API, crm, hs, shop, soql_all

from .helpers import crm_contacts, hs_contacts, ledger_states, query, store_counts


def _delete(target: str, table: str, entity: str, golden_id: str, target_key: str | None = None,
            **extra) -> dict:
    change = {"target": target, "table": table, "entity": entity, "golden_id": golden_id,
              "operation": "delete", **extra}
    if target_key is not None:
        change["target_key"] = target_key
    return change


def _ids(warehouse, prefix: str) -> dict[str, str]:
    """golden id -> target id of the acknowledged creates."""
    return dict(query(warehouse, "SELECT golden_id, target_id FROM ops.push_ledger WHERE golden_id LIKE ? "
                                 "AND operation = 'create' AND state = 'acknowledged'", [f"{prefix}%"]))


def _outcomes(warehouse, golden_id: str) -> list[str]:
    return [r[0] for r in query(warehouse, "SELECT outcome FROM ops.audit_log WHERE golden_id = ? "
                                           "AND operation = 'delete' ORDER BY \"at\"", [golden_id])]


def test_crm_delete_goes_to_the_recycle_bin_once(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    assert push(push_catalog, crm_contacts(4)).states == {"acknowledged": 4}
    ids = _ids(wh, "g-")
    deletes = [_delete("crm", "contacts", "contact", "g-00000"),  # found by external id
               _delete("crm", "contacts", "contact", "g-00001", ids["g-00001"])]  # by target key
    report = push(push_catalog, deletes)
    assert report.plan["crm.contacts"] == {"delete": 2} and report.states == {"acknowledged": 2}
    assert report.requests == 2  # one look-up + one composite delete for the batch
    assert store_counts(sandbox, "crm", "Contact", "g") == {"g-00002": 1, "g-00003": 1}
    # Salesforce semantics: gone from query and by-id reads, in queryAll with IsDeleted = true
    rows = {r["Id"]: r["IsDeleted"] for r in soql_all(sandbox, "SELECT Id, IsDeleted FROM Contact", True)}
    assert rows[ids["g-00000"]] is True and rows[ids["g-00001"]] is True
    live = {r["Id"] for r in soql_all(sandbox, "SELECT Id FROM Contact")}
    assert ids["g-00000"] not in live
    assert crm(sandbox, f"{API}/sobjects/Contact/{ids['g-00000']}").status_code == 404
    assert query(wh, "SELECT target_id FROM ops.push_ledger WHERE golden_id = 'g-00000' AND "
                     "operation = 'delete'") == [(ids["g-00000"],)]
    # the same push again: recorded once, nothing sent
    again = push(push_catalog, deletes)
    assert again.requests == 0 and again.plan["crm.contacts"] == {"unchanged": 2}
    # already deleted: acknowledged, by target key and by the id the ledger knows
    later = [_delete("crm", "contacts", "contact", "g-00000", ids["g-00000"], version="v2"),
             _delete("crm", "contacts", "contact", "g-00001", version="v2")]
    assert push(push_catalog, later).states == {"acknowledged": 2}
    assert _outcomes(wh, "g-00000")[-1] == "acknowledged_already_gone"
    assert _outcomes(wh, "g-00001")[-1] == "acknowledged_already_gone"
    # a create after the delete makes a new record (upserts skip the recycle bin)
    back = crm_contacts(1)
    back[0]["payload"]["FirstName"] = "Back"
    assert push(push_catalog, back).states == {"acknowledged": 1}
    assert store_counts(sandbox, "crm", "Contact", "g")["g-00000"] == 1
    created = query(wh, "SELECT target_id FROM ops.push_ledger WHERE golden_id = 'g-00000' AND "
                        "operation = 'create' ORDER BY seq")
    assert len(created) == 2 and created[1][0] != ids["g-00000"]
    audit = query(wh, "SELECT count(*) FROM ops.audit_log WHERE operation = 'delete'")[0][0]
    assert audit == 4 and not query(wh, "SELECT * FROM ops.dead_letters")


def test_marketing_delete_archives(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    assert push(push_catalog, hs_contacts(3)).states == {"acknowledged": 3}
    ids = _ids(wh, "h-")
    deletes = [_delete("marketing", "contacts", "contact", "h-00000"),
               _delete("marketing", "contacts", "contact", "h-00001", ids["h-00001"])]
    assert push(push_catalog, deletes).states == {"acknowledged": 2}
    assert store_counts(sandbox, "marketing", "contacts", "h") == {"h-00002": 1}
    for gid in ("h-00000", "h-00001"):  # HubSpot semantics: visible only with archived=true
        path = f"/crm/v3/objects/contacts/{ids[gid]}"
        assert hs(sandbox, path).status_code == 404
        archived = hs(sandbox, path, params={"archived": "true"})
        assert archived.status_code == 200 and archived.json()["archived"] is True
    archived_ids, params = set(), {"archived": "true", "limit": 100}
    while True:
        page = hs(sandbox, "/crm/v3/objects/contacts", params=params).json()
        archived_ids |= {r["id"] for r in page["results"]}
        if "paging" not in page:
            break
        params["after"] = page["paging"]["next"]["after"]
    assert {ids["h-00000"], ids["h-00001"]} <= archived_ids
    assert push(push_catalog, deletes).requests == 0
    later = [_delete("marketing", "contacts", "contact", "h-00000", ids["h-00000"], version="v2")]
    assert push(push_catalog, later).states == {"acknowledged": 1}
    assert store_counts(sandbox, "marketing", "contacts", "h") == {"h-00002": 1}


def test_payroll_delete_by_primary_key(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    creates = [{"target": "payroll", "table": "employees", "entity": "employee", "golden_id": f"e-{i}",
                "operation": "create", "payload": {"first_name": "Ada", "last_name": f"Del{i}",
                                                   "start_date": "2024-03-01"}} for i in range(3)]
    assert push(push_catalog, creates).states == {"acknowledged": 3}
    engine = sa.create_engine(sandbox.payroll_url)

    def count(where: str = "1 = 1") -> int:
        with engine.connect() as con:
            return con.execute(sa.text(f"SELECT count(*) FROM employees WHERE {where}")).scalar()

    before = count()
    deletes = [_delete("payroll", "employees", "employee", "e-0"),  # found by external id
               _delete("payroll", "employees", "employee", "legacy-1", "1")]  # a seeded row by id
    report = push(push_catalog, deletes)
    assert report.states == {"acknowledged": 2}
    assert count() == before - 2 and count("id = 1") == 0 and count("external_id = 'e-0'") == 0
    assert push(push_catalog, deletes).plan["payroll.employees"] == {"unchanged": 2}
    again = push(push_catalog, [_delete("payroll", "employees", "employee", "legacy-1", "1", version="v2"),
                                _delete("payroll", "employees", "employee", "e-0", version="v2")])
    assert again.states == {"acknowledged": 2} and count() == before - 2
    assert _outcomes(wh, "legacy-1") == ["acknowledged", "acknowledged_already_gone"]
    assert ledger_states(wh, "e-") == {"acknowledged": 5}
    engine.dispose()


def test_sql_connector_delete_results(sandbox, catalog) -> None:
    payroll = connector_for(catalog, "payroll")
    results = payroll.delete("employees", ["2", 2, "not-a-number"])
    assert [(r.ok, r.gone) for r in results[:2]] == [(True, False), (True, True)]
    assert not results[2].ok and results[2].error_class == "validation" and "id" in results[2].error


def test_shop_delete_removes_the_product(sandbox, push_catalog) -> None:
    products = shop(sandbox, "/admin/api/2024-07/products.json", params={"limit": 2}).json()["products"]
    pid = str(products[0]["id"])
    report = push(push_catalog, [_delete("shop", "products", "product", "p-1", pid)])
    assert report.states == {"acknowledged": 1}
    assert shop(sandbox, f"/admin/api/2024-07/products/{pid}.json").status_code == 404
    variant = products[0]["variants"][0]["id"]
    assert shop(sandbox, f"/admin/api/2024-07/variants/{variant}.json").status_code == 404
    again = push(push_catalog, [_delete("shop", "products", "product", "p-1", pid, version="v2")])
    assert again.states == {"acknowledged": 1}
    assert _outcomes(push_catalog.warehouse_path, "p-1") == ["acknowledged", "acknowledged_already_gone"]


def test_lost_delete_response_resolves_by_lookup(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    push(push_catalog, crm_contacts(3) + hs_contacts(3))
    ids = {**_ids(wh, "g-"), **_ids(wh, "h-")}
    sandbox.set_faults("crm", lose_response_rate=1.0)  # the delete commits, the answer is lost
    sandbox.set_faults("marketing", lose_response_rate=1.0)
    deletes = [_delete("crm", "contacts", "contact", g, ids[g]) for g in ("g-00000", "g-00001")] + \
              [_delete("marketing", "contacts", "contact", g, ids[g]) for g in ("h-00000", "h-00001")]
    push(push_catalog, deletes)  # look-ups are lost too: the deletes stay in doubt
    assert ledger_states(wh) == {"acknowledged": 6, "in_doubt": 4}
    sandbox.set_faults("crm")
    sandbox.set_faults("marketing")
    resume(push_catalog, ["crm", "marketing"], force=True)
    assert ledger_states(wh) == {"acknowledged": 10}
    assert store_counts(sandbox, "crm", "Contact", "g") == {"g-00002": 1}
    assert store_counts(sandbox, "marketing", "contacts", "h") == {"h-00002": 1}
    outcomes = dict(query(wh, "SELECT outcome, count(*) FROM ops.audit_log WHERE operation = 'delete' "
                              "GROUP BY 1"))
    assert outcomes["in_doubt"] >= 2 and outcomes["acknowledged_after_lookup"] == 4
    assert not query(wh, "SELECT * FROM ops.dead_letters")


def test_delete_without_key_or_external_id_is_a_dead_letter(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    report = push(push_catalog, [_delete("crm", "contacts", "contact", "nobody-1"),
                                 _delete("shop", "products", "product", "nobody-2")])
    assert report.states == {"rejected": 2}
    rows = dict(query(wh, "SELECT golden_id, error_class || ': ' || message FROM ops.dead_letters"))
    assert rows["nobody-1"].startswith("not_found: delete of nobody-1 in crm.contacts: no target key")
    assert "no record with External_Id__c = 'nobody-1'" in rows["nobody-1"]
    assert "shop.products has no external id field" in rows["nobody-2"]
    assert query(wh, "SELECT DISTINCT operation FROM ops.dead_letters") == [("delete",)]
