"""A warehouse with a real review queue for the review UI tests, and the UI served for real.

`review_base` is built once per module: the landed sandbox warehouse (session fixture), mapping
proposals from the real proposal engine over it, and synthetic staged contacts resolved by the
real identity engine so uncertain matches wait too. Each test gets a private copy (`world`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sync_platform_tests.conftest import handwritten_mappings


@dataclass
class World:
    warehouse: Path
    mappings_dir: Path


@pytest.fixture(scope="module")
def review_base(landed_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.identity import resolve
    from sync_platform.engines.mapping import propose_mappings
    from sync_platform_tests.engines.identity.synthetic import people_rows, write_staged

    root = tmp_path_factory.mktemp("review_ui")
    warehouse = root / "warehouse.duckdb"
    shutil.copyfile(landed_warehouse, warehouse)
    mappings = handwritten_mappings(root / "mappings")
    propose_mappings(warehouse, load_catalog(mappings, require_secrets=False),
                     load_entities(mappings), mappings)
    write_staged(warehouse, "contact", people_rows(seed=5, n_people=120)[0])
    resolve(warehouse, load_entities(mappings)["contact"], mappings_dir=mappings)
    return World(warehouse, mappings)


@pytest.fixture
def world(review_base: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A private copy; the CLI in this test finds the same mappings folder and warehouse."""
    mappings = tmp_path / "mappings"
    shutil.copytree(review_base.mappings_dir, mappings)
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(review_base.warehouse, warehouse)
    monkeypatch.setenv("SYNC_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("SYNC_DATA_DIR", str(warehouse.parent))
    monkeypatch.setenv("SYNC_WAREHOUSE", str(warehouse))
    return World(warehouse, mappings)


@pytest.fixture
def serve_ui() -> Iterator[Callable]:
    """Start the real app on 127.0.0.1 (ephemeral port) with uvicorn in a thread; returns the
    running `BackgroundServer` (its `url`); every server stops at the end of the test."""
    from sync_platform.review_ui import BackgroundServer, ReviewSettings, create_app

    servers: list[BackgroundServer] = []

    def start(mappings_dir: Path, warehouse: Path, **settings) -> BackgroundServer:
        app = create_app(ReviewSettings(mappings_dir=mappings_dir, warehouse=warehouse,
                                        reviewer="test-reviewer", **settings))
        server = BackgroundServer(app, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has a form with its CSRF token"
    return found.group(1)
