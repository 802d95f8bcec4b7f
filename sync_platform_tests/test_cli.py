"""The `sync-platform` command as a user runs it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sync_platform.cli import main


def assert_demo_outcome(output: str, data_dir) -> None:
    """What every run of `sync-platform demo` must show, whatever the instance storage."""
    import duckdb

    assert "1st landing" in output and "3rd landing" in output
    assert "reconciliation and push-out" in output  # the loop closes in the demo
    assert "employee__payroll" in output and (data_dir / "published" / "warehouse.duckdb").exists()
    for system in ("crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop"):
        assert system in output
    status = CliRunner().invoke(main, ["status"], catch_exceptions=False)
    assert status.exit_code == 0 and "hr_to_payroll_employees" in status.output, status.output
    assert "0 failing" in status.output, status.output
    # following the edits settles: the last push of every target creates nothing (a record the
    # push created comes back linked to its origin, not as a new golden record to copy back)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        last = con.execute("SELECT target_table, arg_max(creates, finished_at), count(*) "
                           "FROM ops.sync_cycles GROUP BY 1 ORDER BY 1").fetchall()
    assert len(last) == 6 and all(creates == 0 for _, creates, _ in last), last
    assert all(cycles >= 2 for _, _, cycles in last), last  # the edits were followed


def test_demo_lands_every_system_then_exactly_the_changes(data_dir, mappings_dir, monkeypatch):
    """The demo on the embedded default (local instance storage). Where PostgreSQL is reachable
    the suite runs the demo once, on PostgreSQL instance storage (test_production_setup), with
    the same assertions: the demo is the slowest test, so it is not run twice."""
    from sync_platform_tests.conftest import postgres_url

    if postgres_url() is not None:
        pytest.skip("the demo runs on PostgreSQL instance storage in test_production_setup.py")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(main, ["demo", "--size", "120"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert_demo_outcome(result.output, data_dir)


def test_validate_prints_the_systems(sandbox):
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "salesforce" not in result.output  # presets are config detail, kinds are shown
    assert "crm" in result.output and "rest" in result.output and "5 flows" in result.output


def test_sandbox_daemon_start_fault_mutate_land_stop(data_dir, mappings_dir):
    """The sandbox as a user drives it: a background process other commands talk to."""
    from sync_platform.engines.sandbox.env_file import read_sandbox_env

    runner = CliRunner()
    started = runner.invoke(main, ["sandbox", "start", "--size", "100", "--base-port", "0"])
    assert started.exit_code == 0, started.output
    try:
        env = read_sandbox_env()
        assert env["CRM_BASE_URL"].startswith("http://127.0.0.1:")
        assert runner.invoke(main, ["sandbox", "start"]).exit_code != 0  # already running
        assert runner.invoke(main, ["sandbox", "faults", "crm", "--error-burst", "2"]).exit_code == 0
        first = runner.invoke(main, ["land", "crm"])  # reads the running sandbox from sandbox.env
        assert first.exit_code == 0, first.output
        mutated = runner.invoke(main, ["sandbox", "mutate", "--system", "crm", "--edits", "2",
                                       "--inserts", "1", "--deletes", "0"])
        assert "Account 3 changed" in mutated.output, mutated.output
        second = runner.invoke(main, ["land", "crm"])
        assert second.exit_code == 0 and "accounts" in second.output
        status = runner.invoke(main, ["sandbox", "status"])
        assert "'503': 2" in status.output.replace('"', "'"), status.output
    finally:
        stopped = runner.invoke(main, ["sandbox", "stop"])
    assert "stopped" in stopped.output
    assert read_sandbox_env() == {}
