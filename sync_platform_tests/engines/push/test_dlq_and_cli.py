"""Dead-letter replay (rebuilt from the current golden record; a second replay is a no-op), discard,
and the CLI commands."""

from __future__ import annotations

from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.push import discard, list_dead_letters, push, replay

from .helpers import crm_contacts, ledger_states, store_counts, store_record


def test_replay_picks_up_the_upstream_fix_and_is_idempotent(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    changes = crm_contacts(4)
    changes[1]["payload"]["Email"] = "broken@@example"
    changes[2]["payload"]["Title"] = "t" * 400
    push(push_catalog, changes)
    letters = list_dead_letters(wh)
    assert sorted(r["golden_id"] for r in letters) == ["g-00001", "g-00002"]
    golden = {"g-00001": {**changes[1]["payload"], "Email": "fixed@push.example"}}  # fixed upstream

    def rebuild(row):
        return golden.get(row["golden_id"])

    first = replay(push_catalog, rebuild, ids=[r["dlq_id"] for r in letters if r["golden_id"] == "g-00001"])
    assert first["replayed"] == 1 and first["report"].states == {"acknowledged": 1}
    assert store_record(sandbox, "crm", "Contact", "g-00001")["Email"] == "fixed@push.example"
    again = replay(push_catalog, rebuild, ids=[r["dlq_id"] for r in letters])
    assert again["replayed"] == 0 and again["gone"] == 1  # g-00002's golden record is gone
    assert replay(push_catalog, rebuild)["replayed"] == 0  # nothing open any more
    assert {r["status"] for r in list_dead_letters(wh, status=None)} == {"replayed", "discarded"}
    assert store_counts(sandbox, "crm", "Contact", "g") == {"g-00000": 1, "g-00001": 1, "g-00003": 1}


def test_replay_of_an_unchanged_payload_tries_again_and_can_be_discarded(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    changes = crm_contacts(2)
    changes[0]["payload"]["Email"] = "broken@@example"
    push(push_catalog, changes)
    result = replay(push_catalog, lambda row: changes[0]["payload"])
    assert result["replayed"] == 1 and result["report"].states == {"rejected": 1}
    [letter] = list_dead_letters(wh)  # failed again: a new dead letter, the old one replayed
    assert letter["attempts"] == 2
    assert discard(wh, [letter["dlq_id"]], reason="bad data, fixed by hand") == 1
    assert list_dead_letters(wh) == [] and ledger_states(wh) == {"acknowledged": 1, "rejected": 1}


def test_cli_dlq_and_push_approve(sandbox, reload) -> None:
    catalog = reload(push={"mass_change_min": 3})
    runner = CliRunner()
    changes = crm_contacts(5)
    changes[0]["payload"]["Email"] = "broken@@example"
    blocked = push(catalog, changes)
    approval = blocked.blocked[0]["approval_id"]
    result = runner.invoke(main, ["push-approve", approval])
    assert result.exit_code == 0 and "5 writes released" in result.output
    result = runner.invoke(main, ["push-resume", "--target", "crm"])
    assert result.exit_code == 0 and "'acknowledged': 4" in result.output
    [letter] = list_dead_letters(catalog.warehouse_path)
    result = runner.invoke(main, ["dlq", "list"])
    assert result.exit_code == 0 and letter["dlq_id"] in result.output and "1 dead letters" in result.output
    result = runner.invoke(main, ["dlq", "replay", letter["dlq_id"]])
    assert result.exit_code == 0 and "replayed 1" in result.output
    result = runner.invoke(main, ["dlq", "replay", letter["dlq_id"]])
    assert result.exit_code == 0 and "replayed 0" in result.output
    [again] = list_dead_letters(catalog.warehouse_path)
    result = runner.invoke(main, ["dlq", "discard", again["dlq_id"]])
    assert result.exit_code == 0 and "discarded 1" in result.output
    assert runner.invoke(main, ["push-approve", "nope"]).exit_code == 2
    # a second mass change, cancelled: its writes are never sent, and it cannot be approved now
    again = push(catalog, crm_contacts(5, prefix="c"))
    approval = again.blocked[0]["approval_id"]
    result = runner.invoke(main, ["push-cancel", approval])
    assert result.exit_code == 0 and "5 writes will not be sent" in result.output
    assert runner.invoke(main, ["push-resume", "--target", "crm"]).exit_code == 0
    assert ledger_states(catalog.warehouse_path).get("skipped") == 5
    assert runner.invoke(main, ["push-cancel", approval]).exit_code == 2


def test_cli_push_dry_run_then_push(sandbox, push_catalog, tmp_path) -> None:
    import json

    file = tmp_path / "changes.jsonl"
    file.write_text("\n".join(json.dumps(c) for c in crm_contacts(3)) + "\n{\"golden_id\": null}\n")
    runner = CliRunner()
    dry = runner.invoke(main, ["push", str(file), "--dry-run"])
    assert dry.exit_code == 0 and "crm.contacts" in dry.output and "dry run" in dry.output
    assert store_counts(sandbox, "crm", "Contact", "g") == {}
    done = runner.invoke(main, ["push", str(file)])
    assert done.exit_code == 0 and "'acknowledged': 3" in done.output and "1 invalid" in done.output
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 3
