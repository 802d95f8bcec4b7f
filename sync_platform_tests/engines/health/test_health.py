"""Integration health from what the pipeline recorded: a healthy flow, a flow that breaks
(a source that stops landing, growing dead letters, a cycle that does not verify), a manual flow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml

from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.health import compute_health, record_manual_run, write_health
from sync_platform.engines.push.cycle import CYCLES_DDL
from sync_platform.engines.push.tables import DDL as OPS_DDL

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup(mappings_dir: Path, data_dir: Path):
    """The sandbox catalog plus a manual flow; a warehouse where every system landed at 11:58."""
    systems = mappings_dir / "systems.yaml"
    config = yaml.safe_load(systems.read_text())
    config["flows"].append({"name": "finance_year_end", "source": "accounting", "target": "crm",
                            "entity": "customer", "mode": "update_only", "timing": {"manual": {
                                "owner": "finance team", "every_days": 30,
                                "checklist": ["export balances", "import into crm"]}}})
    systems.write_text(yaml.safe_dump(config, sort_keys=False))
    catalog = load_catalog(require_secrets=False)
    with duckdb.connect(str(catalog.warehouse_path)) as con:
        for system in catalog.systems:
            con.execute(f"CREATE SCHEMA raw_{system}")
            con.execute(f"CREATE TABLE raw_{system}._dlt_loads (load_id VARCHAR, schema_name VARCHAR, "
                        "status BIGINT, inserted_at TIMESTAMPTZ)")
            con.execute(f"INSERT INTO raw_{system}._dlt_loads VALUES ('1', ?, 0, ?)",
                        [system, NOW - dt.timedelta(minutes=2)])
        con.execute(OPS_DDL + CYCLES_DDL)
    return catalog


def cycle(catalog, flows: str, minutes_ago: float, verified: bool = True, acknowledged: int = 10,
          rejected: int = 0) -> None:
    with duckdb.connect(str(catalog.warehouse_path)) as con:
        con.execute("INSERT INTO ops.sync_cycles (finished_at, target_table, flows, dry_run, "
                    "acknowledged, rejected, verified) VALUES (?, 't', ?, false, ?, ?, ?)",
                    [NOW - dt.timedelta(minutes=minutes_ago), flows, acknowledged, rejected, verified])


def by_name(rows) -> dict:
    return {(r.scope, r.name): r for r in rows}


def test_health_per_system_and_flow(setup) -> None:
    catalog = setup
    cycle(catalog, "hr_to_payroll_employees", 60)
    cycle(catalog, "warehouse_to_shop_inventory", 3)
    cycle(catalog, "crm_marketing_contacts", 1)
    rows = by_name(compute_health(catalog, now=NOW))
    assert {r.status for (scope, _), r in rows.items() if scope == "system"} == {"ok"}
    payroll = rows[("flow", "hr_to_payroll_employees")]
    assert (payroll.status, payroll.verified, payroll.expected_every_minutes) == ("ok", True, 1440)
    assert payroll.lag_minutes == 60 and payroll.pushed_last_cycle == 10
    assert rows[("flow", "crm_to_accounting_customers")].status == "never_run"
    manual = rows[("flow", "finance_year_end")]
    assert manual.status == "never_run" and "finance team" in manual.reason

    record_manual_run(catalog.warehouse_path, "finance_year_end", "ana")
    assert by_name(compute_health(catalog, now=dt.datetime.now(dt.UTC)))[
        ("flow", "finance_year_end")].status == "ok"
    late = by_name(compute_health(catalog, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31)))
    assert late[("flow", "finance_year_end")].status == "failing"  # overdue by its cadence

    write_health(catalog.warehouse_path, list(rows.values()))
    write_health(catalog.warehouse_path, list(rows.values()))
    with duckdb.connect(str(catalog.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.health").fetchall()[0][0] == len(rows)
        assert con.execute("SELECT count(*) FROM ops.health_history").fetchall()[0][0] == 2 * len(rows)


def test_a_broken_flow_shows_up(setup) -> None:
    catalog = setup
    cycle(catalog, "warehouse_to_shop_inventory", 40)  # every 5 minutes: overdue
    cycle(catalog, "hr_to_payroll_employees", 30, verified=False)
    cycle(catalog, "crm_marketing_contacts", 5, acknowledged=90, rejected=10)
    with duckdb.connect(str(catalog.warehouse_path)) as con:
        # the warehouse source went down 40 minutes ago; marketing collects dead letters
        con.execute("UPDATE raw_warehouse._dlt_loads SET inserted_at = ?", [NOW - dt.timedelta(minutes=40)])
        con.executemany("INSERT INTO ops.dead_letters (dlq_id, target, status) VALUES (?, 'marketing', 'open')",
                        [[f"d{i}"] for i in range(3)])
    rows = by_name(compute_health(catalog, now=NOW))
    shop = rows[("flow", "warehouse_to_shop_inventory")]
    assert shop.status == "failing" and "overdue" in shop.reason
    source = rows[("system", "warehouse")]
    assert source.status == "failing" and "no successful landing" in source.reason
    assert rows[("flow", "hr_to_payroll_employees")].status == "failing"  # did not verify
    contacts = rows[("flow", "crm_marketing_contacts")]
    assert contacts.status == "failing" and contacts.error_rate == 0.1 and contacts.dead_letters == 3
    assert rows[("system", "marketing")].status == "warning" and rows[("system", "marketing")].dead_letters == 3
