"""Fixtures: small seeded sandboxes with real servers on ephemeral ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_platform.engines.sandbox import Sandbox

EPHEMERAL = {"crm": 0, "marketing": 0, "shop": 0}


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A seeded, running sandbox shared by read-mostly tests (faults reset after each use)."""
    sb = Sandbox(tmp_path_factory.mktemp("sandbox"), seed=7, size=600, crm_page_size=50)
    sb.seed()
    sb.start(ports=EPHEMERAL)
    yield sb
    sb.stop()


@pytest.fixture()
def fresh(tmp_path: Path):
    """A private small sandbox for tests that mutate data."""
    sb = Sandbox(tmp_path / "sb", seed=11, size=300, crm_page_size=20)
    sb.seed()
    sb.start(ports=EPHEMERAL)
    yield sb
    sb.stop()


@pytest.fixture()
def clean_faults(sandbox: Sandbox):
    yield sandbox
    for system in Sandbox.HTTP_SYSTEMS:
        sandbox.set_faults(system)
