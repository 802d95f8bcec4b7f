"""Outbound rendering: golden records in a system's own columns, checked by a round trip
(render, then stage the rendered rows with the same mapping: the golden values come back)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from sync_platform.engines.canonical import FieldRule, SystemMapping, TransformStep, load_entities
from sync_platform.engines.outbound import outbound_for
from sync_platform.engines.staging import stage_entity

CONTACT = load_entities()["contact"]
FIELDS = ["first_name", "last_name", "email", "birth_date", "lifecycle_stage", "email_opt_out",
          "street", "city", "state", "postal_code", "company_name"]


def _rule(sources: list[str], targets: list[str], *steps: tuple[str, dict]) -> FieldRule:
    return FieldRule(sources=sources, targets=targets, confidence=0.99, status="approved",
                     transform=[TransformStep(kind=k, params=p) for k, p in steps])


MAPPING = SystemMapping(
    id="legacy.people__contact", source_system="legacy", source_table="people",
    entity_type="contact", status="approved", mapping_rules=[
        _rule(["full_name"], ["first_name", "last_name"], ("trim", {}), ("split_name", {})),
        _rule(["mail"], ["email"], ("trim", {}), ("email", {})),
        _rule(["dob"], ["birth_date"], ("date", {"format": "%m/%d/%Y"})),
        _rule(["stage"], ["lifecycle_stage"],
              ("value_map", {"map": {"L": "lead", "C": "customer"}})),
        _rule(["no_mail"], ["email_opt_out"],
              ("boolean", {"true_values": ["Y"], "false_values": ["N"]})),
        _rule(["addr"], ["street", "city", "state", "postal_code"], ("split_address", {})),
        _rule(["mail"], ["company_name"], ("domain_from_email", {})),  # derived: not rendered
    ])

GOLDEN = [
    ("g1", "Ada", "Lovelace", "ada@engine.org", date(1815, 12, 10), "lead", True,
     "12 Main Street", "Springfield", "IL", "62701", "engine.org"),
    ("g2", "Grace", "Hopper", "grace@navy.mil", date(1906, 12, 9), "customer", False,
     "1 Navy Way", "Arlington", "VA", "22202", "navy.mil"),
    ("g3", "Alan", "Turing", None, None, None, None, None, None, None, None, None),
]


def _warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA golden")
        con.execute("""CREATE TABLE golden.contact (golden_id VARCHAR, first_name VARCHAR,
            last_name VARCHAR, email VARCHAR, birth_date DATE, lifecycle_stage VARCHAR,
            email_opt_out BOOLEAN, street VARCHAR, city VARCHAR, state VARCHAR, postal_code VARCHAR,
            company_name VARCHAR)""")
        con.executemany("INSERT INTO golden.contact VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", GOLDEN)
        con.execute("""CREATE TABLE golden.contact_xref AS SELECT 'legacy' AS source_system,
            'people' AS source_table, 'P-' || golden_id AS source_id, golden_id
            FROM golden.contact WHERE golden_id <> 'g3'""")
    finally:
        con.close()
    return path


def test_outbound_columns_and_skipped_rules() -> None:
    outbound = outbound_for(MAPPING)
    assert [c.column for c in outbound.columns] == ["full_name", "mail", "dob", "stage",
                                                   "no_mail", "addr"]
    assert outbound.skipped == [("mail -> company_name", "domain_from_email derives its value")]


def test_rendered_rows_in_the_systems_format(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    sql = outbound_for(MAPPING).render_sql("golden.contact", "golden.contact_xref")
    con = duckdb.connect(str(path))
    try:
        rows = {r[0]: r for r in con.execute(sql + " ORDER BY 1").fetchall()}
    finally:
        con.close()
    assert rows["g1"][1:] == ("P-g1", "Ada Lovelace", "ada@engine.org", "12/10/1815", "L", "Y",
                              "12 Main Street, Springfield, IL 62701")
    assert rows["g2"][5:7] == ("C", "N")
    assert rows["g3"][1] is None  # no record in this system yet: a create for push-out


def test_render_then_stage_gives_the_golden_values_back(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    sql = outbound_for(MAPPING).render_sql("golden.contact", "golden.contact_xref")
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA raw_legacy")
        con.execute(f"CREATE TABLE raw_legacy.people AS SELECT golden_id AS id, * EXCLUDE "
                    f"(golden_id, target_id) FROM ({sql})")
    finally:
        con.close()
    stage_entity(path, CONTACT, [MAPPING], {("legacy", "people"): ["id"]})
    con = duckdb.connect(str(path), read_only=True)
    try:
        mapped = [f for f in FIELDS if f != "company_name"]
        staged = {r[0]: r[1:] for r in con.execute(
            f"SELECT source_id, {', '.join(mapped)} FROM staged.contact").fetchall()}
        golden = {r[0]: r[1:] for r in con.execute(
            f"SELECT golden_id, {', '.join(mapped)} FROM golden.contact").fetchall()}
    finally:
        con.close()
    for gid in golden:
        assert staged[gid] == golden[gid], (gid, [d for d in zip(mapped, staged[gid], golden[gid], strict=True) if d[1] != d[2]])
