"""The target's schema changes between two push runs.

A field the payloads use is removed (or renamed) in the target: the second run's writes that
still carry it are dead letters naming the field (validation, one attempt, never retried; the
ledger row is rejected and `dlq list` shows it), the other records are delivered, nothing is
duplicated; a replay whose rebuild leaves the field out delivers them exactly once. A field
added to the target between runs does not disturb the push.
"""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.push import list_dead_letters, push, replay
from sync_platform.engines.sandbox.mutations import add_field, drop_field, rename_field

from .test_hostile_input import TARGETS, changes_for, target_records

# target -> (object or table in the sandbox, the drifting field, what happens to it, its new name)
CASES = {
    "marketing": ("contacts", "x_loyalty_tier", "drop", None),
    "crm": ("Contact", "Loyalty_Tier__c", "rename", "Loyalty_Level__c"),
    "payroll": ("employees", "x_loyalty_tier", "drop", None),
}


def with_tier(changes: list[dict], field: str, tier: str) -> list[dict]:
    for change in changes:
        change["payload"][field] = tier
    return changes


@pytest.mark.parametrize("target", ["marketing", "crm", "payroll"])
def test_field_removed_between_runs(sandbox, push_catalog, target: str) -> None:
    wh = push_catalog.warehouse_path
    obj, field, how, new_name = CASES[target]
    text_field = TARGETS[target][2]
    assert add_field(sandbox, target, obj, field)
    ids = [f"s-{i}" for i in range(6)]
    first = push(push_catalog, with_tier(changes_for(target, ids), field, "Gold"))
    assert first.states == {"acknowledged": 6}

    # between runs: the field goes away (dropped, or renamed), and another one appears
    if how == "drop":
        assert drop_field(sandbox, target, obj, field)
    else:
        assert rename_field(sandbox, target, obj, field, new_name)
    assert add_field(sandbox, target, obj, "x_added" if target != "crm" else "Added__c")

    # second run: 3 updates still carry the field, 2 updates and 2 new records do not
    ids2 = [*ids[:5], "s-6", "s-7"]
    second = changes_for(target, ids2, [f"v2-{i}" for i in range(len(ids2))])
    with_tier(second[:3], field, "Platinum")
    report = push(push_catalog, second)
    assert report.states == {"acknowledged": 4, "rejected": 3}
    letters = list_dead_letters(wh)
    assert sorted(r["golden_id"] for r in letters) == ["s-0", "s-1", "s-2"]
    for letter in letters:
        assert letter["error_class"] == "validation" and letter["attempts"] == 1
        assert field in letter["message"], letter["message"]  # names the field
    listed = CliRunner().invoke(main, ["dlq", "list"])
    assert listed.exit_code == 0 and "3 dead letters" in listed.output
    assert all(r["dlq_id"] in listed.output for r in letters)

    held = target_records(sandbox, target)
    assert Counter({gid: len(held.get(gid, [])) for gid in ids2}) == Counter({gid: 1 for gid in ids2})
    assert [held[gid][0][text_field] for gid in ids2[3:]] == ["v2-3", "v2-4", "v2-5", "v2-6"]
    assert [held[gid][0][text_field] for gid in ids2[:3]] != ["v2-0", "v2-1", "v2-2"]  # not written

    # replay with a rebuild from the golden record that no longer renders the field
    golden = {c["golden_id"]: {k: v for k, v in c["payload"].items() if k != field} for c in second}
    result = replay(push_catalog, lambda row: golden[row["golden_id"]])
    assert result["replayed"] == 3 and result["report"].states == {"acknowledged": 3}
    assert replay(push_catalog, lambda row: golden[row["golden_id"]])["replayed"] == 0
    held = target_records(sandbox, target)
    assert {gid: [r[text_field] for r in held[gid]] for gid in ids2} == \
        {gid: [f"v2-{i}"] for i, gid in enumerate(ids2)}
    assert Counter({k: len(v) for k, v in held.items() if k.startswith("s-")}) == \
        Counter({f"s-{i}": 1 for i in range(8)})  # s-5 from the first run, untouched


def test_field_added_between_runs_does_not_disturb(sandbox, push_catalog) -> None:
    ids = [f"a-{i}" for i in range(4)]
    assert push(push_catalog, changes_for("crm", ids)).states == {"acknowledged": 4}
    report = sandbox.mutate(edits=0, inserts=0, deletes=0, new_field="x_loyalty_tier", systems=["crm"])
    assert "Contact.x_loyalty_tier__c" in report.new_fields["crm"]
    later = changes_for("crm", [*ids, "a-4"], [f"v2-{i}" for i in range(5)])
    with_tier(later[:1], "x_loyalty_tier__c", "Gold")  # one record already uses the new field
    assert push(push_catalog, later).states == {"acknowledged": 5}
    held = target_records(sandbox, "crm")
    assert {gid: len(held[gid]) for gid in [*ids, "a-4"]} == {gid: 1 for gid in [*ids, "a-4"]}
    assert held["a-0"][0]["x_loyalty_tier__c"] == "Gold" and held["a-4"][0]["Title"] == "v2-4"
    assert list_dead_letters(push_catalog.warehouse_path) == []
