"""Fixtures of the push tests: the seeded sandbox with a fast push configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

FAST_PUSH = {"batch_size": 10, "max_attempts": 5, "backoff_base_s": 0.05, "backoff_max_s": 0.3,
             "park_after_s": 5, "mass_change_share": 0.25, "mass_change_min": 10_000,
             "lease_s": 60}


def configure(mappings_dir: Path, push: dict | None = None, rate_limits: dict | None = None,
              timeout_s: float = 5.0) -> None:
    """Rewrite the copied systems.yaml with test push settings and per-system budgets."""
    file = mappings_dir / "systems.yaml"
    data = yaml.safe_load(file.read_text())
    data["push"] = {**FAST_PUSH, **(push or {})}
    limits = {"crm": 500, "marketing": 500, "shop": 500, **(rate_limits or {})}
    for name, system in data["systems"].items():
        if name in limits:
            system["rate_limit"] = {"requests_per_second": limits[name], "burst": 5}
        if system["kind"] == "rest":
            system["connection"]["retry"]["timeout_s"] = timeout_s
    file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def push_catalog(sandbox, mappings_dir: Path):
    """The catalog of the running sandbox with the fast push settings."""
    from sync_platform.engines.catalog import load_catalog

    configure(mappings_dir)
    return load_catalog()


@pytest.fixture
def reload(sandbox, mappings_dir: Path):
    """Re-configure and reload the catalog inside a test."""
    from sync_platform.engines.catalog import load_catalog

    def _reload(**kwargs):
        configure(mappings_dir, **kwargs)
        return load_catalog()

    return _reload
