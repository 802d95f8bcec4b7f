"""Landing through real Dagster runs against the running sandbox: full, incremental, drift."""

from __future__ import annotations

from sync_platform.engines.catalog import load_catalog
from sync_platform_tests.defs.landing_helpers import count, land_through_dagster, query, rows_landed

SYSTEMS = ("crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop")


def test_definitions_group_landing_assets_per_system_in_the_writer_pool(mappings_dir, data_dir, monkeypatch):
    from sync_platform.defs import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    materializable = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    landing = [k for k in materializable if k.path[0].startswith("raw_")]
    assert {k.path[0] for k in landing} == {f"raw_{s}" for s in SYSTEMS}
    for key in landing:
        assert graph.get(key).group_name == key.path[0].removeprefix("raw_")
    for key in materializable:  # every warehouse writer, landing or not
        assert graph.get(key).pools == {"duckdb_writer"}, key
    assert {"raw_crm/accounts", "raw_crm/contacts", "raw_marketing/contacts_archived",
            "raw_hr/employees", "raw_shop/products"} <= {k.to_user_string() for k in landing}


def test_land_everything_then_nothing_then_exactly_the_changes(sandbox, catalog):
    warehouse = load_catalog().warehouse_path
    seeded = sandbox.seeded

    result, landed = land_through_dagster()
    assert result.success
    first = rows_landed(landed)
    for system in SYSTEMS:
        for table, spec in catalog.systems[system].tables.items():
            in_source = seeded[system][spec.source.split("_*")[0]]
            archived = first.get((system, f"{table}_archived"), 0)  # hubspot tombstones
            assert first[(system, table)] + archived == in_source, (system, table)
            assert count(warehouse, system, table) == landed[(system, table)]["dagster/row_count"]
    assert landed[("crm", "accounts")]["preview"]
    # shopify variants land as a child table of products
    assert count(warehouse, "shop", "products__variants") == seeded["shop"]["variants"]

    _, again = land_through_dagster()
    assert set(rows_landed(again).values()) == {0}, rows_landed(again)

    report = sandbox.mutate(edits=4, inserts=3, deletes=2, new_field="x_loyalty_tier")
    _, third = land_through_dagster()
    landed_now = rows_landed(third)
    expected = {
        ("crm", "accounts"): len(report.changed["crm"]["Account"]),
        ("crm", "contacts"): len(report.changed["crm"]["Contact"]),
        ("accounting", "customers"): len(report.changed["accounting"]["customers"]),
        ("warehouse", "inventory_levels"): len(report.changed["warehouse"]["inventory_levels"]),
        ("hr", "employees"): len(report.changed["hr"]["employees"]),
    }
    for key, changed in expected.items():
        assert changed > 0
        assert landed_now[key] == changed, (key, landed_now[key], changed)
    marketing_changed = report.changed["marketing"]["contacts"]
    assert landed_now[("marketing", "contacts")] + landed_now[("marketing", "contacts_archived")] == len(marketing_changed)
    # untouched targets land nothing
    assert landed_now[("payroll", "employees")] == 0 and landed_now[("shop", "products")] == 0

    changes = query(warehouse, "SELECT system, table_name, column_name, change FROM meta.schema_changes "
                               "WHERE change = 'added_column'")
    added = {(s, t, c) for s, t, c, _ in changes}
    assert ("crm", "accounts", "x_loyalty_tier__c") in added
    assert ("accounting", "customers", "x_loyalty_tier") in added
    assert third[("crm", "accounts")]["schema_changes"] >= 1
    # merge on primary key: still one row per source record
    dupes = query(warehouse, "SELECT count(*) - count(DISTINCT id) FROM raw_crm.accounts")[0][0]
    assert dupes == 0
