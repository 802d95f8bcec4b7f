"""The connector interface on every system kind: discover, read changes since a cursor, write."""

from __future__ import annotations

from sync_platform.engines.connectors import connector_for


def test_discover_lists_fields_of_every_system(catalog):
    found = {name: connector_for(catalog, name).discover() for name in catalog.systems}
    assert "AccountNumber" in {f.name for f in found["crm"]["accounts"]}
    assert "email" in {f.name for f in found["marketing"]["contacts"]}
    assert "PrimaryEmailAddr" in {f.name for f in found["accounting"]["customers"]}
    assert {"Full Name", "Hire Date", "Salary"} <= {f.name for f in found["hr"]["employees"]}
    assert "annual_salary_cents" in {f.name for f in found["payroll"]["employees"]}
    assert "on_hand" in {f.name for f in found["warehouse"]["inventory_levels"]}
    assert "variants" in {f.name for f in found["shop"]["products"]}


def test_read_changes_since_a_cursor(sandbox, catalog):
    crm = connector_for(catalog, "crm")
    everything = crm.read_changes("accounts")
    newest = max(r["LastModifiedDate"] for r in everything)
    assert len(everything) > 10
    report = sandbox.mutate(systems=["crm"], edits=2, inserts=1, deletes=0)
    changed = crm.read_changes("accounts", since=newest)
    assert {r["Id"] for r in changed} >= set(report.changed["crm"]["Account"])
    assert len(changed) <= len(report.changed["crm"]["Account"]) + 1  # the boundary record itself


def test_crm_upsert_reports_each_record_and_is_idempotent(catalog):
    crm = connector_for(catalog, "crm")
    records = [
        {"External_Id__c": "G-1", "FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"},
        {"External_Id__c": "G-2", "FirstName": "No", "Email": "no-last-name@example.com"},
        {"External_Id__c": "G-3", "FirstName": "Alan", "LastName": "Turing"},
    ]
    first = crm.write("contacts", records)
    assert [r.ok for r in first] == [True, False, True]
    assert first[0].created and first[1].error_class == "validation"
    assert "LastName" in first[1].error or "REQUIRED" in first[1].error
    again = crm.write("contacts", [records[0]])
    assert again[0].ok and not again[0].created and again[0].target_id == first[0].target_id


def test_marketing_batch_upsert_partial_failure(catalog):
    marketing = connector_for(catalog, "marketing")
    results = marketing.write("contacts", [
        {"sync_external_id": "G-10", "email": "grace@example.com", "firstname": "Grace"},
        {"sync_external_id": "G-11", "email": "not-an-email", "firstname": "Bad"},
    ])
    assert [r.ok for r in results] == [True, False]
    assert results[0].created and results[1].error_class == "validation"


def test_sql_target_upsert_by_external_id(catalog):
    payroll = connector_for(catalog, "payroll")
    row = {"external_id": "G-E1", "first_name": "Ann", "last_name": "Lee", "start_date": "2020-02-01",
           "is_active": 1, "annual_salary_cents": 8_500_000}
    created = payroll.write("employees", [row])[0]
    updated = payroll.write("employees", [{**row, "annual_salary_cents": 9_000_000}])[0]
    bad = payroll.write("employees", [{**row, "external_id": "G-E2", "nickname": "x"}])[0]
    assert created.ok and created.created
    assert updated.ok and not updated.created and updated.target_id == created.target_id
    assert not bad.ok and bad.error_class == "validation" and "nickname" in bad.error
    rows = [r for r in payroll.read_changes("employees") if r["external_id"] == "G-E1"]
    assert len(rows) == 1 and rows[0]["annual_salary_cents"] == 9_000_000


def test_shop_inventory_write_by_sku(catalog):
    shop = connector_for(catalog, "shop")
    product = shop.read_changes("products")[0]
    sku = product["variants"][0]["sku"]
    results = shop.write("products", [{"sku": sku, "inventory_quantity": 77}, {"sku": "NOPE", "inventory_quantity": 1}])
    assert results[0].ok and not results[1].ok and results[1].error_class == "not_found"
    fresh = [p for p in shop.read_changes("products") if p["id"] == product["id"]][0]
    assert fresh["variants"][0]["inventory_quantity"] == 77


def test_files_read_changes_reads_new_exports_only(sandbox, catalog):
    hr = connector_for(catalog, "hr")
    everything = hr.read_changes("employees")
    assert len(everything) > 10 and "Full Name" in everything[0]
    report = sandbox.mutate(systems=["hr"], edits=2, inserts=1, deletes=1)
    import os
    newest = max(os.path.getmtime(p) for p in (sandbox.root / "hr" / "exports").glob("*.csv"))
    from datetime import UTC, datetime

    since = datetime.fromtimestamp(newest - 0.5, tz=UTC)
    changed = hr.read_changes("employees", since=since)
    assert {str(r["Employee ID"]) for r in changed} == {str(i) for i in report.changed["hr"]["employees"]}
