"""The `sync-platform` command as a user runs it."""

from __future__ import annotations

from click.testing import CliRunner

from sync_platform.cli import main


def test_demo_lands_every_system_then_exactly_the_changes(data_dir, mappings_dir):
    result = CliRunner().invoke(main, ["demo", "--size", "120"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1st landing" in result.output and "3rd landing" in result.output
    for system in ("crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop"):
        assert system in result.output
    assert (data_dir / "warehouse.duckdb").exists()


def test_validate_prints_the_systems(sandbox):
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "salesforce" not in result.output  # presets are config detail, kinds are shown
    assert "crm" in result.output and "rest" in result.output and "5 flows" in result.output
