"""The match review loop from the command line: the shared queue, side by side, decide, list."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.identity import resolve, xref_clusters
from sync_platform.engines.identity.decisions import load_decisions
from sync_platform.engines.identity.review import pending_matches
from sync_platform_tests.engines.identity.synthetic import people_rows, write_staged


def test_review_decide_and_the_next_run_honours_it(data_dir: Path, mappings_dir: Path) -> None:
    warehouse = load_catalog(mappings_dir, require_secrets=False).warehouse_path
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    write_staged(warehouse, "contact", people_rows(seed=5, n_people=120)[0])
    contact = load_entities(mappings_dir)["contact"]
    resolve(warehouse, contact, mappings_dir=mappings_dir)
    runner = CliRunner()

    queue = runner.invoke(main, ["review"])
    assert queue.exit_code == 0, queue.output
    assert "match" in queue.output and "matches pending" in queue.output

    items = pending_matches(warehouse, "contact", mappings_dir)
    first = items[0]
    shown = runner.invoke(main, ["matches", "review", "--entity", "contact", "--limit", "1"])
    assert shown.exit_code == 0, shown.output
    assert first.id in shown.output and "evidence" in shown.output and "last_name" in shown.output

    merged = runner.invoke(main, ["matches", "merge", first.id, "--note", "same person"])
    assert merged.exit_code == 0, merged.output
    assert "recorded MC-0001" in merged.output
    decision = load_decisions("contact", mappings_dir).decisions[0]
    assert decision.action == "merge" and decision.note == "same person"

    resolve(warehouse, contact, mappings_dir=mappings_dir, full_rebuild=True)
    xref = {f"{s}|contacts|{i}": g for (s, i), g in xref_clusters(warehouse, "contact").items()}
    assert xref[first.key_a] == xref[first.key_b]
    assert first.id not in {i.id for i in pending_matches(warehouse, "contact", mappings_dir)}

    split = runner.invoke(main, ["matches", "split", "--entity", "contact", first.key_b])
    assert split.exit_code == 0, split.output
    resolve(warehouse, contact, mappings_dir=mappings_dir)
    xref = {f"{s}|contacts|{i}": g for (s, i), g in xref_clusters(warehouse, "contact").items()}
    assert xref[first.key_a] != xref[first.key_b]  # the later decision wins

    listed = runner.invoke(main, ["matches", "list"])
    assert listed.exit_code == 0 and "MC-0001" in listed.output and "MC-0002" in listed.output

    unknown = runner.invoke(main, ["matches", "not-a-match", "contact:0000000000"])
    assert unknown.exit_code == 2 and "no pair" in unknown.output
    bad_key = runner.invoke(main, ["matches", "merge", "--entity", "contact", "crm|x|1", "crm|x|2"])
    assert bad_key.exit_code == 2 and "no contact record 'crm|x|1'" in bad_key.output
