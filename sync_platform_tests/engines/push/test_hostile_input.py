"""Hostile identifiers and values: field names shaped like SQL injection are unknown fields (a
validation dead letter, no SQL run); golden ids and values with quotes, semicolons, backslashes
and control characters arrive verbatim, exactly once; formula-like values are data for the
target and are neutralised only when the platform writes them to CSV."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from sync_platform.engines.push import list_dead_letters, push, resume
from sync_platform.engines.reconcile.diff import diff_relations
from sync_platform.engines.reconcile.sources import write_differences

from .helpers import ledger_states, query

HOSTILE_KEYS = ['Name"; DROP TABLE customers; --', "x') OR 1=1 --"]
HOSTILE_TEXT = ["it's \"quoted\"", "semi;colon; DROP TABLE employees; --", "back\\slash\\n\\",
                "ctl\t\x01\x1f\x7f|", "ünï 李 🚀 '); --"]
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]

# target -> (table, entity, a text field, a valid payload)
TARGETS = {
    "payroll": ("employees", "employee", "department",
                lambda i: {"first_name": "Ada", "last_name": f"Hostile{i}", "department": "Eng"}),
    "crm": ("contacts", "contact", "Title",
            lambda i: {"LastName": f"Hostile{i}", "FirstName": "Ada", "Email": f"x{i}@hostile.example"}),
    "marketing": ("contacts", "contact", "jobtitle",
                  lambda i: {"lastname": f"Hostile{i}", "firstname": "Ada",
                             "email": f"x{i}@hostile.example"}),
}


def changes_for(target: str, ids: list[str], values: list[str] | None = None) -> list[dict]:
    table, entity, text_field, payload = TARGETS[target]
    out = []
    for i, gid in enumerate(ids):
        body = payload(i)
        if values is not None:
            body[text_field] = values[i]
        out.append({"target": target, "table": table, "entity": entity, "golden_id": gid,
                    "operation": "create", "payload": body})
    return out


def target_records(sandbox, target: str) -> dict[str, list[dict]]:
    """external id -> the live records holding it, from the target's own store."""
    out: dict[str, list[dict]] = {}
    if target == "payroll":
        engine = sa.create_engine(sandbox.payroll_url)
        with engine.connect() as con:
            rows = con.execute(sa.text("SELECT * FROM employees WHERE external_id IS NOT NULL")).mappings()
            for row in rows:
                out.setdefault(row["external_id"], []).append(dict(row))
        engine.dispose()
        return out
    obj = "Contact" if target == "crm" else "contacts"
    with sqlite3.connect(Path(sandbox.root) / f"{target}.sqlite") as con:
        for ext, data in con.execute("SELECT ext_key, data FROM records WHERE object = ? AND deleted = 0 "
                                     "AND ext_key IS NOT NULL", (obj,)).fetchall():
            out.setdefault(ext, []).append(json.loads(data))
    return out


def sql_inventory(url: str) -> dict[str, int]:
    """table -> row count of a sandbox SQL database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            names = sa.inspect(con).get_table_names()
            return {n: con.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar() for n in names}
    finally:
        engine.dispose()


def store_inventory(sandbox, system: str) -> dict[str, int]:
    with sqlite3.connect(Path(sandbox.root) / f"{system}.sqlite") as con:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


@pytest.mark.parametrize("target", ["payroll", "crm", "marketing"])
def test_injection_shaped_field_names_are_unknown_fields(sandbox, push_catalog, target: str) -> None:
    sql_before = {"payroll": sql_inventory(sandbox.payroll_url),
                  "accounting": sql_inventory(sandbox.accounting_url)}
    rest_before = {s: store_inventory(sandbox, s) for s in ("crm", "marketing")}
    changes = changes_for(target, [f"i-{i}" for i in range(5)])
    for change, key in zip(changes[1:3], HOSTILE_KEYS, strict=True):
        change["payload"][key] = "1"
    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 3, "rejected": 2}
    letters = {r["golden_id"]: r for r in list_dead_letters(push_catalog.warehouse_path)}
    assert sorted(letters) == ["i-1", "i-2"]
    for gid, key in zip(("i-1", "i-2"), HOSTILE_KEYS, strict=True):
        letter = letters[gid]
        assert letter["error_class"] == "validation" and letter["attempts"] == 1  # not retried
        assert key in letter["message"]  # names the field
        assert any(w in letter["message"] for w in ("unknown columns", "No such column", "does not exist"))
    # no SQL ran: every table is still there, only the 3 valid records were added
    created = {"payroll": sql_inventory(sandbox.payroll_url), "accounting": sql_inventory(sandbox.accounting_url)}
    rest_after = {s: store_inventory(sandbox, s) for s in ("crm", "marketing")}
    grow = {"payroll": ("employees", 3), "crm": ("records", 3), "marketing": ("records", 3)}[target]
    for system, before in {**sql_before, **rest_before}.items():
        after = created.get(system) or rest_after[system]
        assert set(after) == set(before)
        expected = dict(before)
        if system == target:
            expected[grow[0]] += grow[1]
        assert {k: v for k, v in after.items() if k != "counters"} == \
            {k: v for k, v in expected.items() if k != "counters"}
    held = target_records(sandbox, target)
    assert {gid: len(held.get(gid, [])) for gid in ("i-0", "i-1", "i-2", "i-3", "i-4")} == \
        {"i-0": 1, "i-1": 0, "i-2": 0, "i-3": 1, "i-4": 1}


@pytest.mark.parametrize("target", ["payroll", "crm", "marketing"])
def test_hostile_ids_and_values_arrive_verbatim_exactly_once(sandbox, push_catalog, target: str) -> None:
    wh = push_catalog.warehouse_path
    ids = [f"q-{text}" for text in HOSTILE_TEXT] + ["q-slash/and?query=1&x#frag%20"]
    values = [*HOSTILE_TEXT, "back\\\\slash"]
    if target != "payroll":  # the response is lost after the write: resolved by look-up by id
        sandbox.set_faults(target, lose_response_rate=1.0)
    push(push_catalog, changes_for(target, ids, values))
    if target != "payroll":
        sandbox.set_faults(target)
        resume(push_catalog, [target], force=True)
        outcomes = {r[0] for r in query(wh, "SELECT outcome FROM ops.audit_log")}
        assert "acknowledged_after_lookup" in outcomes  # found by its hostile id
    assert ledger_states(wh) == {"acknowledged": len(ids)}
    field = TARGETS[target][2]
    held = target_records(sandbox, target)
    for gid, value in zip(ids, values, strict=True):
        assert len(held[gid]) == 1, gid
        assert held[gid][0][field] == value
    assert sorted(r[0] for r in query(wh, "SELECT golden_id FROM ops.push_ledger")) == sorted(ids)
    # the same changes again: recorded once, nothing sent; a new version updates in place
    again = push(push_catalog, changes_for(target, ids, values))
    assert again.requests == 0 and again.states == {"acknowledged": len(ids)}
    newer = push(push_catalog, changes_for(target, ids, [v + ";'--" for v in values]))
    assert newer.states == {"acknowledged": len(ids)}
    held = target_records(sandbox, target)
    assert {gid: [r[field] for r in held[gid]] for gid in ids} == \
        {gid: [v + ";'--"] for gid, v in zip(ids, values, strict=True)}


def test_formula_values_are_data_for_the_target_and_neutralised_in_csv(sandbox, push_catalog,
                                                                       tmp_path) -> None:
    values = [*FORMULAS, "-2.5", "\tTAB"]
    ids = [f"f-{i}" for i in range(len(values))]
    for target in ("crm", "payroll"):
        report = push(push_catalog, changes_for(target, ids, values))
        assert report.states == {"acknowledged": len(values)}
        held = target_records(sandbox, target)
        field = TARGETS[target][2]
        assert [held[gid][0][field] for gid in ids] == values  # verbatim: they are data
    # the platform's CSV of differences (golden vs target) neutralises them
    con = duckdb.connect()
    con.execute("CREATE TABLE golden AS SELECT * FROM (VALUES " +
                ", ".join("(?, ?)" for _ in values) + ") t(id, title)",
                [x for pair in zip(ids, values, strict=True) for x in pair])
    con.execute("CREATE TABLE target AS SELECT id, 'plain' AS title FROM golden")
    result = diff_relations(con, "golden", "target", "id", kinds={"title": "text"}, strictness="exact")
    out = tmp_path / "diff.csv"
    write_differences(con, result.table, out)
    con.close()
    with out.open(newline="", encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert {gid: rows[gid]["left_value"] for gid in ids} == {
        "f-0": "'" + FORMULAS[0], "f-1": "'+1+1", "f-2": "'-2+3", "f-3": "'@SUM(A1)",
        "f-4": "-2.5", "f-5": "'\tTAB"}
    assert {r["right_value"] for r in rows.values()} == {"plain"}
