"""mutate(): exactly the touched records move past the previous high-water mark."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys

from sqlalchemy import create_engine, text

from sync_platform.engines.sandbox import Sandbox

from .helpers import API, crm, hs, shop, soql_all


def _crm_max(sb: Sandbox, obj: str) -> str:
    return soql_all(sb, f"SELECT Id, LastModifiedDate FROM {obj}", all_rows=True)[-1][
        "LastModifiedDate"]


def _hs_since(sb: Sandbox, obj: str, after: str) -> list[dict]:
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                           "operator": "GT", "value": after}]}], "limit": 200}
    return hs(sb, f"/crm/v3/objects/{obj}/search", "POST", json=body).json()["results"]


def test_mutate_sources(fresh: Sandbox) -> None:
    sb = fresh
    crm_max = {o: _crm_max(sb, o) for o in ("Account", "Contact")}
    hs_max = {}
    for obj in ("companies", "contacts"):
        conn = sqlite3.connect(sb.root / "marketing.sqlite")
        ms = conn.execute("SELECT max(modified_at) FROM records WHERE object=?",
                          (obj,)).fetchone()[0]
        hs_max[obj] = str(ms)
    acc = create_engine(sb.env()["ACCOUNTING_DATABASE_URL"])
    with acc.connect() as c:
        acc_max = c.execute(text('SELECT max("LastUpdatedTime") FROM customers')).scalar()
    wh = create_engine(sb.env()["WAREHOUSE_DATABASE_URL"])
    with wh.connect() as c:
        wh_max = c.execute(text("SELECT max(updated_at) FROM inventory_levels")).scalar()
    shop_before = shop(sb, "/admin/api/2024-07/products/count.json").json()["count"]
    exports_before = sorted(os.listdir(sb.env()["HR_EXPORT_DIR"]))
    truth_before = sum(1 for _ in sb.ground_truth_path().open())

    report = sb.mutate(edits=4, inserts=3, deletes=2, new_field="x_loyalty_tier")

    assert set(report.changed) == {"crm", "marketing", "accounting", "hr", "warehouse"}
    for obj in ("Account", "Contact"):
        touched = report.changed["crm"][obj]
        assert report.total("crm", obj) == 9 == len(touched)
        since = soql_all(sb, f"SELECT Id, IsDeleted, x_loyalty_tier__c FROM {obj} "
                             f"WHERE LastModifiedDate > {crm_max[obj]}", all_rows=True)
        assert sorted(r["Id"] for r in since) == sorted(touched)
        assert sum(r["IsDeleted"] for r in since) == 2
        live = soql_all(sb, f"SELECT Id FROM {obj} WHERE LastModifiedDate > {crm_max[obj]}")
        assert len(live) == 7
        assert all(r["x_loyalty_tier__c"] for r in since if not r["IsDeleted"])
        fields = [f["name"] for f in crm(sb, f"{API}/sobjects/{obj}/describe").json()["fields"]]
        assert "x_loyalty_tier__c" in fields
    for obj in ("companies", "contacts"):
        got = _hs_since(sb, obj, hs_max[obj])
        assert len(got) == 7  # search excludes the 2 archived
        assert set(r["id"] for r in got) < set(report.changed["marketing"][obj])
        assert all(r["properties"]["x_loyalty_tier"] for r in got)
        props = [p["name"] for p in hs(sb, f"/crm/v3/properties/{obj}").json()["results"]]
        assert "x_loyalty_tier" in props
    with acc.connect() as c:
        rows = c.execute(text('SELECT "Id", "Active", x_loyalty_tier FROM customers '
                              'WHERE "LastUpdatedTime" > :m'), {"m": acc_max}).all()
    assert sorted(str(r[0]) for r in rows) == sorted(report.changed["accounting"]["customers"])
    assert sum(1 for r in rows if r[1] == 0) == 2
    with wh.connect() as c:
        keys = c.execute(text("SELECT sku || ':' || location FROM inventory_levels "
                              "WHERE updated_at > :m"), {"m": wh_max}).scalars().all()
    assert sorted(keys) == sorted(report.changed["warehouse"]["inventory_levels"])
    exports = sorted(os.listdir(sb.env()["HR_EXPORT_DIR"]))
    assert len(exports) == len(exports_before) + 1 and exports[-1] not in exports_before
    folder = sb.env()["HR_EXPORT_DIR"]
    assert os.path.getmtime(os.path.join(folder, exports[-1])) > os.path.getmtime(
        os.path.join(folder, exports[-2]))
    with open(os.path.join(folder, exports[-1]), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["Employee ID"] for r in rows) == sorted(report.changed["hr"]["employees"])
    assert sum(r["Status"] == "Inactive" for r in rows) == 2
    assert "x_loyalty_tier" in rows[0]
    assert shop(sb, "/admin/api/2024-07/products/count.json").json()["count"] == shop_before
    truth_after = sum(1 for _ in sb.ground_truth_path().open())
    assert truth_after - truth_before == 3 * 2 + 3 * 2 + 3 + 3 + 3 * 2


def test_mutate_targets_offline_and_from_another_process(fresh: Sandbox) -> None:
    sb = fresh
    sb.stop()
    report = sb.mutate(systems=["shop", "payroll"], edits=2, inserts=1, deletes=1)
    assert report.total("shop", "products") == 4 and report.total("payroll", "employees") == 4
    sb.start(ports={"crm": 0, "marketing": 0, "shop": 0})
    archived = shop(sb, "/admin/api/2024-07/products.json",
                    params={"status": "archived", "limit": 250}).json()["products"]
    assert {str(p["id"]) for p in archived} >= set(report.changed["shop"]["products"][-1:])
    before = _crm_max(sb, "Contact")
    code = ("from sync_platform.engines.sandbox import Sandbox;"
            f"print(Sandbox({str(sb.root)!r}, seed=11, size=300).mutate(systems=['crm'], "
            "edits=1, inserts=0, deletes=0).total('crm', 'Contact'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"
    since = soql_all(sb, f"SELECT Id FROM Contact WHERE LastModifiedDate > {before}")
    assert len(since) == 1
