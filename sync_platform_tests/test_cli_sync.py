"""`sync-platform reconcile`, `push` from the reconciliation, and `dlq replay` from the current
golden record, as a user runs them after the resolve job."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import yaml
from click.testing import CliRunner
from dagster import DagsterInstance

from sync_platform.cli import main
from sync_platform.defs import build_definitions
from sync_platform.engines.catalog import load_catalog
from sync_platform_tests.defs.landing_helpers import query


def test_reconcile_dry_run_push_and_replay_from_golden(sandbox, mappings_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # whole target names in the tables
    # without the flow's create default, accounting refuses new customers (Active is required)
    systems = mappings_dir / "systems.yaml"
    config = yaml.safe_load(systems.read_text())
    for flow in config["flows"]:
        flow.pop("create_defaults", None)
    systems.write_text(yaml.safe_dump(config, sort_keys=False))
    catalog = load_catalog()
    assert build_definitions().resolve_job_def("resolve").execute_in_process(
        instance=DagsterInstance.ephemeral()).success
    runner = CliRunner()
    warehouse = catalog.warehouse_path

    reconciled = runner.invoke(main, ["reconcile"], catch_exceptions=False)
    assert reconciled.exit_code == 0, reconciled.output
    assert "employee__payroll" in reconciled.output and "published" in reconciled.output
    assert "inventory__shop" in reconciled.output  # listed as not reconciled, with the reason

    dry = runner.invoke(main, ["push", "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "push plan (dry run)" in dry.output
    ledger = query(warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
                              "AND table_name = 'push_ledger'")[0][0]
    if ledger:
        assert query(warehouse, "SELECT count(*) FROM ops.push_ledger")[0][0] == 0  # nothing written

    assert runner.invoke(main, ["push", "--target", "nope"]).exit_code != 0
    pushed = runner.invoke(main, ["push", "--target", "customer__accounting"], catch_exceptions=False)
    assert pushed.exit_code == 0, pushed.output
    assert "customer__accounting" in pushed.output and "yes" in pushed.output  # verified
    # accounting refuses customers without Active: dead letters, then fixed upstream
    dead = query(warehouse, "SELECT golden_id FROM ops.dead_letters WHERE target = 'accounting' "
                            "AND status = 'open'")
    assert dead, "expected accounting to refuse customers without Active"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE golden.customer SET is_active = true WHERE golden_id IN "
                    "(SELECT golden_id FROM ops.dead_letters WHERE target = 'accounting')")
    replayed = runner.invoke(main, ["dlq", "replay", "--all", "--target", "accounting"],
                             catch_exceptions=False)
    assert replayed.exit_code == 0, replayed.output
    assert f"replayed {len(dead)}" in replayed.output
    states = dict(query(warehouse, "SELECT state, count(*) FROM ops.push_ledger WHERE target = 'accounting' "
                                   "AND golden_id IN (SELECT golden_id FROM ops.dead_letters "
                                   "WHERE status = 'replayed') GROUP BY 1"))
    assert states.get("acknowledged") == len(dead), states
    again = runner.invoke(main, ["dlq", "replay", "--all", "--target", "accounting"], catch_exceptions=False)
    assert "replayed 0" in again.output  # a second replay is a no-op
    with sqlite3.connect(Path(sandbox.root) / "accounting.sqlite") as con:
        held = con.execute(f"SELECT sync_external_id, count(*) FROM customers WHERE sync_external_id IN "
                           f"({', '.join('?' * len(dead))}) GROUP BY 1", [g for (g,) in dead]).fetchall()
    assert len(held) == len(dead) and all(n == 1 for _, n in held)  # arrived once each
