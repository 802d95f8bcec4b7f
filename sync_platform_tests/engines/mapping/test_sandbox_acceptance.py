"""Acceptance on the landed sandbox: every true correspondence is auto-applied or top-1, no
auto-applied rule is wrong; the store round-trips; automatic runs keep human decisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sync_platform.engines.canonical import SystemMapping, load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.mapping import (
    approve,
    correct,
    explain,
    export_document,
    load_mappings,
    pending,
    propose_mappings,
    read_system_mappings,
    reject,
)
from sync_platform.engines.warehouse import connect
from sync_platform_tests.conftest import handwritten_mappings

REPO = Path(__file__).resolve().parents[3]
TRUTH = yaml.safe_load((REPO / "sync_platform_tests/fixtures/sandbox_field_truth.yaml").read_text())


@pytest.fixture(scope="module")
def proposed(landed_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mapping")
    warehouse = root / "warehouse.duckdb"
    shutil.copyfile(landed_warehouse, warehouse)
    mappings = root / "mappings"
    handwritten_mappings(mappings)
    catalog = load_catalog(mappings, require_secrets=False)
    result = propose_mappings(warehouse, catalog, load_entities(mappings), mappings)
    return warehouse, mappings, catalog, result


def _truth(key: str) -> tuple[dict[str, list[str]], set]:
    spec = TRUTH[key]
    fields = {k: v if isinstance(v, list) else [v] for k, v in spec["fields"].items()}
    return fields, {(s["source"], tuple(s["targets"])) for s in spec.get("splits", [])}


def test_every_truth_is_auto_applied_or_top1_and_no_auto_rule_is_wrong(proposed):
    warehouse, _, _, mappings = proposed
    with connect(warehouse, read_only=True) as con:
        rows = con.sql("select mapping_id, source_fields, target_fields, rank "
                       "from meta.mapping_proposals").fetchall()
    auto = wrong = hits = 0
    misses = []
    checked = set()
    for m in mappings:
        key = f"{m.source_system}.{m.source_table}"
        if key not in TRUTH:
            continue
        checked.add(key)
        assert m.entity_type == TRUTH[key]["entity"]
        fields, splits = _truth(key)
        for rule in m.mapping_rules:
            if rule.status != "auto_applied":
                continue
            auto += 1
            right = (rule.kind == "1:1" and rule.sources[0] in fields.get(rule.targets[0], [])) or (
                (rule.sources[0], tuple(rule.targets)) in splits)
            wrong += not right
            assert right, f"wrong auto-applied rule {key}: {rule.sources} -> {rule.targets}"
        for target, sources in fields.items():
            applied = any(r.status == "auto_applied" and r.targets == [target]
                          and r.sources[0] in sources for r in m.mapping_rules)
            top = [r for r in rows if r[0] == m.id and r[2] == [target] and r[3] == 1]
            if applied or (top and top[0][1][0] in sources):
                hits += 1
            else:
                misses.append((key, target))
        for source, targets in splits:
            assert any(r.sources == [source] and tuple(r.targets) == targets
                       for r in m.mapping_rules), f"{key}: no split rule for {source}"
    assert checked == set(TRUTH)
    assert not misses, misses
    assert auto >= 90 and wrong == 0 and hits >= 100
    custom = [r for m in mappings for r in m.mapping_rules if "loyalty" in r.sources[0]]
    assert all(r.status != "auto_applied" for r in custom)


def test_store_round_trip_yaml_model_meta(proposed):
    warehouse, mappings_dir, _, mappings = proposed
    files = {m.id: m for m in load_mappings(mappings_dir)}
    assert set(files) == {m.id for m in mappings}
    assert (mappings_dir / "crm" / "customer.yaml").exists()
    assert (mappings_dir / "hr" / "employee.yaml").exists()
    with connect(warehouse, read_only=True) as con:
        mirrored = {m.id: m for m in read_system_mappings(con)}
    for mid, m in files.items():
        assert mirrored[mid].model_dump() == m.model_dump()
        assert SystemMapping.model_validate(m.model_dump(mode="json")) == m
    hr = files["hr.employees__employee"]
    rule = next(r for r in hr.mapping_rules if r.sources == ["hire_date"])
    assert rule.transform[0].kind == "date" and rule.transform[0].params["format"] == "%d/%m/%Y"
    csv = export_document(list(files.values()), "csv")
    assert csv.splitlines()[0] == ("Source System,Source Field,Target System,Target Field,"
                                   "Transformation notes")
    assert "hr,employees.full_name,canonical,\"employee.first_name, employee.last_name\"" in csv
    assert "| Source System |" in export_document(list(files.values()), "markdown")


def test_decisions_survive_automatic_runs_and_teach(proposed):
    warehouse, mappings_dir, catalog, _ = proposed
    queue = pending(mappings_dir, warehouse)
    assert queue and all(item["confidence"] < 0.95 for item in queue)
    item = next(i for i in queue if i["source_fields"] == ["title"])  # shop title -> name
    assert item["source_samples"]["title"]
    side = next(i for i in queue if i["target_samples"])  # values of the field elsewhere
    assert all(side["target_samples"].values())
    approve(mappings_dir, item["mapping_id"], "title", by="ana", warehouse=warehouse)
    reject(mappings_dir, "crm.accounts__customer", "website", by="ana")
    correct(mappings_dir, "accounting.customers__customer", "display_name", "name", by="bo")
    paused = load_mappings(mappings_dir)
    before = {m.id: m for m in paused}

    again = {m.id: m for m in propose_mappings(warehouse, catalog, None, mappings_dir)}
    shop = next(r for r in again["shop.products__product"].mapping_rules if r.sources == ["title"])
    assert shop.status == "approved" and shop.decided_by.startswith("ana")
    site = next(r for r in again["crm.accounts__customer"].mapping_rules
                if r.sources == ["website"])
    assert site.status == "rejected"
    acct = again["accounting.customers__customer"].mapping_rules
    fixed = next(r for r in acct if r.sources == ["display_name"])
    assert fixed.targets == ["name"] and fixed.status == "approved"
    assert not [r for r in acct if r.targets == ["name"] and r.sources != ["display_name"]
                and r.status in ("auto_applied", "approved")]
    def rules(m):
        return sorted(r.model_dump_json() for r in m.mapping_rules)

    assert rules(before["shop.products__product"]) == rules(again["shop.products__product"])
    decisions = yaml.safe_load((mappings_dir / "knowledge/decisions.yaml").read_text())
    assert [d["action"] for d in decisions["decisions"]] == ["approve", "reject", "correct"]
    assert decisions["decisions"][0]["context"]["preset"] == "shopify"
    learned = explain(mappings_dir)
    assert any(e["kind"] == "negative" and e["source"] == "website" for e in learned)
    assert any(e["kind"] == "synonym" and e["source"] == "display_name" and "bo" in e["because"]
               for e in learned)


def test_unchanged_inputs_keep_the_proposals(landed_warehouse: Path, tmp_path: Path):
    """A run whose inputs (profiles, relationships, catalog, entities, knowledge, mapping files,
    code) did not change keeps the stored proposals, and they equal what proposing again gives;
    any changed input proposes again."""
    from sync_platform.engines.mapping.inputs import last_mode

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(landed_warehouse, warehouse)
    mappings = tmp_path / "mappings"
    handwritten_mappings(mappings)
    catalog = load_catalog(mappings, require_secrets=False)
    from sync_platform.engines.profiling import profile_system

    for system in catalog.systems:  # stored profiles, as the profile assets leave them
        profile_system(warehouse, system)

    def run(**kw) -> dict[str, str]:
        found = propose_mappings(warehouse, catalog, None, mappings, **kw)
        return {m.id: sorted(r.model_dump_json() for r in m.mapping_rules) for m in found}

    def files() -> dict[str, bytes]:
        return {str(p.relative_to(mappings)): p.read_bytes() for p in mappings.rglob("*.yaml")}

    first = run()
    assert last_mode(warehouse) == "proposed" and len(first) >= 10
    before = files()
    assert run() == first and last_mode(warehouse) == "unchanged" and files() == before
    assert run(force=True) == first and last_mode(warehouse) == "proposed" and files() == before
    assert run() == first and last_mode(warehouse) == "unchanged"

    approve(mappings, "crm.accounts__customer", "payment_status__c", by="ana", warehouse=warehouse)
    decided = run()
    assert last_mode(warehouse) == "proposed" and decided != first  # a decision is an input
    assert run() == decided and last_mode(warehouse) == "unchanged"
    with connect(warehouse) as con:  # a new profile of one column is an input too
        con.execute("UPDATE meta.column_profiles SET distinct_count = distinct_count + 1 "
                    "WHERE system = 'crm' AND table_name = 'contacts' AND column_name = 'email'")
    run()
    assert last_mode(warehouse) == "proposed"
