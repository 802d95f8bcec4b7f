"""Staging end to end on real DuckDB: hand-written mappings over the landed sandbox warehouse
(hr.employees -> employee, crm.contacts -> contact) and a small synthetic table for enrichment."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.canonical import FieldRule, SystemMapping, TransformStep, load_entities
from sync_platform.engines.staging import stage_all, stage_entity

KEYS = {("hr", "employees"): ["employee_id"], ("crm", "contacts"): ["id"],
        ("marketing", "contacts"): ["id"], ("test", "customers"): ["id"]}


def R(sources, targets, *steps, status="approved") -> FieldRule:  # noqa: N802
    return FieldRule(sources=sources, targets=targets, confidence=0.9, status=status,
                     transform=[TransformStep(kind=k, params=p) for k, p in steps])


def hr_mapping() -> SystemMapping:
    return SystemMapping(
        id="hr.employees__employee", source_system="hr", source_table="employees",
        entity_type="employee", status="auto_applied", mapping_rules=[
            R(["employee_id"], ["employee_number"], ("trim", {})),
            R(["full_name"], ["first_name", "last_name"], ("split_name", {})),
            R(["work_email"], ["work_email"], ("email", {})),
            R(["hire_date"], ["hire_date"], ("date", {"format": "%d/%m/%Y"})),
            R(["status"], ["is_active"], ("boolean", {})),
            R(["department"], ["department"]),
            R(["job_title"], ["job_title"]),
            R(["salary"], ["annual_salary"], ("currency", {})),
            R(["last_changed"], ["modified_at"], ("datetime", {})),
            R(["x_loyalty_tier"], ["department"], status="proposed"),  # not applied: ignored
        ])


def crm_contact_mapping() -> SystemMapping:
    return SystemMapping(
        id="crm.contacts__contact", source_system="crm", source_table="contacts",
        entity_type="contact", status="approved", mapping_rules=[
            R(["first_name"], ["first_name"], ("trim", {})),
            R(["last_name"], ["last_name"], ("trim", {})),
            R(["email"], ["email"], ("email", {})),
            R(["phone"], ["phone"], ("phone", {"default_region": "US"})),
            R(["mobile_phone"], ["mobile_phone"], ("phone", {"default_region": "US"})),
            R(["title"], ["title"]),
            R(["account_id"], ["company_source_id"]),
            R(["mailing_street"], ["street"]),
            R(["mailing_city"], ["city"]),
            R(["mailing_state"], ["state"]),
            R(["mailing_postal_code"], ["postal_code"]),
            R(["mailing_country"], ["country"]),
            R(["is_deleted"], ["is_deleted"]),
            R(["created_date"], ["created_at"]),
            R(["last_modified_date"], ["modified_at"]),
        ])


def marketing_contact_mapping(status: str = "paused") -> SystemMapping:
    return SystemMapping(
        id="marketing.contacts__contact", source_system="marketing", source_table="contacts",
        entity_type="contact", status=status, status_reason="source field lastname removed",
        mapping_rules=[R(["lastname"], ["last_name"]), R(["email"], ["email"], ("email", {}))])


def sql(path: Path, query: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def entities():
    return load_entities()


def test_employee_from_hr_csv(warehouse_copy, entities):
    sql(warehouse_copy, """
        UPDATE raw_hr.employees SET hire_date = '31/02/2020' WHERE employee_id = '1001';
        UPDATE raw_hr.employees SET work_email = 'not-an-email' WHERE employee_id = '1003';
        UPDATE raw_hr.employees SET status = 'On leave' WHERE employee_id = '1005';
        UPDATE raw_hr.employees SET full_name = 'Dr. Sarah Jane Smith' WHERE employee_id = '1006';
    """)
    result = stage_entity(warehouse_copy, entities["employee"], [hr_mapping()], KEYS)
    counts = result.counts("hr.employees__employee")
    read = sql(warehouse_copy, "SELECT count(*) FROM raw_hr.employees")[0][0]
    staged = sql(warehouse_copy, "SELECT count(*) FROM staged.employee")[0][0]
    rejected = sql(warehouse_copy, "SELECT count(DISTINCT source_id) FROM quality.rejects "
                                   "WHERE entity = 'employee' AND severity = 'error'")[0][0]
    assert (counts.read, counts.staged, counts.rejected) == (read, staged, rejected) == (read, read - 2, 2)
    assert counts.reconciles and counts.warnings == 1

    reasons = {r[0]: r[1:] for r in sql(warehouse_copy, "SELECT source_id, field, reason, raw_value, "
                                        "severity FROM quality.rejects WHERE entity = 'employee'")}
    assert reasons["1001"] == ("hire_date", "invalid date (format %d/%m/%Y)", "31/02/2020", "error")
    assert reasons["1003"] == ("work_email", "invalid email", "not-an-email", "error")
    assert reasons["1005"] == ("is_active", "unknown boolean value", "On leave", "warning")
    record = json.loads(sql(warehouse_copy, "SELECT record FROM quality.rejects "
                                            "WHERE source_id = '1003'")[0][0])
    assert record["work_email"] == "not-an-email"

    row = sql(warehouse_copy, "SELECT first_name, last_name, hire_date, annual_salary, is_active, "
                              "modified_at FROM staged.employee WHERE source_id = '1006'")[0]
    assert row[:2] == ("Sarah", "Smith")
    assert isinstance(row[2], date) and isinstance(row[3], Decimal) and isinstance(row[5], datetime)
    assert sql(warehouse_copy, "SELECT is_active FROM staged.employee WHERE source_id = '1005'") == [(None,)]
    types = dict(sql(warehouse_copy, "SELECT column_name, data_type FROM information_schema.columns "
                                     "WHERE table_schema = 'staged' AND table_name = 'employee'"))
    assert types["hire_date"] == "DATE" and types["annual_salary"] == "DECIMAL(18,2)"
    assert types["is_active"] == "BOOLEAN" and types["modified_at"] == "TIMESTAMP"
    assert types["_enriched"] == "VARCHAR[]"
    salaries = sql(warehouse_copy, "SELECT h.salary, s.annual_salary FROM staged.employee s "
                                   "JOIN raw_hr.employees h ON h.employee_id = s.source_id LIMIT 50")
    assert all(Decimal(raw.strip("$").replace(",", "")) == value for raw, value in salaries)


def test_contacts_from_crm(warehouse_copy, entities):
    victim = sql(warehouse_copy, "SELECT id FROM raw_crm.contacts WHERE email IS NOT NULL "
                                 "ORDER BY id LIMIT 1")[0][0]
    sql(warehouse_copy, "UPDATE raw_crm.contacts SET email = 'jane.doe@@example' WHERE id = ?", [victim])
    mappings = [crm_contact_mapping(), marketing_contact_mapping("paused")]
    first = stage_entity(warehouse_copy, entities["contact"], mappings, KEYS)

    assert [s.mapping_id for s in first.skipped] == ["marketing.contacts__contact"]
    assert "paused" in first.skipped[0].reason and "lastname removed" in first.skipped[0].reason
    counts = first.counts("crm.contacts__contact")
    read = sql(warehouse_copy, "SELECT count(*) FROM raw_crm.contacts")[0][0]
    staged = sql(warehouse_copy, "SELECT count(*) FROM staged.contact")[0][0]
    assert counts.read == read == staged + counts.rejected and counts.staged == staged
    assert sql(warehouse_copy, "SELECT field, reason, raw_value, severity FROM quality.rejects "
                               "WHERE source_id = ?", [victim]) == [
        ("email", "invalid email", "jane.doe@@example", "error")]
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact WHERE source_id = ?", [victim]) == [(0,)]
    # phones are E.164; a phone that does not parse is NULL with a warning row, never silently lost
    bad_phones = sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                                     "WHERE NOT regexp_matches(phone, '^\\+[1-9][0-9]{6,14}$')")[0][0]
    assert bad_phones == 0
    warnings = sql(warehouse_copy, "SELECT count(*) FROM quality.rejects WHERE entity = 'contact' "
                                   "AND severity = 'warning' AND reason = 'invalid phone'")[0][0]
    assert warnings == counts.warnings
    # deleted records stay, with the flag; the country comes from the phone when missing
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact WHERE is_deleted")[0][0] == \
        sql(warehouse_copy, "SELECT count(*) FROM raw_crm.contacts WHERE is_deleted AND id <> ?",
            [victim])[0][0]
    derived = sql(warehouse_copy, "SELECT country, phone FROM staged.contact "
                                  "WHERE list_contains(_enriched, 'country')")
    assert derived and all(c in ("US", "CA", "GB", "DE", "FR") for c, _ in derived)

    hashes = dict(sql(warehouse_copy, "SELECT source_id, row_hash FROM staged.contact"))
    second = stage_entity(warehouse_copy, entities["contact"], mappings, KEYS)
    again = second.counts("crm.contacts__contact")
    assert (again.mode, again.read, again.staged_total) == ("incremental", 0, counts.staged)
    assert dict(sql(warehouse_copy, "SELECT source_id, row_hash FROM staged.contact")) == hashes
    assert sql(warehouse_copy, "SELECT count(*) FROM quality.rejects WHERE entity = 'contact' "
                               "AND severity = 'error'")[0][0] == counts.rejected


def test_paused_mapping_rows_are_kept(warehouse_copy, entities):
    marketing = marketing_contact_mapping("approved")
    first = stage_all(warehouse_copy, {"contact": entities["contact"]},
                      [crm_contact_mapping(), marketing], KEYS)["contact"]
    assert len(first.mappings) == 2 and not first.skipped
    marketing_rows = sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                                         "WHERE source_system = 'marketing'")[0][0]
    assert marketing_rows == first.counts(marketing.id).staged > 0

    again = stage_entity(warehouse_copy, entities["contact"],
                         [crm_contact_mapping(), marketing_contact_mapping("paused")], KEYS)
    assert again.kept_rows == marketing_rows
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                               "WHERE source_system = 'marketing'")[0][0] == marketing_rows
    rejected = stage_entity(warehouse_copy, entities["contact"],
                            [crm_contact_mapping(), marketing_contact_mapping("rejected")], KEYS)
    assert rejected.skipped[0].status == "rejected"
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                               "WHERE source_system = 'marketing'")[0][0] == 0


def test_enrichment(tmp_path, entities):
    warehouse = tmp_path / "wh.duckdb"
    sql(warehouse, """
        CREATE SCHEMA raw_test;
        CREATE TABLE raw_test.customers AS SELECT * FROM (VALUES
          (1, 'Acme', 'billing@acme.com', NULL, '+44 20 7946 0958', NULL, 'California', '1700000000'),
          (2, 'Bolt', 'jo@gmail.com', 'https://www.bolt.io/x', '(415) 555-0100', 'U.S.', 'texas', NULL),
          (3, 'Cog', NULL, NULL, '+49 89 4790 9035', 'Deutschland', 'Bayern', NULL),
          (4, NULL, 'x@dot.com', NULL, NULL, 'USA', 'NY', NULL)
        ) t(id, name, email, website, phone, country, state, modified);
    """)
    mapping = SystemMapping(
        id="test.customers__customer", source_system="test", source_table="customers",
        entity_type="customer", status="approved", mapping_rules=[
            R(["name"], ["name"]), R(["email"], ["email"], ("email", {})),
            R(["website"], ["website"]), R(["phone"], ["phone"], ("phone", {})),
            R(["country"], ["country"]), R(["state"], ["state"]),
            R(["modified"], ["modified_at"], ("epoch", {"unit": "s"}))])
    result = stage_entity(warehouse, entities["customer"], [mapping], KEYS)
    counts = result.counts(mapping.id)
    assert (counts.read, counts.staged, counts.rejected) == (4, 3, 1)
    rows = {r[0]: r[1:] for r in sql(warehouse, "SELECT source_id, domain, country, state, "
                                                "list_sort(_enriched) FROM staged.customer")}
    assert rows["1"] == ("acme.com", "GB", "CA", ["country", "domain", "state"])
    # a free-mail address gives no company domain: the website does
    assert rows["2"] == ("bolt.io", "US", "TX", ["country", "domain", "state"])
    assert rows["3"] == (None, "DE", "BY", ["country", "state"])
    assert sql(warehouse, "SELECT field, reason FROM quality.rejects WHERE source_id = '4'") == [
        ("name", "required field missing")]
    assert sql(warehouse, "SELECT modified_at FROM staged.customer WHERE source_id = '1'") == [
        (datetime(2023, 11, 14, 22, 13, 20),)]


def test_mapping_missing_a_required_field_waits_instead_of_rejecting(warehouse_copy, entities):
    """A required field without an applied rule (its proposal awaits review) would reject every
    record: the mapping is skipped as incomplete and nothing lands in rejects."""
    mapping = crm_contact_mapping()
    mapping.mapping_rules = [r for r in mapping.mapping_rules if r.targets != ["last_name"]]
    result = stage_entity(warehouse_copy, entities["contact"], [mapping], KEYS)
    assert [s.mapping_id for s in result.skipped] == [mapping.id]
    assert "required field(s) last_name" in result.skipped[0].reason
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        rejected = con.execute("SELECT count(*) FROM quality.rejects WHERE entity = 'contact'").fetchall()[0][0]
    finally:
        con.close()
    assert rejected == 0


def test_platform_id_is_staged_from_the_external_id_field(warehouse_copy, entities):
    """The golden id the platform wrote back to a source is staged as platform_id (and changes
    the row hash, so identity resolution sees the record as changed)."""
    con = duckdb.connect(str(warehouse_copy))
    try:
        con.execute("ALTER TABLE raw_crm.contacts ADD COLUMN IF NOT EXISTS external_id__c VARCHAR")
        first_two = [r[0] for r in con.execute(
            "SELECT id FROM raw_crm.contacts ORDER BY id LIMIT 2").fetchall()]
    finally:
        con.close()
    external = {("crm", "contacts"): "external_id__c"}
    stage_entity(warehouse_copy, entities["contact"], [crm_contact_mapping()], KEYS, external)
    before = dict(sql(warehouse_copy, "SELECT source_id, row_hash FROM staged.contact"))
    assert sql(warehouse_copy, "SELECT count(platform_id) FROM staged.contact")[0][0] == 0
    con = duckdb.connect(str(warehouse_copy))
    try:
        con.execute("UPDATE raw_crm.contacts SET external_id__c = 'g-' || id WHERE id IN (?, ?)",
                    first_two)
    finally:
        con.close()
    stage_entity(warehouse_copy, entities["contact"], [crm_contact_mapping()], KEYS, external)
    staged = dict(sql(warehouse_copy, "SELECT source_id, platform_id FROM staged.contact "
                                      "WHERE platform_id IS NOT NULL"))
    assert staged == {i: f"g-{i}" for i in first_two}
    after = dict(sql(warehouse_copy, "SELECT source_id, row_hash FROM staged.contact"))
    assert {i for i in after if after[i] != before[i]} == set(first_two)
