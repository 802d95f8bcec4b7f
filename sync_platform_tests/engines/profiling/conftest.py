"""A landed sandbox warehouse profiled once for the profiling tests (a private copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SYSTEMS = ["crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop"]


@pytest.fixture(scope="session")
def profiled_warehouse(landed_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """(warehouse path, {(system, table, column): ColumnProfile}) after `profile_system` of
    every sandbox system and `discover_relationships`."""
    from sync_platform.engines.profiling import discover_relationships, profile_system

    target = tmp_path_factory.mktemp("profiled") / "warehouse.duckdb"
    shutil.copyfile(landed_warehouse, target)
    profiles = {}
    for system in SYSTEMS:
        profiles.update({p.key: p for p in profile_system(target, system)})
    relationships = discover_relationships(target)
    return target, profiles, relationships
