"""Delivery basics: idempotent writes, audit with lineage, match before create, dry run, guard."""

from __future__ import annotations

import duckdb
from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.push import approve_push, decide_review, push, resume

from .helpers import crm_contacts, hs_contacts, ledger_states, query, store_counts, store_record


def test_push_is_idempotent_and_writes_golden_id_back(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    first = push(push_catalog, crm_contacts(25) + hs_contacts(25))
    assert first.states == {"acknowledged": 50}
    assert first.plan["crm.contacts"]["create"] == 25
    crm, hs = store_counts(sandbox, "crm", "Contact", "g"), store_counts(sandbox, "marketing", "contacts", "h")
    assert len(crm) == 25 and set(crm.values()) == {1}
    assert len(hs) == 25 and set(hs.values()) == {1}
    assert store_record(sandbox, "crm", "Contact", "g-00003")["External_Id__c"] == "g-00003"
    again = push(push_catalog, crm_contacts(25) + hs_contacts(25))
    assert again.requests == 0 and again.plan["crm.contacts"] == {"unchanged": 25}
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 25
    rows = query(wh, "SELECT outcome, after, lineage FROM ops.audit_log WHERE golden_id = 'g-00001'")
    assert len(rows) == 1 and rows[0][0] == "acknowledged"
    assert '"LastName":"Push1"' in rows[0][1] and '"rule":"system_of_record"' in rows[0][2]
    # a new version of one record is one more write, with a new idempotency key
    changed = crm_contacts(25)
    changed[0]["payload"]["FirstName"] = "Augusta"
    third = push(push_catalog, changed)
    assert third.plan["crm.contacts"] == {"unchanged": 24, "create": 1}
    assert store_record(sandbox, "crm", "Contact", "g-00000")["FirstName"] == "Augusta"
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 25


def _landed_copy(sandbox, warehouse) -> None:
    """A landed copy of crm contacts (raw_crm.contacts) as landing would write it."""
    import json
    import sqlite3

    with sqlite3.connect(sandbox.root / "crm.sqlite") as con:
        rows = [(r[0], json.loads(r[1]).get("Email"), r[2]) for r in
                con.execute("SELECT id, data, ext_key FROM records WHERE object='Contact'").fetchall()]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw_crm")
        con.execute("CREATE OR REPLACE TABLE raw_crm.contacts (id VARCHAR, email VARCHAR, "
                    "external_id__c VARCHAR)")
        con.executemany("INSERT INTO raw_crm.contacts VALUES (?, ?, ?)", rows)


def test_match_before_create_updates_existing_and_reviews_uncertain(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    _landed_copy(sandbox, wh)
    existing = query(wh, "SELECT id, email FROM raw_crm.contacts WHERE email IS NOT NULL AND "
                         "external_id__c IS NULL AND email IN (SELECT email FROM raw_crm.contacts "
                         "GROUP BY 1 HAVING count(*) = 1) ORDER BY id LIMIT 2")
    target_id, email = existing[0]
    with duckdb.connect(str(wh)) as con:  # two records sharing one email: ambiguous
        con.execute("INSERT INTO raw_crm.contacts VALUES ('003x1', 'twin@push.example', NULL), "
                    "('003x2', 'twin@push.example', NULL)")
    changes = crm_contacts(3)
    changes[0]["payload"]["Email"] = email.upper()  # same person, other spelling
    changes[1]["payload"]["Email"] = "twin@push.example"
    report = push(push_catalog, changes)
    assert report.plan["crm.contacts"] == {"update": 1, "review": 1, "create": 1}
    assert ledger_states(wh, "g-") == {"acknowledged": 2, "review": 1}
    # the existing record was updated and got the golden id as its external id: no duplicate
    assert query(wh, "SELECT target_id FROM ops.push_ledger WHERE golden_id = 'g-00000'")[0][0] == target_id
    assert store_record(sandbox, "crm", "Contact", "g-00000")["Email"] == email.upper()
    assert store_counts(sandbox, "crm", "Contact", "g") == {"g-00000": 1, "g-00002": 1}
    review = query(wh, "SELECT golden_id, reason, idempotency_key FROM ops.push_review")
    assert review[0][:2] == ("g-00001", "2 target records share email")
    listed = CliRunner().invoke(main, ["push-review"])
    assert listed.exit_code == 0 and review[0][2] in listed.output
    decide_review(push_catalog, review[0][2], "match", existing[1][0])  # a person picks the record
    assert resume(push_catalog, ["crm"]) == {"acknowledged": 3}
    assert store_record(sandbox, "crm", "Contact", "g-00001")["Email"] == "twin@push.example"
    assert query(wh, "SELECT target_id FROM ops.push_ledger WHERE golden_id = 'g-00001'")[0][0] == existing[1][0]
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 3


def test_dry_run_writes_nothing_and_guard_blocks_mass_change(sandbox, reload) -> None:
    catalog = reload(push={"mass_change_min": 5, "mass_change_share": 0.25})
    wh = catalog.warehouse_path
    dry = push(catalog, crm_contacts(8), dry_run=True)
    assert dry.plan == {"crm.contacts": {"create": 8}} and dry.blocked[0]["changes"] == 8
    assert store_counts(sandbox, "crm", "Contact", "g") == {}
    assert not wh.exists() or not query(wh, "SELECT count(*) FROM information_schema.tables "
                                            "WHERE table_schema = 'ops'")[0][0]
    blocked = push(catalog, crm_contacts(8))
    assert blocked.states == {"held": 8} and store_counts(sandbox, "crm", "Contact", "g") == {}
    approval = blocked.blocked[0]["approval_id"]
    assert query(wh, "SELECT status, changes FROM ops.push_approvals") == [("pending", 8)]
    assert approve_push(wh, approval) == 8
    done = push(catalog, crm_contacts(8))
    assert done.states == {"acknowledged": 8} and len(store_counts(sandbox, "crm", "Contact", "g")) == 8
    small = push(catalog, crm_contacts(3, prefix="s"))  # under the minimum: never blocked
    assert small.states == {"acknowledged": 3}


def test_inventory_to_a_target_without_external_ids(sandbox, push_catalog) -> None:
    """shop has no external id field: known records are updated by key, unknown ones reviewed."""
    import json
    import sqlite3

    with sqlite3.connect(sandbox.root / "shop.sqlite") as con:
        variants = [(r[0], json.loads(r[1])["sku"]) for r in con.execute(
            "SELECT id, data FROM records WHERE object = 'variant' ORDER BY rid LIMIT 3").fetchall()]
    changes = [{"target": "shop", "table": "products", "entity": "inventory", "golden_id": f"inv-{sku}",
                "operation": "update", "flow": "warehouse_to_shop_inventory", "target_key": vid,
                "payload": {"inventory_quantity": qty}}
               for (vid, sku), qty in zip(variants, (7, -5, 11), strict=True)]
    changes.append({"target": "shop", "table": "products", "entity": "inventory", "golden_id": "inv-new",
                    "operation": "create", "payload": {"inventory_quantity": 1}})
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 2, "rejected": 1, "review": 1}
    with sqlite3.connect(sandbox.root / "shop.sqlite") as con:
        qty = {r[0]: json.loads(r[1])["inventory_quantity"] for r in con.execute(
            "SELECT id, data FROM records WHERE object = 'variant'").fetchall()}
    assert qty[variants[0][0]] == 7 and qty[variants[2][0]] == 11
    [(status, message)] = query(push_catalog.warehouse_path, "SELECT http_status, message FROM ops.dead_letters")
    assert status == 422 and "greater than or equal to 0" in message
    assert query(push_catalog.warehouse_path, "SELECT DISTINCT priority FROM ops.push_ledger "
                 "WHERE flow IS NOT NULL") == [("high",)]  # the flow's priority class


def test_sql_target_matches_by_golden_xref(sandbox, push_catalog) -> None:
    """payroll holds legacy rows without external ids: a certain xref link updates the row and
    writes the golden id back; an uncertain one goes to review; no link creates."""
    import sqlalchemy as sa

    wh = push_catalog.warehouse_path
    with duckdb.connect(str(wh)) as con:
        con.execute("CREATE SCHEMA golden")
        con.execute("CREATE TABLE golden.employee_xref AS SELECT * FROM (VALUES "
                    "('payroll', 'employees', '1', 'e-1', 0.99), ('payroll', 'employees', '2', 'e-2', 0.7)) "
                    "t(source_system, source_table, source_id, golden_id, match_score)")
    changes = [{"target": "payroll", "table": "employees", "entity": "employee", "golden_id": f"e-{i}",
                "operation": "create", "payload": {"first_name": "Ada", "last_name": f"Lovelace{i}",
                                                   "department": "Engineering"}} for i in (1, 2, 3)]
    engine = sa.create_engine(sandbox.payroll_url)
    with engine.connect() as con:
        before = con.execute(sa.text("SELECT count(*) FROM employees")).scalar()
    report = push(push_catalog, changes)
    assert report.plan["payroll.employees"] == {"update": 1, "review": 1, "create": 1}
    assert report.states == {"acknowledged": 2, "review": 1}
    with engine.connect() as con:
        rows = dict(con.execute(sa.text("SELECT external_id, id FROM employees WHERE external_id "
                                        "LIKE 'e-%'")).fetchall())
        after = con.execute(sa.text("SELECT count(*) FROM employees")).scalar()
    engine.dispose()
    assert rows["e-1"] == 1 and "e-2" not in rows and after == before + 1
    assert query(wh, "SELECT reason FROM ops.push_review")[0][0] == "golden xref candidate with score 0.70"
