"""Keyed golden records (inventory: SKU at a location) and their rollup to a shop's grain (SKU),
on a real DuckDB warehouse with hand-made staged records."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import CatalogError, load_catalog
from sync_platform.engines.catalog.models import Rollup
from sync_platform.engines.identity.keyed import key_xref, keyed_entities
from sync_platform.engines.reconcile.ownership import target_plan
from sync_platform.engines.staging.tables import ensure_staged
from sync_platform.engines.survivorship import build_golden, load_rules
from sync_platform.engines.survivorship.gates import golden_gates
from sync_platform.engines.survivorship.rollup import build_rollup

REPO = Path(__file__).resolve().parents[3]
MAPPINGS = REPO / "mappings"
INVENTORY = load_entities(MAPPINGS)["inventory"]
CATALOG = load_catalog(MAPPINGS, require_secrets=False)
NOW = datetime(2026, 1, 1, 12, 0, 0)
BY_SKU = Rollup(by=["sku"], sum=["on_hand"])


def stage(path: Path, records: list[dict]) -> Path:
    rows = [{**{f: r.get(f) for f in INVENTORY.field_names}, "source_system": r["system"],
             "source_table": "inventory_levels" if r["system"] == "warehouse" else "variants",
             "source_id": r["id"], "row_hash": "h", "staged_at": NOW, "_enriched": []} for r in records]
    with duckdb.connect(str(path)) as con:
        ensure_staged(con, INVENTORY)
        con.register("rows_df", pd.DataFrame(rows))
        cols = ", ".join(f'"{c}"' for c in rows[0])
        con.execute(f"INSERT INTO staged.inventory ({cols}) SELECT {cols} FROM rows_df")
    return path


def build(path: Path, deleted: str | None = None) -> None:
    key_xref(path, INVENTORY, NOW)
    build_golden(path, INVENTORY, load_rules(MAPPINGS, INVENTORY, CATALOG.system_of_record),
                 CATALOG.system_of_record, NOW)
    if deleted:  # every source deleted the record
        with duckdb.connect(str(path)) as con:
            con.execute("UPDATE golden.inventory SET is_deleted = true WHERE golden_id = ?", [deleted])
    build_rollup(path, INVENTORY, BY_SKU, NOW)


def rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return stage(tmp_path / "w.duckdb", [
        {"system": "warehouse", "id": "SKU-1|WH-EAST", "sku": "SKU-1", "location": "WH-EAST", "on_hand": 5,
         "modified_at": datetime(2025, 1, 1)},
        {"system": "warehouse", "id": "SKU-1|WH-WEST", "sku": "SKU-1", "location": "WH-WEST", "on_hand": 7,
         "modified_at": datetime(2025, 1, 3)},
        {"system": "warehouse", "id": "SKU-2|WH-EAST", "sku": " sku-2 ", "location": "wh-east", "on_hand": 4,
         "modified_at": datetime(2025, 1, 2)},
        {"system": "warehouse", "id": "SKU-3|WH-EAST", "sku": "SKU-3", "location": "WH-EAST", "on_hand": 9,
         "modified_at": datetime(2025, 1, 2)},
        {"system": "warehouse", "id": "SKU-3|WH-WEST", "sku": "SKU-3", "location": "WH-WEST", "on_hand": 1,
         "modified_at": datetime(2025, 1, 2)},
        # the shop keeps one figure per SKU: no location, a stale count, a lower-case SKU
        {"system": "shop", "id": "40001", "sku": "SKU-1", "on_hand": 3},
        {"system": "shop", "id": "40002", "sku": "sku-2", "on_hand": 4},
    ])


def test_the_shop_gets_the_sum_over_live_locations(warehouse):
    build(warehouse, deleted="inventory:SKU-3|WH-EAST")
    # one golden record per (sku, location), trimmed and case-insensitive
    assert rows(warehouse, "SELECT count(*) FROM golden.inventory")[0][0] == 5
    stock = dict(rows(warehouse, "SELECT golden_id, on_hand FROM golden.inventory_by_sku"))
    # a deleted location no longer counts
    assert stock == {"inventory:SKU-1": 12, "inventory:SKU-2": 4, "inventory:SKU-3": 1}
    # the shop's variants are linked at their own grain; the warehouse's records as members
    linked = rows(warehouse, "SELECT source_system, source_id, golden_id FROM golden.inventory_by_sku_xref "
                             "ORDER BY 1, 2")
    assert ("shop", "40001", "inventory:SKU-1") in linked and ("shop", "40002", "inventory:SKU-2") in linked
    assert sum(1 for s, _, _ in linked if s == "warehouse") == 5
    lineage = rows(warehouse, "SELECT source_id, rule FROM golden.inventory_by_sku_lineage "
                              "WHERE golden_id = 'inventory:SKU-1' AND field = 'on_hand'")
    assert lineage == [("SKU-1|WH-EAST,SKU-1|WH-WEST", "sum of 2 records (rollup by sku)")]
    latest = rows(warehouse, "SELECT modified_at, location FROM golden.inventory_by_sku "
                             "WHERE golden_id = 'inventory:SKU-1'")
    assert latest == [(datetime(2025, 1, 3), None)]


def test_gates_count_only_records_with_the_whole_key(warehouse):
    assert keyed_entities(CATALOG, load_entities(MAPPINGS)) == ["inventory"]
    build(warehouse)
    gates = {g.name: g for g in golden_gates(warehouse, INVENTORY, max_cluster_size=20,
                                              reviewed_clusters=set(), keyed=True)}
    assert all(g.passed for g in gates.values()), gates
    assert "partly keyed" in gates["records_in_one_cluster"].description
    # the shop's two variants are in no golden record of the (sku, location) grain
    assert "5 live staged records" in gates["records_in_one_cluster"].description


def test_a_rollup_naming_an_unknown_field_is_a_clear_config_error(tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    systems = yaml.safe_load((folder / "systems.yaml").read_text())
    flow = next(i for i, f in enumerate(systems["flows"]) if f["name"] == "warehouse_to_shop_inventory")
    systems["flows"][flow]["rollup"] = {"by": ["sku"], "sum": ["quantity"]}
    (folder / "systems.yaml").write_text(yaml.safe_dump(systems, sort_keys=False))
    catalog = load_catalog(folder, require_secrets=False)
    with pytest.raises(CatalogError) as error:
        target_plan(catalog, folder)
    text = str(error.value)
    assert "systems.yaml" in text and f"flows[{flow}].rollup" in text and "'quantity'" in text
