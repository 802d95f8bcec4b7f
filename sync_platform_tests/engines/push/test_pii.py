"""Canary personal data: sent to the target, never in logs, ops tables, messages or exceptions.

Marketing contacts get two custom properties, `national_id` (text) and `salary` (number), both
marked sensitive on the changes. Some records are accepted, one is rejected by the target with a
message echoing the value, one is parked (target down) and superseded by a newer version, one
is in doubt (response lost) and resolved by look-up; then the dead letter is replayed (refused
from the scrubbed ledger payload, accepted from a rebuild). Every ops table, the captured logs
and output, and every exception text are scanned for the canary.
"""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.push import list_dead_letters, push, replay, resume
from sync_platform.engines.push.dlq import ledger_payload
from sync_platform.engines.push.redact import MaskedPayload, pii_mask, redact
from sync_platform.engines.sandbox.mutations import add_field

from .helpers import all_text, hs_contacts, ledger_states, query, store_counts, store_record

CANARY = "CANARY-PII-4417"
SENSITIVE = ["national_id", "salary"]


def pii_changes(n: int, start: int = 0) -> list[dict]:
    changes = hs_contacts(start + n, prefix="p")[start:]
    for i, change in enumerate(changes, start):
        change["payload"].update(national_id=f"{CANARY}-{i}", salary=50_000 + i)
        change["sensitive"] = SENSITIVE
        change["before"] = {"national_id": f"{CANARY}-old-{i}", "lastname": "Before"}
        change["lineage"] = {"national_id": {"source": "hr", "rule": "system_of_record",
                                             "value": f"{CANARY}-{i}"}}
    return changes


def leaks(text: str) -> list[str]:
    """Each place the canary appears in `text`, with some context."""
    found, at = [], text.find(CANARY)
    while at >= 0:
        found.append(text[max(0, at - 150): at + 40])
        at = text.find(CANARY, at + 1)
    return found


def test_redact_masks_echoed_values() -> None:
    value = f"{CANARY}-with-a-long-tail-0123456789"
    mask = pii_mask(value)
    assert mask.startswith("***pii:") and len(mask) == len("***pii:") + 8 and pii_mask(mask) == mask
    for echo in (f"bad value {value}", f"bad value {value!r}", json.dumps({"v": value}),
                 f"data value too large: {value[:20]}... (max length=255)"):
        out = redact(echo, secrets=[], pii=[value])
        assert CANARY not in out and mask in out


def test_canary_pii_never_leaves_the_target(sandbox, push_catalog, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    wh = push_catalog.warehouse_path
    add_field(sandbox, "marketing", "contacts", "national_id")
    add_field(sandbox, "marketing", "contacts", "salary", "number")
    errors: list[str] = []

    # 1. accepted records, and one the target rejects with a message echoing the value
    changes = pii_changes(5)
    changes[4]["payload"]["salary"] = f"{CANARY}-salary"  # not a number: echoed back
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 4, "rejected": 1}
    [letter] = list_dead_letters(wh)
    assert letter["golden_id"] == "p-00004" and letter["error_class"] == "validation"
    assert "is not a number" in letter["message"] and "***pii:" in letter["message"]

    # 2. target down: parked; a newer version of the same record supersedes the parked one
    sandbox.set_faults("marketing", down=True)
    parked = pii_changes(1, start=5)
    push(push_catalog, parked)
    newer = pii_changes(1, start=5)
    newer[0]["payload"]["firstname"] = "Newer"
    assert push(push_catalog, newer).states in ({"parked": 1}, {"intent": 1})  # open, not sent
    assert ledger_states(wh, "p-00005")["superseded"] == 1
    in_flight = query(wh, "SELECT payload FROM ops.push_ledger WHERE state IN ('parked', 'intent')")
    assert f"{CANARY}-5" in in_flight[0][0]  # open write: the ledger keeps what resume must send

    # 3. response lost after the write: in doubt, resolved by look-up after the fault clears
    sandbox.set_faults("marketing", lose_response_rate=1.0)
    push(push_catalog, pii_changes(1, start=6))
    assert ledger_states(wh, "p-00006") == {"in_doubt": 1}
    sandbox.set_faults("marketing")
    assert resume(push_catalog, ["marketing"], force=True) == {"acknowledged": 6, "rejected": 1,
                                                               "superseded": 1}
    outcomes = {r[0] for r in query(wh, "SELECT outcome FROM ops.audit_log")}
    assert {"in_doubt", "acknowledged_after_lookup", "parked"} <= outcomes

    # 4. replay: the scrubbed ledger payload is refused with a clear error, a rebuild is sent
    with pytest.raises(MaskedPayload, match=r"masked personal data in \['national_id', 'salary'\]") as info:
        replay(push_catalog, ledger_payload(wh))
    errors.append(str(info.value) + repr(info.value.args))
    cli = CliRunner().invoke(main, ["dlq", "replay", "--all"])
    assert cli.exit_code != 0 and "masked personal data" in cli.output  # a clear error, no traceback
    errors += [cli.output, str(cli.exception)]
    assert [r["dlq_id"] for r in list_dead_letters(wh)] == [letter["dlq_id"]]  # still open
    golden = {c["golden_id"]: {**c["payload"], "salary": 50_004} for c in changes}
    result = replay(push_catalog, lambda row: golden[row["golden_id"]])
    assert result["report"].states == {"acknowledged": 1}

    # nothing lost, nothing duplicated; the target holds the values
    counts = store_counts(sandbox, "marketing", "contacts", "p")
    assert counts == {f"p-{i:05d}": 1 for i in range(7)}
    for i in range(7):
        record = store_record(sandbox, "marketing", "contacts", f"p-{i:05d}")
        assert record["national_id"] == f"{CANARY}-{i}" and float(record["salary"]) == 50_000 + i
    assert store_record(sandbox, "marketing", "contacts", "p-00005")["firstname"] == "Newer"

    # the canary appears nowhere else; the audit shows *that* values changed, as masks
    captured = capsys.readouterr()
    text = all_text(wh) + caplog.text + captured.out + captured.err + "\n".join(errors)
    assert leaks(text) == []
    afters = [json.loads(r[0]) for r in query(wh, "SELECT after FROM ops.audit_log WHERE golden_id = "
                                                  "'p-00000' AND outcome = 'acknowledged'")]
    assert afters[0]["national_id"] == pii_mask(f"{CANARY}-0") and afters[0]["lastname"] == "Push0"
    before = json.loads(query(wh, "SELECT before FROM ops.audit_log WHERE golden_id = 'p-00000'")[0][0])
    assert before == {"national_id": pii_mask(f"{CANARY}-old-0"), "lastname": "Before"}
    scrubbed = query(wh, "SELECT count(*) FROM ops.push_ledger WHERE payload LIKE '%***pii:%'")[0][0]
    assert scrubbed == 9  # every settled row (7 records, the superseded and the replayed versions)
