"""systems.yaml: the shipped catalog is valid, and bad config fails naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.catalog import CatalogError, load_catalog

TOKENS = {"CRM_TOKEN": "t", "MARKETING_TOKEN": "t", "SHOP_TOKEN": "t"}


@pytest.fixture
def tokens(monkeypatch):
    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)


def _edit(mappings_dir: Path, change) -> Path:
    file = mappings_dir / "systems.yaml"
    data = yaml.safe_load(file.read_text())
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    return file


def test_shipped_catalog_is_valid(mappings_dir, data_dir, tokens):
    catalog = load_catalog()
    assert set(catalog.systems) == {"crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop"}
    assert catalog.system_of_record["customer_contact_details"] == "crm"
    assert catalog.warehouse_path == (data_dir / "warehouse.duckdb").resolve()
    assert str(data_dir) in catalog.systems["accounting"].connection.url
    two_way = [f for f in catalog.flows if f.direction == "two_way"]
    assert two_way and all(f.conflict_rules for f in two_way)


def test_environment_references_resolve(mappings_dir, data_dir, tokens, monkeypatch):
    monkeypatch.setenv("CRM_BASE_URL", "http://127.0.0.1:9999")
    assert load_catalog().systems["crm"].connection.base_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["systems"]["crm"].update(kind="ftp"), "systems.crm: unknown kind 'ftp'"),
        (lambda d: d["systems"]["hr"]["tables"]["employees"].update(primry_key="x"),
         "systems.hr.tables.employees.primry_key: unknown field"),
        (lambda d: d["flows"][0].update(target="nowhere"), "flows[0].target: unknown system 'nowhere'"),
        (lambda d: d["flows"][0].pop("conflict_rules"), "a two_way flow needs `conflict_rules`"),
        (lambda d: d["flows"][3]["timing"].update(cron="every night"), "flows[3].timing.cron"),
        (lambda d: d["systems"]["crm"]["connection"].update(base_url="ftp://x"), "systems.crm.connection.base_url"),
    ],
)
def test_invalid_config_names_file_and_field(mappings_dir, data_dir, tokens, change, expected):
    file = _edit(mappings_dir, change)
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    assert str(file) in str(caught.value)
    assert expected in str(caught.value)


def test_missing_secret_names_the_variable(mappings_dir, data_dir, tokens, monkeypatch):
    monkeypatch.delenv("MARKETING_TOKEN")
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    assert "systems.marketing.connection.auth.token_env: environment variable MARKETING_TOKEN is not set" in str(caught.value)


def test_malformed_yaml_names_line(mappings_dir, data_dir, tokens):
    (mappings_dir / "systems.yaml").write_text("version: 1\nsystems:\n  crm: [unclosed\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    assert "systems.yaml: line" in str(caught.value) and "malformed YAML" in str(caught.value)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda folder: (folder / "systems.yaml").write_text("systems: {crm: {kind: [}\n"),
        lambda folder: _edit(folder, lambda d: d["systems"]["crm"].update(kind="ftp")),
        lambda folder: _edit(folder, lambda d: d["systems"]["crm"].update(colour="red")),
        "unset-secret",
    ],
)
def test_cli_rejects_bad_config_and_writes_nothing(mappings_dir, data_dir, tokens, monkeypatch, breakage):
    if breakage == "unset-secret":
        monkeypatch.delenv("CRM_TOKEN")
    else:
        breakage(mappings_dir)
    before = sorted(p.name for p in data_dir.rglob("*"))
    result = CliRunner().invoke(main, ["land"])
    assert result.exit_code != 0
    assert "systems.yaml" in result.output
    assert sorted(p.name for p in data_dir.rglob("*")) == before  # no warehouse, no state, nothing
