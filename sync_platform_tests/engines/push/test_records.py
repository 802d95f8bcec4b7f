"""Bad records: isolated (bisection), dead-lettered with a clear reason; the rest delivered once."""

from __future__ import annotations

import logging

import pytest

from sync_platform.engines.push import PushAuthError, list_dead_letters, push, redact

from .helpers import (
    all_text,
    crm_contacts,
    hs_contacts,
    ledger_states,
    query,
    store_counts,
    store_record,
)

CANARY = "canary-7f3e9d1c5b"


def dead(warehouse) -> list[tuple]:
    return query(warehouse, "SELECT golden_id, error_class, http_status, message, attempts, payload_hash "
                            "FROM ops.dead_letters ORDER BY golden_id")


@pytest.mark.parametrize("target", ["crm", "marketing"])
def test_one_bad_record_in_a_batch(sandbox, push_catalog, target: str) -> None:
    changes = crm_contacts(10) if target == "crm" else hs_contacts(10, prefix="g")
    email = "Email" if target == "crm" else "email"
    changes[4]["payload"][email] = "not-an-email"
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 9, "rejected": 1}
    obj = "Contact" if target == "crm" else "contacts"
    counts = store_counts(sandbox, target, obj, "g")
    assert len(counts) == 9 and "g-00004" not in counts and set(counts.values()) == {1}
    [(gid, error_class, status, message, attempts, payload_hash)] = dead(push_catalog.warehouse_path)
    assert (gid, error_class, attempts) == ("g-00004", "validation", 1) and payload_hash
    assert "not-an-email" in message and ("INVALID_EMAIL" in message or "invalid" in message)
    assert status in (200, 207, 400)


def test_bisection_isolates_an_oversized_record(sandbox, push_catalog) -> None:
    sandbox.set_faults("marketing", max_body_bytes=20_000)
    changes = hs_contacts(10, prefix="g")
    changes[6]["payload"]["company"] = "x" * 50_000
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 9, "rejected": 1}
    assert dead(push_catalog.warehouse_path)[0][:3] == ("g-00006", "too_large", 413)
    # 1 failed batch, then halves: log2(10) rounds, not one request per record
    assert report.requests <= 8
    assert len(store_counts(sandbox, "marketing", "contacts", "g")) == 9


@pytest.mark.parametrize(("field", "value", "error_class", "code"), [
    ("Email", "ada@@example", "validation", "INVALID_EMAIL_ADDRESS"),
    ("Title", "t" * 300, "too_large", "STRING_TOO_LONG"),
    ("Title", 12345, "encoding", "JSON_PARSER_ERROR"),
    ("AccountId", "not-an-account-id", "validation", "INVALID_CROSS_REFERENCE_KEY"),
    ("Title", float("nan"), "encoding", "Out of range float"),
    ("Birthdate", "2024-02-30", "validation", "INVALID_FIELD"),
], ids=["bad_email", "too_long", "wrong_type", "bad_reference", "nan", "unknown_field"])
def test_malformed_values_are_dead_lettered(sandbox, push_catalog, field, value, error_class, code) -> None:
    changes = crm_contacts(6)
    changes[2]["payload"][field] = value
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 5, "rejected": 1}
    [row] = dead(push_catalog.warehouse_path)
    assert row[0] == "g-00002" and row[1] == error_class and code in row[3]
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 5


def test_404_on_update_is_a_dead_letter(sandbox, push_catalog) -> None:
    changes = crm_contacts(3)
    changes[1].update(operation="update", target_key="0035g00000ZZZZZZZZ")  # deleted in the target
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 2, "rejected": 1}
    [row] = dead(push_catalog.warehouse_path)
    assert row[:2] == ("g-00001", "not_found") and "NOT_FOUND" in row[3]
    assert "g-00001" not in store_counts(sandbox, "crm", "Contact", "g")  # never recreated


def test_duplicate_and_null_keys(sandbox, push_catalog) -> None:
    changes = crm_contacts(5)
    changes.append(dict(changes[0]))  # exact duplicate: one write
    newer = crm_contacts(2)[1]
    newer["payload"] = {**newer["payload"], "FirstName": "Newer"}
    changes.append(newer)  # same record, newer version: the older one is superseded
    changes.append({**crm_contacts(1)[0], "golden_id": None})
    changes.append({**crm_contacts(1)[0], "golden_id": "   "})
    report = push(push_catalog, changes)
    assert report.invalid == 2 and report.states == {"acknowledged": 5}  # the 5 distinct records
    assert store_counts(sandbox, "crm", "Contact", "g") == {f"g-{i:05d}": 1 for i in range(5)}
    assert store_record(sandbox, "crm", "Contact", "g-00001")["FirstName"] == "Newer"
    assert ledger_states(push_catalog.warehouse_path) == {"acknowledged": 5, "superseded": 1}
    invalid = query(push_catalog.warehouse_path, "SELECT error_class, message FROM ops.dead_letters")
    assert [r[0] for r in invalid] == ["invalid_change"] * 2
    assert any("golden_id" in r[1] for r in invalid)


def test_unicode_and_huge_values(sandbox, push_catalog) -> None:
    names = ["Zoë Ångström", "李小龍", "Ωμέγα", "محمد", "Ｆｕｌｌｗｉｄｔｈ", "e\u0301mile 🚀👩🏽‍💻"]
    changes = crm_contacts(len(names) + 1)
    for change, name in zip(changes, names, strict=False):
        change["payload"]["LastName"] = name
    changes[-1]["payload"]["LastName"] = "L" * 2_000_000  # 2 MB in one value
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": len(names), "rejected": 1}
    for i, name in enumerate(names):
        assert store_record(sandbox, "crm", "Contact", f"g-{i:05d}")["LastName"] == name
    [row] = dead(push_catalog.warehouse_path)
    assert row[1] == "too_large" and len(row[3]) <= 2000  # the target's message, bounded
    audit = query(push_catalog.warehouse_path, "SELECT max(length(after)) FROM ops.audit_log")[0][0]
    assert audit <= 20_000


def test_canary_secret_never_leaves(sandbox, push_catalog, monkeypatch, caplog) -> None:
    assert CANARY not in redact(f"Authorization: Bearer {CANARY}", secrets=[])
    assert CANARY not in redact(f"postgresql://u:{CANARY}@db/x token={CANARY}", secrets=[])
    monkeypatch.setenv("MARKETING_TOKEN", CANARY)
    caplog.set_level(logging.DEBUG)
    changes = hs_contacts(3)
    changes[0]["payload"]["jobtitle"] = f"echo Bearer {CANARY}"
    with pytest.raises(PushAuthError) as info:
        push(push_catalog, changes)
    text = str(info.value) + repr(info.value.args) + caplog.text + all_text(push_catalog.warehouse_path)
    assert CANARY not in text
    assert "refused the credentials" in str(info.value)
    [letter] = list_dead_letters(push_catalog.warehouse_path)  # a payload carrying a secret
    assert letter["golden_id"] == "h-00000" and "contains the value of a secret" in letter["message"]
