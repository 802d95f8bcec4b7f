"""Secrets stay out of the warehouse and run logs; workspace.yaml loads as `dagster dev` loads it."""

from __future__ import annotations

import os
import subprocess
import sys

from sync_platform.engines.catalog import load_catalog
from sync_platform_tests.conftest import REPO
from sync_platform_tests.defs.landing_helpers import land_through_dagster


def test_tokens_never_reach_warehouse_or_run_logs(sandbox, monkeypatch):
    tokens = [os.environ[name] for name in ("CRM_TOKEN", "MARKETING_TOKEN", "SHOP_TOKEN")]
    sandbox.set_faults("crm", error_burst=1)  # a retried error gets logged too
    result, _ = land_through_dagster(["crm", "marketing", "shop"])
    assert result.success
    stored = load_catalog().warehouse_path.read_bytes()
    logged = "\n".join(str(event) for event in result.all_events)
    for token in tokens:
        assert token.encode() not in stored
        assert token not in logged


def test_workspace_loads_every_landing_asset(data_dir, mappings_dir):
    env = {**os.environ, "DAGSTER_HOME": str(data_dir)}
    (data_dir / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    check = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation successful" in check.stdout + check.stderr
