"""A record the target deleted while its golden record lives on is created again, once.

The push cycle (reconcile -> change set -> push -> land -> verify) against the real crm sandbox:
the platform creates contacts there, the crm user deletes one, marketing (the source of record)
still holds it. The next cycle creates it again: a new acknowledged create in the ledger (its
version covers the deleted record it replaces, so the ledger does not take it for the first
create), one live record in crm, a verified cycle; the cycle after that sends nothing. A lost
answer to the re-create, and a second run planning it meanwhile, still send it only once.
"""

from __future__ import annotations

import duckdb

from sync_platform.engines.canonical import FieldRule, SystemMapping, TransformStep
from sync_platform.engines.catalog.models import Flow
from sync_platform.engines.landing import land
from sync_platform.engines.outbound import outbound_for
from sync_platform.engines.push import push, resume
from sync_platform.engines.push.changeset import build_change_set
from sync_platform.engines.push.cycle import native_names, push_target
from sync_platform.engines.reconcile.golden import reconcile_target
from sync_platform.engines.reconcile.ownership import TargetColumn, TargetTable
from sync_platform_tests.engines.sandbox.helpers import API, crm

from .helpers import ledger_states, query, store_counts

GOLDEN = [("r-00000", "Ada", "Lovelace", "ada@recreate.example"),
          ("r-00001", "Grace", "Hopper", "grace@recreate.example"),
          ("r-00002", "Alan", "Turing", "alan@recreate.example")]


def _rule(column: str, *steps: tuple[str, dict]) -> FieldRule:
    return FieldRule(sources=[column], targets=[column], confidence=0.99, status="approved",
                     transform=[TransformStep(kind=k, params=p) for k, p in steps])


def contact_target(mode: str = "upsert", deletes: bool = False) -> TargetTable:
    """crm.contacts as a target of marketing's contacts (marketing is their system of record)."""
    mapping = SystemMapping(id="crm.contacts__contact", source_system="crm", source_table="contacts",
                            entity_type="contact", status="approved",
                            mapping_rules=[_rule("first_name", ("trim", {})),
                                           _rule("last_name", ("trim", {})),
                                           _rule("email", ("email", {}))])
    flow = Flow(name="marketing_to_crm_contacts", source="marketing", target="crm", entity="contact",
                mode=mode, timing={"on_change": True}, propagate_deletes=deletes)
    columns = [TargetColumn(c, [c], "marketing", True, None) for c in ("first_name", "last_name")] + \
        [TargetColumn("email", ["email"], "marketing", True, "email", pii=True)]
    return TargetTable("contact", "crm", "contacts", [flow], outbound_for(mapping), columns, ["Id"],
                       "external_id__c", deletes=deletes)


def golden_contacts(warehouse) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        con.execute("CREATE TABLE golden.contact (golden_id VARCHAR, first_name VARCHAR, "
                    "last_name VARCHAR, email VARCHAR, is_deleted BOOLEAN)")
        con.executemany("INSERT INTO golden.contact VALUES (?, ?, ?, ?, false)", GOLDEN)
        con.execute("CREATE TABLE golden.contact_xref (source_system VARCHAR, source_table VARCHAR, "
                    "source_id VARCHAR, golden_id VARCHAR, review_status VARCHAR, match_score DOUBLE)")
        con.executemany("INSERT INTO golden.contact_xref VALUES ('marketing', 'contacts', ?, ?, NULL, 1.0)",
                        [[f"m{i}", g[0]] for i, g in enumerate(GOLDEN)])
        con.execute("CREATE TABLE golden.contact_lineage (golden_id VARCHAR, field VARCHAR, value VARCHAR, "
                    "source_system VARCHAR, source_table VARCHAR, source_id VARCHAR, rule VARCHAR)")
        con.executemany("INSERT INTO golden.contact_lineage VALUES (?, 'last_name', ?, 'marketing', "
                        "'contacts', ?, 'system_of_record:marketing')",
                        [[g[0], g[2], f"m{i}"] for i, g in enumerate(GOLDEN)])


def reconcile(catalog, t: TargetTable) -> None:
    with duckdb.connect(str(catalog.warehouse_path)) as con:
        reconcile_target(con, t, catalog.reconcile.strictness)


def creates(warehouse, golden_id: str) -> list[tuple]:
    """(state, target id) of the ledger's creates of a golden record, oldest first."""
    return query(warehouse, "SELECT state, target_id FROM ops.push_ledger WHERE golden_id = ? AND "
                            "operation = 'create' ORDER BY seq", [golden_id])


def first_cycle_then_deleted_in_crm(sandbox, catalog, t: TargetTable) -> str:
    """Cycle 1 creates the golden records in crm; the crm user deletes r-00001 there; crm is
    landed again. Returns the crm id of the deleted contact."""
    land(catalog, "crm", ["contacts"])
    golden_contacts(catalog.warehouse_path)
    reconcile(catalog, t)
    first = push_target(catalog, t)
    assert first.verified and first.change_set.count("create") == 3, first.unexplained
    assert store_counts(sandbox, "crm", "Contact", "r") == {g[0]: 1 for g in GOLDEN}
    [(state, deleted)] = creates(catalog.warehouse_path, "r-00001")
    assert state == "acknowledged"
    gone = crm(sandbox, f"{API}/composite/sobjects", "DELETE", params={"ids": deleted})
    assert gone.status_code == 200 and gone.json()[0]["success"], gone.text
    land(catalog, "crm", ["contacts"])
    reconcile(catalog, t)
    missing = query(catalog.warehouse_path, "SELECT golden_id FROM recon.contact__crm WHERE pushable")
    assert missing == [("r-00001",)]
    return deleted


def test_a_record_deleted_in_the_target_is_created_again_once(sandbox, push_catalog) -> None:
    wh, t = push_catalog.warehouse_path, contact_target()
    deleted = first_cycle_then_deleted_in_crm(sandbox, push_catalog, t)
    with duckdb.connect(str(wh)) as con:  # a resolve in between links the deleted crm row
        con.execute("INSERT INTO golden.contact_xref VALUES ('crm', 'contacts', ?, 'r-00001', NULL, 1.0)",
                    [deleted])
    reconcile(push_catalog, t)

    again = push_target(push_catalog, t)
    assert again.change_set.count("create") == 1 and again.report.states == {"acknowledged": 1}
    assert again.verified and again.remaining == 0, again.unexplained
    assert store_counts(sandbox, "crm", "Contact", "r") == {g[0]: 1 for g in GOLDEN}
    [first, second] = creates(wh, "r-00001")
    assert first == ("acknowledged", deleted) and second[0] == "acknowledged" and second[1] != deleted
    assert ledger_states(wh, "r-") == {"acknowledged": 4}

    # the next cycle has nothing to send
    reconcile(push_catalog, t)
    quiet = push_target(push_catalog, t)
    assert not quiet.change_set.changes and quiet.report.requests == 0 and quiet.verified
    assert ledger_states(wh, "r-") == {"acknowledged": 4}


def test_a_lost_answer_to_the_create_again_is_not_sent_twice(sandbox, push_catalog) -> None:
    """The re-create commits in crm but its answer is lost (in doubt); a run planning from the same
    reconciliation meanwhile records nothing new; the resume finds the record by external id."""
    wh, t = push_catalog.warehouse_path, contact_target()
    first_cycle_then_deleted_in_crm(sandbox, push_catalog, t)
    names = native_names(push_catalog, "crm", "contacts")

    def plan() -> list:
        with duckdb.connect(str(wh)) as con:
            return build_change_set(con, t, names).changes

    changes = plan()
    assert [c.operation for c in changes] == ["create"] and plan()[0].key == changes[0].key
    sandbox.set_faults("crm", lose_response_rate=1.0)
    push(push_catalog, changes)
    assert ledger_states(wh, "r-") == {"acknowledged": 3, "in_doubt": 1}
    overlapping = plan()  # another run, from the same reconciliation: the same write
    assert [c.key for c in overlapping] == [changes[0].key]
    sandbox.set_faults("crm")
    push(push_catalog, overlapping)
    resume(push_catalog, ["crm"], force=True)
    assert ledger_states(wh, "r-") == {"acknowledged": 4}
    assert store_counts(sandbox, "crm", "Contact", "r") == {g[0]: 1 for g in GOLDEN}
    # sent twice in all: the first create, and the re-create whose answer was lost (the look-ups
    # that failed while the answers were lost send nothing; the last one found the record)
    outcomes = query(wh, "SELECT outcome, coalesce(message, '') LIKE 'look-up failed%' FROM ops.audit_log "
                         "WHERE golden_id = 'r-00001' ORDER BY \"at\"")
    assert [o for o, lookup in outcomes if not lookup] == ["acknowledged", "in_doubt",
                                                          "acknowledged_after_lookup"], outcomes

    land(push_catalog, "crm", ["contacts"])
    reconcile(push_catalog, t)
    quiet = push_target(push_catalog, t)
    assert not quiet.change_set.changes and quiet.report.requests == 0 and quiet.verified


def test_an_update_only_flow_does_not_create_it_again(sandbox, push_catalog) -> None:
    wh, t = push_catalog.warehouse_path, contact_target()
    first_cycle_then_deleted_in_crm(sandbox, push_catalog, t)
    update_only = contact_target(mode="update_only")
    cycle = push_target(push_catalog, update_only)
    assert not cycle.change_set.changes and cycle.change_set.skipped == {
        "update_only flow: not created": 1}
    assert cycle.verified  # a change the flow rules skip is a known reject
    assert store_counts(sandbox, "crm", "Contact", "r") == {"r-00000": 1, "r-00002": 1}
    assert len(creates(wh, "r-00001")) == 1
