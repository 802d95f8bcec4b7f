"""Survivorship on hand-made `staged.<entity>` and `golden.<entity>_xref` tables."""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import CatalogError, load_catalog
from sync_platform.engines.staging.tables import ensure_staged
from sync_platform.engines.survivorship import (
    RuleSpec,
    SurvivorshipRules,
    build_golden,
    load_rules,
    survivorship_rule,
)

REPO = Path(__file__).resolve().parents[3]
MAPPINGS = REPO / "mappings"
ENTITIES = load_entities(MAPPINGS)
SOR = load_catalog(MAPPINGS, require_secrets=False).system_of_record
NOW = datetime(2026, 1, 1, 12, 0, 0)
TABLES = {"crm": "Contact", "marketing": "contacts", "accounting": "customers", "hr": "employees",
          "payroll": "employees"}


def day(n: int) -> datetime:
    return datetime(2025, 1, n, 9, 0, 0)


def make_warehouse(path: Path, entity: str, records: list[dict]) -> Path:
    """staged.<entity> with the given records (golden_id, source_system, source_id + fields) and
    golden.<entity>_xref pointing each at its golden id."""
    ent = ENTITIES[entity]
    rows = []
    for rec in records:
        row = {f: rec.get(f) for f in ent.field_names}
        row.update(source_system=rec["source_system"], source_id=rec["source_id"],
                   source_table=TABLES[rec["source_system"]], row_hash="h", staged_at=NOW,
                   _enriched=[])
        rows.append(row)
    con = duckdb.connect(str(path))
    try:
        ensure_staged(con, ent)
        if rows:
            frame = pd.DataFrame(rows)
            con.register("rows_df", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f'INSERT INTO staged."{entity}" ({cols}) SELECT {cols} FROM rows_df')
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        con.execute(f"""CREATE OR REPLACE TABLE golden."{entity}_xref" (source_system VARCHAR,
            source_table VARCHAR, source_id VARCHAR, golden_id VARCHAR, match_score DOUBLE,
            evidence VARCHAR, resolved_at TIMESTAMP)""")
        for rec in records:
            if rec.get("golden_id") is None:
                continue
            con.execute(f'INSERT INTO golden."{entity}_xref" VALUES (?, ?, ?, ?, 1.0, ?, ?)',
                        [rec["source_system"], TABLES[rec["source_system"]], rec["source_id"],
                         rec["golden_id"], "test", NOW])
    finally:
        con.close()
    return path


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def run(tmp_path: Path, records: list[dict], entity: str = "contact",
        rules: SurvivorshipRules | None = None):
    path = make_warehouse(tmp_path / "wh.duckdb", entity, records)
    rules = rules or load_rules(MAPPINGS, entity, SOR)
    result = build_golden(path, ENTITIES[entity], rules, SOR, now=NOW)
    return path, result


def golden_value(path: Path, field: str, golden_id: str = "G1", entity: str = "contact"):
    rows = query(path, f'SELECT "{field}" FROM golden."{entity}" WHERE golden_id = \'{golden_id}\'')
    return rows[0][0]


def lineage(path: Path, field: str, golden_id: str = "G1", entity: str = "contact") -> tuple:
    rows = query(path, f"SELECT value, source_system, source_id, rule, modified_at FROM "
                       f"golden.{entity}_lineage WHERE golden_id = '{golden_id}' "
                       f"AND field = '{field}'")
    return rows[0] if rows else None


def conflicts(path: Path, entity: str = "contact") -> dict[tuple[str, str], tuple]:
    rows = query(path, f"SELECT golden_id, field, chosen_value, chosen_source_system, "
                       f"chosen_source_id, rejected, rule FROM golden.{entity}_conflicts")
    return {(r[0], r[1]): r[2:] for r in rows}


def rec(system: str, source_id: str, modified: datetime, golden_id: str = "G1", **fields) -> dict:
    return {"golden_id": golden_id, "source_system": system, "source_id": source_id,
            "modified_at": modified, "last_name": "Smith", **fields}


# --- system_of_record ---------------------------------------------------------------------

def test_system_of_record_wins_even_when_another_system_is_newer(tmp_path):
    path, result = run(tmp_path, [
        rec("crm", "c1", day(1), email="jane@acme.com"),
        rec("marketing", "m1", day(9), email="jane.smith@gmail.com"),
    ])
    assert golden_value(path, "email") == "jane@acme.com"
    assert lineage(path, "email")[:4] == ("jane@acme.com", "crm", "c1", "system_of_record:crm")
    chosen, system, source_id, rejected, rule = conflicts(path)[("G1", "email")]
    assert (chosen, system, source_id) == ("jane@acme.com", "crm", "c1")
    assert [(r["value"], r["source_system"], r["source_id"]) for r in json.loads(rejected)] == [
        ("jane.smith@gmail.com", "marketing", "m1")]
    assert result.conflicts_by_field["email"] == 1


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_system_of_record_falls_back_when_owner_has_no_value(tmp_path, missing):
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(5), email=missing),
        rec("marketing", "m1", day(2), email="old@acme.com"),
        rec("accounting", "a1", day(3), email="new@acme.com"),
    ])
    assert golden_value(path, "email") == "new@acme.com"
    value, system, source_id, rule, _ = lineage(path, "email")
    assert (value, system, source_id) == ("new@acme.com", "accounting", "a1")
    assert rule == "most_recent (fallback: crm has no value)"


def test_group_field_without_explicit_rule_follows_its_system_of_record(tmp_path):
    # phone is in the customer_contact_details group (crm); marketing_preferences -> marketing
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(1), phone="+1 555 0100", title="VP Sales"),
        rec("marketing", "m1", day(8), phone="+1 555 0199", title=None),
    ])
    assert golden_value(path, "phone") == "+1 555 0100"
    assert golden_value(path, "title") == "VP Sales"


# --- the other rule types -----------------------------------------------------------------

def test_source_priority_and_empty_strings_never_win(tmp_path):
    path, _ = run(tmp_path, [
        rec("marketing", "m1", day(9), last_name="Smyth"),
        rec("accounting", "a1", day(1), last_name="Smith-Jones"),
        rec("crm", "c1", day(5), last_name=""),
    ])
    assert golden_value(path, "last_name") == "Smith-Jones"
    assert lineage(path, "last_name")[1:4] == ("accounting", "a1", "source_priority")


def test_most_recent_last_write_wins_and_nulls_never_win(tmp_path):
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(1), company_source_id="001A"),
        rec("marketing", "m1", day(3), company_source_id="9001"),
        rec("accounting", "a1", day(7), company_source_id=None),
    ])
    assert golden_value(path, "company_source_id") == "9001"
    assert lineage(path, "company_source_id")[1:4] == ("marketing", "m1", "most_recent")


def test_most_complete_prefers_the_informative_value(tmp_path):
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(1), first_name="Jonathan"),
        rec("marketing", "m1", day(9), first_name="Jon"),
        rec("accounting", "a1", day(8), first_name="J."),
    ])
    assert golden_value(path, "first_name") == "Jonathan"
    assert lineage(path, "first_name")[1:4] == ("crm", "c1", "most_complete")


def test_most_frequent_takes_the_mode_with_ties_by_recency(tmp_path):
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(1), company_name="Acme", golden_id="G1"),
        rec("accounting", "a1", day(2), company_name="Acme", golden_id="G1"),
        rec("marketing", "m1", day(9), company_name="ACME Inc", golden_id="G1"),
        rec("crm", "c2", day(1), company_name="Globex", golden_id="G2"),
        rec("marketing", "m2", day(4), company_name="Globex Corp", golden_id="G2"),
    ])
    assert golden_value(path, "company_name") == "Acme"
    assert lineage(path, "company_name")[1:3] == ("accounting", "a1")  # the newest "Acme"
    assert golden_value(path, "company_name", "G2") == "Globex Corp"  # 1:1 tie -> most recent


def test_custom_rule_furthest_lifecycle_stage(tmp_path):
    path, _ = run(tmp_path, [
        rec("marketing", "m1", day(1), lifecycle_stage="customer"),
        rec("crm", "c1", day(9), lifecycle_stage="lead"),
        rec("marketing", "m2", day(2), lifecycle_stage="Marketing Qualified Lead"),
    ])
    assert golden_value(path, "lifecycle_stage") == "customer"
    assert lineage(path, "lifecycle_stage")[1:4] == (
        "marketing", "m1", "custom:furthest_lifecycle_stage")
    assert conflicts(path)[("G1", "lifecycle_stage")][4] == "custom:furthest_lifecycle_stage"


def test_shipped_custom_rules_any_true_and_earliest_value(tmp_path):
    path, _ = run(tmp_path, [
        rec("marketing", "m1", day(1), email_opt_out=True, created_at=day(3)),
        rec("crm", "c1", day(9), email_opt_out=False, created_at=day(2)),
    ])
    assert golden_value(path, "email_opt_out") is True
    assert golden_value(path, "created_at") == day(2)


def test_user_registered_custom_rule_runs_only_on_conflicting_groups(tmp_path):
    seen: list[pd.DataFrame] = []

    @survivorship_rule("test_shortest_title")
    def shortest(candidates: pd.DataFrame) -> pd.Series:
        seen.append(candidates)
        return -candidates["value"].str.len().astype(float)

    rules = SurvivorshipRules(entity="contact",
                              fields={"title": RuleSpec(rule="custom", name="test_shortest_title")})
    path, _ = run(tmp_path, [
        rec("crm", "c1", day(9), title="Chief Executive Officer", golden_id="G1"),
        rec("marketing", "m1", day(1), title="CEO", golden_id="G1"),
        rec("crm", "c2", day(1), title="CFO", golden_id="G2"),
        rec("marketing", "m2", day(2), title="CFO", golden_id="G2"),
    ], rules=rules)
    assert golden_value(path, "title") == "CEO"
    assert golden_value(path, "title", "G2") == "CFO"
    assert len(seen) == 1 and set(seen[0]["golden_id"]) == {"G1"}  # vectorised, conflicts only


# --- conflicts, lineage, deletes, determinism ---------------------------------------------

def test_conflicts_only_on_real_disagreement(tmp_path):
    path, result = run(tmp_path, [
        rec("crm", "c1", day(1), email="a@x.com", city="Boston", phone=None),
        rec("marketing", "m1", day(2), email="a@x.com", city=None, phone="+1 555"),
        rec("accounting", "a1", day(3), email=None, city="", phone="+1 555"),
    ])
    assert conflicts(path) == {}
    assert result.conflicts == 0
    assert golden_value(path, "city") == "Boston"


def test_lineage_explains_every_non_null_golden_field(tmp_path):
    records = [
        rec("crm", "c1", day(1), first_name="Jane", email="jane@acme.com", city="Boston",
            lifecycle_stage="lead", email_opt_out=False, is_deleted=False),
        rec("marketing", "m1", day(4), first_name="Janet", email="j@gmail.com",
            lifecycle_stage="opportunity", title="CTO", created_at=day(1), is_deleted=False),
        rec("accounting", "a1", day(2), company_name="Acme", golden_id="G2"),
    ]
    path, result = run(tmp_path, records)
    source = {(r["source_system"], r["source_id"]): r for r in records}
    ent = ENTITIES["contact"]
    for golden_id in ("G1", "G2"):
        explained = 0
        for field in ent.field_names:
            value = golden_value(path, field, golden_id)
            why = lineage(path, field, golden_id)
            if value is None:
                assert why is None
                continue
            explained += 1
            assert why is not None, field
            if field == "is_deleted":
                assert why[3] in ("active_in_a_source", "all_sources_deleted")
                continue
            winner = source[(why[1], why[2])]
            text = str(value).lower() if isinstance(value, bool) else str(value)
            assert str(winner[field]).lower() == str(value).lower(), field  # the winner's value
            assert why[0] == text, field
            assert why[4] == winner["modified_at"]
        assert explained == query(path, f"SELECT count(*) FROM golden.contact_lineage "
                                        f"WHERE golden_id = '{golden_id}'")[0][0]
    assert result.lineage_rows == query(path, "SELECT count(*) FROM golden.contact_lineage")[0][0]


def test_deleted_records_do_not_contribute_unless_all_are_deleted(tmp_path):
    path, result = run(tmp_path, [
        rec("crm", "c1", day(1), email="live@acme.com", is_deleted=False),
        rec("marketing", "m1", day(9), first_name="Ghost", title="Gone", is_deleted=True),
        rec("crm", "c2", day(1), email="old@acme.com", is_deleted=True, golden_id="G2"),
        rec("marketing", "m2", day(3), email="older@acme.com", is_deleted=True, golden_id="G2"),
    ])
    assert golden_value(path, "first_name") is None
    assert golden_value(path, "title") is None
    assert golden_value(path, "is_deleted") is False
    assert golden_value(path, "email", "G2") == "old@acme.com"  # crm still owns email
    assert golden_value(path, "is_deleted", "G2") is True
    assert lineage(path, "is_deleted", "G2")[3] == "all_sources_deleted"
    assert query(path, "SELECT golden_id, source_count FROM golden.contact ORDER BY 1") == [
        ("G1", 2), ("G2", 2)]
    assert result.deleted_golden_records == 1
    assert ("G1", "first_name") not in conflicts(path)


def test_unresolved_staged_records_are_counted_not_used(tmp_path):
    path, result = run(tmp_path, [
        rec("crm", "c1", day(1), email="a@x.com"),
        rec("marketing", "m9", day(9), email="stray@x.com", golden_id=None),
    ])
    assert result.unresolved_records == 1 and result.golden_records == 1
    assert golden_value(path, "email") == "a@x.com"
    assert golden_value(path, "source_count") == 1


def test_deterministic_and_ties_broken_by_source(tmp_path):
    records = [rec(system, f"{system[0]}{i}", day(5), golden_id=f"G{i % 7}",
                   first_name=random.Random(i).choice(["Ann", "Anne", "Ana"]),
                   company_name=f"Co{i % 3}", phone=f"+1 555 {i % 4}", title=None)
               for i in range(60) for system in ("crm", "marketing", "accounting")]
    snapshots = []
    for attempt in range(2):
        random.Random(attempt).shuffle(records)
        folder = tmp_path / str(attempt)
        folder.mkdir()
        path, _ = run(folder, records)
        snapshots.append([query(path, f"SELECT * FROM golden.{t} ORDER BY ALL")
                          for t in ("contact", "contact_lineage", "contact_conflicts")])
    assert snapshots[0] == snapshots[1]
    path, _ = run(tmp_path / "0", [rec("marketing", "m1", day(5), company_source_id="M"),
                                    rec("accounting", "a1", day(5), company_source_id="A")])
    assert golden_value(path, "company_source_id") == "A"  # same modified_at -> source_system


def test_employee_without_is_deleted_column_uses_hr_as_system_of_record(tmp_path):
    path, result = run(tmp_path, [
        {"golden_id": "E1", "source_system": "hr", "source_id": "h1", "modified_at": day(1),
         "first_name": "Robert", "last_name": "Brown", "annual_salary": 85000},
        {"golden_id": "E1", "source_system": "payroll", "source_id": "p1", "modified_at": day(9),
         "first_name": "Bob", "last_name": "Brown", "annual_salary": 86000,
         "department": "Sales"},
    ], entity="employee")
    row = query(path, "SELECT first_name, annual_salary, department, is_deleted, updated_at "
                      "FROM golden.employee")
    assert row == [("Robert", 85000, "Sales", False, NOW)]
    assert result.conflicts_by_field == {"annual_salary": 1, "first_name": 1}


# --- the YAML -------------------------------------------------------------------------------

def test_shipped_rules_load():
    for entity in ("contact", "customer", "employee"):
        rules = load_rules(MAPPINGS, entity, SOR)
        assert rules.entity == entity
    contact = load_rules(MAPPINGS, "contact", SOR)
    assert contact.rule_for("phone").rule == "system_of_record"
    assert contact.group_of("phone") == "customer_contact_details"
    assert contact.rule_for("company_source_id").rule == "most_recent"


def test_missing_file_gives_most_recent_and_system_of_record_defaults(tmp_path):
    shutil.copytree(MAPPINGS / "entities", tmp_path / "entities")
    contact = load_rules(tmp_path, "contact", SOR)
    assert {contact.rule_for(f).rule for f in ENTITIES["contact"].field_names} == {"most_recent"}
    employee = load_rules(tmp_path, "employee", SOR)
    assert employee.rule_for("last_name").rule == "system_of_record"
    assert employee.group_of("last_name") == "employee"


@pytest.mark.parametrize(("body", "where", "message"), [
    ("fields:\n  last_name: {rule: source_priority}\n", "fields.last_name", "priority"),
    ("fields:\n  nickname: {rule: most_recent}\n", "fields.nickname", "unknown field"),
    ("fields:\n  title: {rule: custom, name: nope}\n", "fields.title", "unknown custom rule"),
    ("fields:\n  title: {rule: newest}\n", "fields.title.rule", "most_recent"),
    ("fields:\n  title: {rule: most_recent, colour: red}\n", "fields.title.colour", "unknown"),
    ("groups:\n  shoe_size: [email]\n", "groups.shoe_size", "system_of_record"),
    ("groups:\n  customer_contact_details: [emial]\n", "groups.customer_contact_details[0]",
     "unknown field"),
    ("fields:\n  is_deleted: {rule: most_recent}\n", "fields.is_deleted", "computed"),
    ("fields:\n  city: {rule: system_of_record}\n", "fields.city", "group"),
    ("fields: [oops\n", "line", "malformed YAML"),  # the line and column of the problem
])
def test_yaml_errors_name_file_and_field(tmp_path, body, where, message):
    shutil.copytree(MAPPINGS / "entities", tmp_path / "entities")
    (tmp_path / "survivorship").mkdir()
    file = tmp_path / "survivorship" / "contact.yaml"
    file.write_text("entity: contact\n" + body, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_rules(tmp_path, "contact", SOR)
    text = str(caught.value)
    assert str(file) in text
    assert where in text and message in text, text
