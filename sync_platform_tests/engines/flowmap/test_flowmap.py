"""The flow map follows the configuration: every system, flow and system-of-record entry of the
repo's systems.yaml appears in every rendering, and a changed copy changes the map."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from sync_platform.cli_map import map_command
from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.flowmap import (
    build_map,
    humanize_cron,
    humanize_timing,
    map_description,
    to_markdown,
    to_mermaid,
    to_svg,
)
from sync_platform.engines.flowmap.mermaid import node_id, text
from sync_platform.engines.identity.keyed import golden_entity_names
from sync_platform.engines.reconcile.ownership import flow_targets

REPO = Path(__file__).parents[3]
MAPPINGS = REPO / "mappings"
SVG = "{http://www.w3.org/2000/svg}"


def _render(mappings_dir: Path) -> tuple[dict, str, str, str]:
    raw = yaml.safe_load((mappings_dir / "systems.yaml").read_text())
    flow_map = build_map(load_catalog(mappings_dir, require_secrets=False), mappings_dir)
    return raw, to_markdown(flow_map), to_mermaid(flow_map), to_svg(flow_map)


@pytest.fixture(scope="module")
def rendered() -> tuple[dict, str, str, str]:
    return _render(MAPPINGS)


def _edge(mermaid: str, flow: dict) -> str:
    """The Mermaid line of a flow (exactly one)."""
    pattern = rf"^\s*{node_id(flow['source'])} (<-->|-->)\|\"(.*)\"\| {node_id(flow['target'])}$"
    lines = [m for m in re.finditer(pattern, mermaid, re.M) if m.group(2).startswith(flow["entity"])]
    assert len(lines) == 1, (flow["name"], mermaid)
    return lines[0].group(0)


def _svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def _assert_covers(raw: dict, markdown: str, mermaid: str, svg: str) -> None:
    assert mermaid.startswith("flowchart LR\n")
    assert f"```mermaid\n{mermaid}```" in markdown
    for name, system in raw["systems"].items():
        assert f"| {name} | {system['kind']}" in markdown
        assert re.search(rf'^\s*{node_id(name)}\["<b>{name}</b><br/>{system["kind"]}', mermaid, re.M)
        assert name in _svg_texts(svg)
    for flow in raw["flows"]:
        arrow = "↔" if flow.get("direction") == "two_way" else "→"
        assert re.search(rf"^\| {flow['name']} \| {flow['source']} {arrow} {flow['target']} \| "
                         rf"{flow['entity']} \|", markdown, re.M)
        _edge(mermaid, flow)
    for data_type, system in raw["system_of_record"].items():
        assert f"| {data_type} | {system} |" in markdown
        node = next(line for line in mermaid.splitlines() if line.strip().startswith(f"{node_id(system)}["))
        assert data_type in node
        assert re.search(rf"^\s*class .*\b{node_id(system)}\b.* sor$", mermaid, re.M)


def test_every_system_flow_and_owner_of_the_config_is_on_the_map(rendered) -> None:
    _assert_covers(*rendered)


def test_two_way_flows_are_drawn_two_way(rendered) -> None:
    raw, markdown, mermaid, svg = rendered
    assert any(f.get("direction") == "two_way" for f in raw["flows"])
    groups = {g.get("id"): g for g in ET.fromstring(svg).iter(f"{SVG}g")}
    for flow in raw["flows"]:
        two_way = flow.get("direction") == "two_way"
        assert (" <-->|" in _edge(mermaid, flow)) == two_way
        path = groups[f"flow-{flow['name']}"].find(f"{SVG}path")
        assert ("marker-start" in path.attrib) == two_way
        assert re.search(rf"^\| {flow['name']} \|.*\| {'two_way' if two_way else 'one_way'} \|",
                         markdown, re.M)


def test_timing_is_in_words(rendered) -> None:
    raw, markdown, mermaid, _ = rendered
    for flow in raw["flows"]:
        timing = flow["timing"]
        manual = timing.get("manual") or {}
        words = humanize_timing(timing.get("cron"), timing.get("on_change", False),
                                manual.get("every_days"), manual.get("owner"))
        assert not words.startswith("cron "), timing  # every timing of the repo has words
        assert f"{flow['entity']} · {words}" in _edge(mermaid, flow)
        assert re.search(rf"^\| {flow['name']} \|.*\| {re.escape(words)} \|", markdown, re.M)
        if timing.get("cron"):
            assert timing["cron"] not in mermaid


@pytest.mark.parametrize(("cron", "words"), [
    ("*/5 * * * *", "every 5 minutes"), ("* * * * *", "every minute"), ("0 * * * *", "every hour"),
    ("15 * * * *", "every hour at :15"), ("0 */2 * * *", "every 2 hours at :00"),
    ("0 2 * * *", "nightly at 02:00"), ("30 9 * * *", "daily at 09:30"),
    ("0 8,20 * * *", "daily at 08:00 and 20:00"), ("30 8 * * 1-5", "weekdays at 08:30"),
    ("0 6 * * 1", "every Monday at 06:00"), ("0 3 1 * *", "monthly on day 1 at 03:00"),
    ("0 0 1 1 *", "cron 0 0 1 1 *"),
])
def test_humanize_cron(cron: str, words: str) -> None:
    assert humanize_cron(cron) == words


def test_other_timings_in_words() -> None:
    assert humanize_timing(None, True) == "on change"
    assert humanize_timing(None, False, 7, "finance team") == "manual, every 7 days (finance team)"
    assert humanize_timing(None, False, 1) == "manual, every day"


def test_target_tables_are_what_reconciliation_uses(rendered) -> None:
    catalog = load_catalog(MAPPINGS, require_secrets=False)
    flow_map = build_map(catalog, MAPPINGS)
    entities = load_entities(MAPPINGS)
    expected = flow_targets(catalog, entities, golden_entity_names(catalog, entities))
    assert ("inventory", "shop", "variants") in [(t.entity, t.system, t.table) for t in expected]
    assert [(t.entity, t.system, t.table) for t in flow_map.targets if t.reconciled] == \
        [(t.entity, t.system, t.table) for t in expected]
    _, markdown, _, _ = rendered
    for t in expected:
        assert f"| {t.name} | {t.table} |" in markdown
    for t in flow_map.targets:
        if not t.reconciled:
            assert t.reason and f"| {t.name} |" in markdown


def test_roles_tables_and_mapped_fields() -> None:
    catalog = load_catalog(MAPPINGS, require_secrets=False)
    flow_map = build_map(catalog, MAPPINGS)
    for system in flow_map.systems:
        sends = any(f.source == system.name or (f.two_way and f.target == system.name) for f in flow_map.flows)
        gets = any(f.target == system.name or (f.two_way and f.source == system.name) for f in flow_map.flows)
        assert system.role == {(True, True): "both", (True, False): "source", (False, True): "target"}[
            (sends, gets)]
        if system.declared_role in ("source", "target"):
            assert system.role == system.declared_role  # the repo's config is consistent
        assert [t.name for t in system.tables] == list(catalog.systems[system.name].tables)
        for table in system.tables:
            if table.entity_fields is not None:
                assert 0 < table.mapped_fields <= table.entity_fields


def test_svg_is_valid_and_readable(rendered) -> None:
    raw, _, _, svg = rendered
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and float(root.get("width")) > 400
    texts = _svg_texts(svg)
    for flow in raw["flows"]:
        assert any(t.startswith(f"{flow['entity']} · ") for t in texts)
    assert "legend" in texts
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_labels_cannot_break_out_of_mermaid() -> None:
    assert text('a"b|c<d>`e') == "a#34;b#124;c#60;d#62;#96;e"
    assert node_id("end") == "sys_end"


def test_map_description_is_the_flows_table() -> None:
    catalog = load_catalog(MAPPINGS, require_secrets=False)
    all_flows = map_description(catalog, MAPPINGS)
    for flow in catalog.flows:
        assert f"| {flow.name} |" in all_flows
    one = catalog.flows[0].source
    mine = map_description(catalog, MAPPINGS, system=one)
    assert all((f"| {f.name} |" in mine) == (one in (f.source, f.target)) for f in catalog.flows)


def _cli(args: list[str], mappings_dir: Path):
    group = click.Group("sync-platform", commands=[map_command])
    return CliRunner().invoke(group, ["map", *args], env={"SYNC_MAPPINGS_DIR": str(mappings_dir)})


def test_cli_writes_the_three_files(tmp_path: Path, rendered) -> None:
    raw, markdown, mermaid, svg = rendered
    result = _cli(["--out", str(tmp_path / "out")], MAPPINGS)
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / "flow_map.md").read_text()
    assert written == markdown.replace("```mermaid", "![Data flow map](flow_map.svg)\n\n```mermaid")
    assert (tmp_path / "out" / "flow_map.mmd").read_text() == mermaid
    ET.fromstring((tmp_path / "out" / "flow_map.svg").read_text())
    printed = _cli([], MAPPINGS)
    assert printed.exit_code == 0 and printed.output == markdown
    assert _cli(["--format", "mermaid"], MAPPINGS).output == mermaid
    assert _cli(["--format", "all"], MAPPINGS).exit_code != 0


def test_the_map_follows_the_configuration(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    raw = yaml.safe_load((folder / "systems.yaml").read_text())
    raw["systems"]["helpdesk"] = {
        "kind": "sql", "description": "Helpdesk tickets",
        "connection": {"url": "sqlite:///helpdesk.sqlite"},
        "tables": {"people": {"source": "people", "primary_key": "id", "data_type": "contact"}}}
    raw["flows"].append({"name": "crm_to_helpdesk_contacts", "source": "crm", "target": "helpdesk",
                         "entity": "contact", "propagate_deletes": True,
                         "timing": {"cron": "30 8 * * 1-5"}})
    raw["flows"].append({"name": "helpdesk_marketing_contacts", "source": "helpdesk",
                         "target": "marketing", "entity": "contact", "direction": "two_way",
                         "conflict_rules": {"default": "last_write_wins"}, "timing": {"on_change": True}})
    raw["system_of_record"]["support_tickets"] = "helpdesk"
    (folder / "systems.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    raw, markdown, mermaid, svg = _render(folder)
    _assert_covers(raw, markdown, mermaid, svg)
    assert "contact · weekdays at 08:30 · deletes" in _edge(mermaid, raw["flows"][-2])
    assert " <-->|" in _edge(mermaid, raw["flows"][-1])
    assert "| contact__helpdesk | people |" in markdown  # a new reconciled target table
    assert "| helpdesk | sql | both |" in markdown
    result = _cli(["--format", "svg"], folder)
    assert result.exit_code == 0 and "helpdesk" in _svg_texts(result.output)
