"""Match review decisions: merge / split / not-a-match persist, survive rebuilds, teach weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import CatalogError
from sync_platform.engines.identity import MatchConfig, resolve, xref_clusters
from sync_platform.engines.identity.decisions import load_decisions, record_decision
from sync_platform.engines.identity.evaluate import group_members
from sync_platform.engines.identity.review import (
    accept_cluster,
    decide,
    pending_matches,
    split_record,
)
from sync_platform_tests.engines.identity.synthetic import chain_rows, people_rows, write_staged

CONTACT = load_entities()["contact"]


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows, _ = people_rows(seed=3, n_people=150)
    folder = tmp_path_factory.mktemp("decisions")
    path = folder / "warehouse.duckdb"
    write_staged(path, "contact", rows)
    resolve(path, CONTACT, mappings_dir=folder / "no-decisions")
    return path


@pytest.fixture
def world(resolved: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(a copy of the resolved warehouse, an empty mappings folder)."""
    path = tmp_path / "wh.duckdb"
    shutil.copyfile(resolved, path)
    return path, tmp_path / "mappings"


def _key(system: str, sid: str) -> str:
    return f"{system}|contacts|{sid}"


def _clusters(path: Path) -> dict[str, list[str]]:
    """golden id -> sorted record keys."""
    groups = group_members({f"{s}|contacts|{i}": g
                            for (s, i), g in xref_clusters(path, "contact").items()})
    return {g: sorted(m) for g, m in groups.items()}


def _cluster_of(path: Path, key: str) -> list[str]:
    return next(m for m in _clusters(path).values() if key in m)


def _a_cluster(path: Path, size: int) -> list[str]:
    return next(m for m in _clusters(path).values() if len(m) == size)


def test_merge_links_records_the_matcher_kept_apart(world: tuple[Path, Path]) -> None:
    path, mappings = world
    a, b = (_a_cluster(path, 1)[0], [m for m in _clusters(path).values() if len(m) == 1][1][0])
    decision = decide(path, "merge", records=(a, b), entity="contact", who="alice",
                      mappings_dir=mappings)
    assert decision.id == "MC-0001"
    result = resolve(path, CONTACT, mappings_dir=mappings)
    assert result.trained and result.mode == "full"  # a new decision retrains the weights
    assert _cluster_of(path, a) == sorted([a, b])
    con = duckdb.connect(str(path), read_only=True)
    try:
        evidence = con.execute("SELECT evidence FROM golden.contact_xref WHERE source_system "
                               "|| '|contacts|' || source_id = ?", [a]).fetchall()[0][0]
        stored = con.execute("SELECT DISTINCT trained_on_decisions FROM "
                             "golden.contact_match_weights").fetchall()
    finally:
        con.close()
    assert evidence.startswith("review: merge MC-0001")
    assert len(stored) == 1 and stored[0][0]
    # the next run without new decisions is incremental again and keeps the merge
    again = resolve(path, CONTACT, mappings_dir=mappings)
    assert again.mode == "incremental" and not again.trained
    assert _cluster_of(path, a) == sorted([a, b])


def test_not_a_match_splits_and_is_never_overridden(world: tuple[Path, Path]) -> None:
    path, mappings = world
    a, b = _a_cluster(path, 2)
    before = xref_clusters(path, "contact")
    decide(path, "not_a_match", records=(a, b), entity="contact", who="bob",
           mappings_dir=mappings)
    resolve(path, CONTACT, mappings_dir=mappings)
    assert a not in _cluster_of(path, b)
    for _ in range(2):  # incremental runs and full rebuilds honour it
        resolve(path, CONTACT, mappings_dir=mappings)
        assert a not in _cluster_of(path, b)
        resolve(path, CONTACT, mappings_dir=mappings, full_rebuild=True)
        assert a not in _cluster_of(path, b)
    after = xref_clusters(path, "contact")
    # the rest of the population keeps its golden ids
    untouched = {k: v for k, v in before.items() if f"{k[0]}|contacts|{k[1]}" not in (a, b)}
    assert {k: after[k] for k in untouched} == untouched
    con = duckdb.connect(str(path), read_only=True)
    try:
        log = con.execute("SELECT kind FROM golden.contact_id_log").fetchall()
    finally:
        con.close()
    assert ("split",) in log


def test_cannot_link_holds_through_a_chain(world: tuple[Path, Path]) -> None:
    """A and C kept apart although A-B and B-C both match: the weaker link breaks."""
    path, mappings = world
    con = duckdb.connect(str(path))
    try:  # a third record of someone: same email as the crm record, so it chains
        row = con.execute("SELECT * FROM staged.contact WHERE source_system = 'crm' AND email "
                          "IS NOT NULL ORDER BY source_id LIMIT 1").df()
        a_id = row["source_id"][0]
        row["source_id"], row["source_system"], row["row_hash"] = "X1", "marketing", "x1"
        con.register("extra", row)
        con.execute("INSERT INTO staged.contact SELECT * FROM extra")
    finally:
        con.close()
    resolve(path, CONTACT, mappings_dir=mappings)
    a, c = _key("crm", a_id), _key("marketing", "X1")
    assert c in _cluster_of(path, a)
    record_decision("contact", "not_a_match", a, [c], who="carol", mappings_dir=mappings)
    resolve(path, CONTACT, mappings_dir=mappings, full_rebuild=True)
    assert c not in _cluster_of(path, a)


def test_split_takes_one_record_out_and_survives_rebuild(world: tuple[Path, Path]) -> None:
    path, mappings = world
    members = _a_cluster(path, 2)
    gid_before = xref_clusters(path, "contact")[tuple(members[0].split("|")[::2])]
    decision = split_record(path, "contact", members[1], who="dan", mappings_dir=mappings)
    assert decision.action == "split" and decision.with_ == [members[0]]
    resolve(path, CONTACT, mappings_dir=mappings)
    resolve(path, CONTACT, mappings_dir=mappings, full_rebuild=True)
    assert _cluster_of(path, members[0]) == [members[0]]
    assert _cluster_of(path, members[1]) == [members[1]]
    # the record that stayed keeps the golden id
    assert xref_clusters(path, "contact")[tuple(members[0].split("|")[::2])] == gid_before
    saved = yaml.safe_load((mappings / "matches" / "contact.yaml").read_text())
    assert saved["decisions"][0]["action"] == "split"
    assert saved["decisions"][0]["with"] == [members[0]]


def test_review_queue_lists_uncertain_pairs_side_by_side(world: tuple[Path, Path]) -> None:
    path, mappings = world
    items = pending_matches(path, "contact", mappings_dir=mappings)
    assert items, "the synthetic population has uncertain pairs"
    first = items[0]
    assert first.record_a["last_name"] and first.record_b["last_name"]
    assert first.golden_a and first.golden_b and first.evidence
    assert 0.6 <= first.score < 0.95 or first.reason.startswith("cluster flagged")
    decide(path, "not_a_match", item_id=first.id, who="erin", mappings_dir=mappings)
    assert first.id not in {i.id for i in pending_matches(path, "contact", mappings_dir=mappings)}
    saved = load_decisions("contact", mappings)
    assert saved.decisions[0].score == pytest.approx(first.score)


def test_decisions_teach_the_weights(world: tuple[Path, Path]) -> None:
    """Reviewers confirming same-phone pairs as matches raise the phone agreement weight."""
    path, mappings = world
    con = duckdb.connect(str(path), read_only=True)
    try:
        before = con.execute("SELECT m FROM golden.contact_match_weights WHERE comparison = "
                             "'phone' AND level = 2").fetchall()[0][0]
        pairs = con.execute("""SELECT key_a, key_b FROM golden.contact_pairs
            WHERE evidence LIKE '%phone: exact%' ORDER BY key_a LIMIT 40""").fetchall()
    finally:
        con.close()
    for a, b in pairs:
        record_decision("contact", "merge", a, [b], who="fay", mappings_dir=mappings)
    assert resolve(path, CONTACT, mappings_dir=mappings).trained
    con = duckdb.connect(str(path), read_only=True)
    try:
        after = con.execute("SELECT m FROM golden.contact_match_weights WHERE comparison = "
                            "'phone' AND level = 2").fetchall()[0][0]
    finally:
        con.close()
    assert after > before


def test_broken_decision_file_names_the_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "matches"
    folder.mkdir()
    (folder / "contact.yaml").write_text("entity: contact\ndecisions:\n  - id: MC-1\n"
                                         "    action: glue\n    record: a\n    with: [b]\n"
                                         "    who: x\n    when: 2026-01-01T00:00:00Z\n")
    with pytest.raises(CatalogError) as err:
        load_decisions("contact", tmp_path)
    assert "contact.yaml" in str(err.value) and "decisions[0].action" in str(err.value)


def test_accepting_a_held_cluster_releases_it(tmp_path: Path) -> None:
    rows, _ = people_rows(seed=3, n_people=60)
    path = tmp_path / "chain.duckdb"
    write_staged(path, "contact", rows + chain_rows())
    config = MatchConfig(max_cluster_size=4)
    held = resolve(path, CONTACT, config=config, mappings_dir=tmp_path).flagged_clusters
    assert held
    decision = accept_cluster(path, "contact", held[0], who="gus", mappings_dir=tmp_path)
    assert decision.action == "merge" and len(decision.with_) >= 4
    again = resolve(path, CONTACT, config=config, mappings_dir=tmp_path)
    assert held[0] not in again.flagged_clusters
    members = [k for k, g in xref_clusters(path, "contact").items() if g == held[0]]
    assert len(members) == len(decision.with_) + 1  # kept whole, under the same golden id
