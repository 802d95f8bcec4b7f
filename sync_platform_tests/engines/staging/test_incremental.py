"""Incremental staging equals a full rebuild, row for row (but staged_at / rejected_at): after
real sandbox changes landed by dlt, records turning invalid and valid again, hard deletes, a
key that is not unique, a changed mapping, paused and re-applied mappings; and reads nothing
when nothing changed."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.staging import stage_all, stage_entity
from sync_platform_tests.conftest import REPO
from sync_platform_tests.engines.staging.test_stage import (
    KEYS,
    R,
    crm_contact_mapping,
    hr_mapping,
    marketing_contact_mapping,
    sql,
)

ENTITIES = load_entities(REPO / "mappings")


def project_mappings():
    from sync_platform.engines.mapping import load_mappings

    return load_mappings(REPO / "mappings")


def outputs(entity: str, db: str = "") -> dict[str, str]:
    """What staging wrote for `entity` (in database `db`), without the run timestamps."""
    return {
        "staged": f'SELECT * EXCLUDE (staged_at) FROM {db}staged."{entity}"',
        "rejects": f"SELECT * EXCLUDE (rejected_at) FROM {db}quality.rejects WHERE entity = '{entity}'",
        "state": f"SELECT mapping_id, row_hash, source_id, rejected FROM {db}meta.staging_rows "
                 f"WHERE entity = '{entity}'",
    }


def assert_same_outputs(path: Path, copy: Path, entity: str) -> None:
    """`path` and `copy` hold the same staged rows, reject rows and stored row hashes of
    `entity` (as multisets, staged_at / rejected_at aside)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"ATTACH '{copy}' AS other (READ_ONLY)")
        mine, theirs = outputs(entity), outputs(entity, "other.")
        for part in mine:
            diff = con.execute(f"(({mine[part]}) EXCEPT ALL ({theirs[part]})) UNION ALL "
                               f"(({theirs[part]}) EXCEPT ALL ({mine[part]})) LIMIT 5").fetchall()
            assert diff == [], f"{entity} {part}: {diff}"
    finally:
        con.close()


def assert_equals_full_rebuild(path: Path, tmp_path: Path, entity: str, mappings, keys,
                               external=None) -> None:
    """`path` (after an incremental run) against a full rebuild of a copy of it."""
    copy = tmp_path / f"full-{len(list(tmp_path.glob('full-*')))}.duckdb"
    shutil.copyfile(path, copy)
    full = stage_entity(copy, ENTITIES[entity], mappings, keys, external, full=True)
    assert full.mode == "full" and full.reason == "full rebuild requested"
    assert_same_outputs(path, copy, entity)
    assert full.staged or not full.mappings, entity
    # quality.rejects semantics over the whole table: every raw row is staged or rejected
    for counts in full.mappings:
        assert counts.reconciles and counts.rows_total == counts.read


def land_all(catalog) -> None:
    from sync_platform.engines.landing import land

    for system in catalog.systems:
        land(catalog, system)


@pytest.fixture
def landed(sandbox, catalog):
    """The sandbox landed once and every entity staged (full) with the project's mappings."""
    from sync_platform.engines.landing import landed_external_ids, landed_keys

    land_all(catalog)
    keys, external = landed_keys(catalog), landed_external_ids(catalog)
    first = stage_all(catalog.warehouse_path, ENTITIES, project_mappings(), keys, external)
    assert {r.mode for r in first.values()} == {"full"}
    return catalog, keys, external


def test_sandbox_changes_landed_by_dlt_equal_a_full_rebuild(landed, sandbox, tmp_path):
    catalog, keys, external = landed
    warehouse, mappings = catalog.warehouse_path, project_mappings()
    report = sandbox.mutate(edits=8, inserts=4, deletes=3)
    land_all(catalog)
    results = stage_all(warehouse, ENTITIES, mappings, keys, external)
    # the sandbox's table names -> landed table names (crm Contact -> contacts)
    def landed(system: str, table: str) -> tuple[str, str]:
        return system, table.lower() if table.lower().endswith("s") else table.lower() + "s"

    touched = {landed(system, t): ids for system, tables in report.changed.items()
               for t, ids in tables.items()}
    deleted = {landed(system, t): n for system, tables in report.deleted.items()
               for t, n in tables.items()}
    for entity, result in results.items():
        for counts in result.mappings:
            assert counts.mode == "incremental", (counts.mapping_id, counts.reason)
            assert counts.reconciles, counts
            assert counts.read < counts.rows_total, counts.mapping_id
            # the edited and inserted records at least (marketing's soft deletes move records
            # to an archive table), at most every touched one plus the rejected ones (their
            # modified_at may come from the load time)
            table = (counts.source_system, counts.source_table)
            assert len(touched.get(table, [])) - deleted.get(table, 0) <= counts.read, counts
            assert counts.read <= len(touched.get(table, [])) + counts.rejected_total, counts
        assert_equals_full_rebuild(warehouse, tmp_path, entity, mappings, keys, external)
    assert sum(r.read for r in results.values()) >= 60

    # landing again without changes in the sources, then staging: nothing to read
    land_all(catalog)
    again = stage_all(warehouse, ENTITIES, mappings, keys, external)
    assert [(c.mapping_id, c.read) for r in again.values() for c in r.mappings if c.read] == []
    staged = [r for r in again.values() if r.mappings]
    assert len(staged) >= 3 and {r.mode for r in staged} == {"incremental"}
    assert all(r.summary.startswith("incremental: 0 changed rows of ") for r in staged)


# -- the landed sandbox warehouse, changed by SQL as a landing would change it ------------------

def contacts(path: Path, *mappings, full: bool = False):
    return stage_entity(path, ENTITIES["contact"], list(mappings or [crm_contact_mapping()]), KEYS,
                        full=full)


def crm_ids(path: Path, n: int) -> list[str]:
    return [r[0] for r in sql(path, "SELECT id FROM raw_crm.contacts WHERE email IS NOT NULL "
                                    "AND NOT is_deleted ORDER BY id LIMIT ?", [n])]


def rejected_ids(path: Path) -> set[str]:
    return {r[0] for r in sql(path, "SELECT source_id FROM quality.rejects WHERE entity = 'contact' "
                                    "AND severity = 'error'")}


def staged_ids(path: Path, table: str = "contact") -> set[str]:
    return {r[0] for r in sql(path, f"SELECT source_id FROM staged.{table}")}


def test_records_turning_invalid_move_to_rejects_and_fixed_ones_leave(warehouse_copy, tmp_path):
    good, bad = crm_ids(warehouse_copy, 2)
    sql(warehouse_copy, "UPDATE raw_crm.contacts SET email = 'broken@@x' WHERE id = ?", [bad])
    first = contacts(warehouse_copy)
    assert first.mode == "full" and bad in rejected_ids(warehouse_copy)

    sql(warehouse_copy, "UPDATE raw_crm.contacts SET email = 'Fixed.Again@Example.com' WHERE id = ?",
        [bad])
    sql(warehouse_copy, "UPDATE raw_crm.contacts SET email = 'now@@broken' WHERE id = ?", [good])
    result = contacts(warehouse_copy)
    counts = result.counts("crm.contacts__contact")
    assert (counts.mode, counts.read, counts.staged, counts.rejected) == ("incremental", 2, 1, 1)
    assert counts.reconciles and counts.rejected_total == first.rejected
    assert good in rejected_ids(warehouse_copy) and good not in staged_ids(warehouse_copy)
    assert bad not in rejected_ids(warehouse_copy) and bad in staged_ids(warehouse_copy)
    assert sql(warehouse_copy, "SELECT email FROM staged.contact WHERE source_id = ?", [bad]) == [
        ("fixed.again@example.com",)]
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "contact", [crm_contact_mapping()], KEYS)


def test_hard_deleted_raw_rows_are_removed(warehouse_copy, tmp_path):
    valid, invalid, edited = crm_ids(warehouse_copy, 3)
    sql(warehouse_copy, "UPDATE raw_crm.contacts SET email = 'broken@@x' WHERE id = ?", [invalid])
    first = contacts(warehouse_copy)
    sql(warehouse_copy, "DELETE FROM raw_crm.contacts WHERE id IN (?, ?)", [valid, invalid])
    sql(warehouse_copy, "UPDATE raw_crm.contacts SET title = 'Chief Tester' WHERE id = ?", [edited])
    result = contacts(warehouse_copy)
    counts = result.counts("crm.contacts__contact")
    assert (counts.mode, counts.read, counts.removed) == ("incremental", 1, 2)
    assert counts.rows_total == first.read - 2 and counts.reconciles
    assert {valid, invalid} & (staged_ids(warehouse_copy) | rejected_ids(warehouse_copy)) == set()
    assert result.summary == "incremental: 1 changed rows of 212, 2 removed"
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "contact", [crm_contact_mapping()], KEYS)


def test_no_changes_read_nothing_and_full_forces_a_rebuild(warehouse_copy):
    first = contacts(warehouse_copy)
    again = contacts(warehouse_copy)
    assert (again.mode, again.read, again.rows_total) == ("incremental", 0, first.read)
    assert again.counts("crm.contacts__contact").staged_total == first.staged
    forced = contacts(warehouse_copy, full=True)
    assert (forced.mode, forced.reason, forced.read) == ("full", "full rebuild requested", first.read)


def test_changed_mapping_rule_rebuilds_that_mapping_only(warehouse_copy, tmp_path):
    marketing = marketing_contact_mapping("approved")
    contacts(warehouse_copy, crm_contact_mapping(), marketing)
    changed = crm_contact_mapping()
    changed.mapping_rules = [r for r in changed.mapping_rules if r.targets != ["title"]]
    changed.mapping_rules.append(R(["title"], ["title"], ("upper", {})))
    result = contacts(warehouse_copy, changed, marketing)
    crm, mkt = result.counts(changed.id), result.counts(marketing.id)
    assert crm.mode == "full" and crm.reason.startswith("mapping query changed")
    assert crm.read == crm.rows_total > 0
    assert (mkt.mode, mkt.read) == ("incremental", 0)
    assert result.mode == "mixed" and result.reasons == f"{changed.id}: {crm.reason}"
    titles = sql(warehouse_copy, "SELECT count(*) FILTER (WHERE title <> upper(title)) "
                                 "FROM staged.contact WHERE source_system = 'crm'")
    assert titles == [(0,)]
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "contact", [changed, marketing], KEYS)


def test_changed_entity_definition_rebuilds_everything(warehouse_copy):
    from sync_platform.engines.canonical import CanonicalField

    contacts(warehouse_copy)
    entity = ENTITIES["contact"]
    wider = entity.model_copy(update={"fields": [*entity.fields, CanonicalField(name="nickname")]})
    result = stage_entity(warehouse_copy, wider, [crm_contact_mapping()], KEYS)
    assert result.mode == "full" and "columns of staged" in result.reason
    assert result.counts("crm.contacts__contact").reconciles


def test_paused_mapping_kept_then_applied_again_is_rebuilt(warehouse_copy, tmp_path):
    contacts(warehouse_copy, crm_contact_mapping(), marketing_contact_mapping("approved"))
    marketing_rows = sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                                         "WHERE source_system = 'marketing'")[0][0]
    sql(warehouse_copy, "UPDATE raw_marketing.contacts SET lastname = 'Changed' WHERE rowid < 3")
    paused = contacts(warehouse_copy, crm_contact_mapping(), marketing_contact_mapping("paused"))
    assert paused.kept_rows == marketing_rows and paused.mode == "incremental"
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact WHERE last_name = 'Changed'") == [(0,)]

    back = contacts(warehouse_copy, crm_contact_mapping(), marketing_contact_mapping("approved"))
    counts = back.counts("marketing.contacts__contact")
    assert counts.mode == "full" and counts.reason.startswith("no staging state yet")
    assert back.counts("crm.contacts__contact").mode == "incremental"
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact WHERE last_name = 'Changed'") == [(3,)]
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "contact",
                               [crm_contact_mapping(), marketing_contact_mapping("approved")], KEYS)

    gone = contacts(warehouse_copy, crm_contact_mapping(), marketing_contact_mapping("rejected"))
    assert gone.mode == "incremental" and gone.read == 0
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact "
                               "WHERE source_system = 'marketing'") == [(0,)]
    assert sql(warehouse_copy, "SELECT count(*) FROM meta.staging_rows "
                               "WHERE mapping_id = 'marketing.contacts__contact'") == [(0,)]


def test_a_key_that_is_not_unique_rebuilds_the_mapping(warehouse_copy, tmp_path):
    contacts(warehouse_copy)
    dup = crm_ids(warehouse_copy, 1)[0]
    sql(warehouse_copy, "INSERT INTO raw_crm.contacts SELECT * REPLACE ('Twin' AS title) "
                        "FROM raw_crm.contacts WHERE id = ?", [dup])
    result = contacts(warehouse_copy)
    counts = result.counts("crm.contacts__contact")
    assert counts.mode == "full" and "key not unique" in counts.reason
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.contact WHERE source_id = ?", [dup]) == [(2,)]
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "contact", [crm_contact_mapping()], KEYS)


def test_modified_at_from_the_latest_load_restages_only_when_a_load_lands(warehouse_copy, tmp_path):
    """hr has no _dlt_load_id: without a modified_at rule every record's modified_at is the time
    of the latest load, so a new load re-stages those records (and only then)."""
    mapping = hr_mapping()
    mapping.mapping_rules = [r for r in mapping.mapping_rules if r.targets != ["modified_at"]]
    entity = ENTITIES["employee"]
    first = stage_entity(warehouse_copy, entity, [mapping], KEYS)
    assert stage_entity(warehouse_copy, entity, [mapping], KEYS).read == 0
    sql(warehouse_copy, "INSERT INTO raw_hr._dlt_loads (load_id, schema_name, status, inserted_at) "
                        "VALUES ('9999999999.5', 'hr', 0, TIMESTAMPTZ '2099-01-01 00:00:00+00')")
    result = stage_entity(warehouse_copy, entity, [mapping], KEYS)
    assert (result.mode, result.read) == ("incremental", first.read)
    assert sql(warehouse_copy, "SELECT DISTINCT modified_at FROM staged.employee") == [
        (datetime(2099, 1, 1),)]
    assert_equals_full_rebuild(warehouse_copy, tmp_path, "employee", [mapping], KEYS)


def test_records_rejected_for_want_of_a_load_time_are_staged_when_a_load_lands(warehouse_copy,
                                                                              tmp_path):
    """modified_at required: records without one are rejected while no load time is known, and
    staged once a load lands (though their raw rows did not change)."""
    entity = ENTITIES["employee"]
    strict = entity.model_copy(update={"fields": [
        f.model_copy(update={"required": True}) if f.name == "modified_at" else f
        for f in entity.fields]})
    sql(warehouse_copy, "UPDATE raw_hr.employees SET last_changed = NULL WHERE employee_id IN "
                        "(SELECT employee_id FROM raw_hr.employees ORDER BY 1 LIMIT 4)")
    sql(warehouse_copy, "DELETE FROM raw_hr._dlt_loads")
    first = stage_entity(warehouse_copy, strict, [hr_mapping()], KEYS)
    assert first.rejected == 4
    sql(warehouse_copy, "INSERT INTO raw_hr._dlt_loads (load_id, schema_name, status, inserted_at) "
                        "VALUES ('9999999999.5', 'hr', 0, TIMESTAMPTZ '2099-01-01 00:00:00+00')")
    result = stage_entity(warehouse_copy, strict, [hr_mapping()], KEYS)
    assert (result.mode, result.read, result.staged, result.rejected) == ("incremental", 4, 4, 0)
    assert sql(warehouse_copy, "SELECT count(*) FROM staged.employee WHERE modified_at = "
                               "TIMESTAMP '2099-01-01'") == [(4,)]
    copy = tmp_path / "full.duckdb"
    shutil.copyfile(warehouse_copy, copy)
    stage_entity(copy, strict, [hr_mapping()], KEYS, full=True)
    assert_same_outputs(warehouse_copy, copy, "employee")


def storage(path: Path, table: str) -> tuple[int, int]:
    """(row groups, rows stored, deleted ones included) of `table`."""
    return sql(path, f"SELECT count(DISTINCT row_group_id), sum(count) FILTER "
                     f"(WHERE column_path = '[0]') FROM pragma_storage_info('{table}')")[0]


def test_incremental_runs_defer_vacuum_until_the_tables_need_compacting(tmp_path, monkeypatch):
    """Incremental runs leave deleted rows as tombstones and appended ones in small row groups
    instead of letting DuckDB's vacuum rewrite a full row group per table at every checkpoint;
    once a table needs compacting, the checkpoint vacuums. The result is the same either way."""
    from sync_platform.engines import warehouse as wh
    from sync_platform.engines.canonical import SystemMapping

    warehouse = tmp_path / "wh.duckdb"
    ROWS = 250_000  # noqa: N806 (two full row groups and a small one)
    sql(warehouse, "CREATE SCHEMA raw_test; CREATE TABLE raw_test.customers AS SELECT i AS id, "
                   "'Company ' || i AS name, 'c' || i || '@x' || (i % 97) || '.com' AS email "
                   "FROM range(?) r(i)", [ROWS])
    mapping = SystemMapping(
        id="test.customers__customer", source_system="test", source_table="customers",
        entity_type="customer", status="approved",
        mapping_rules=[R(["name"], ["name"]), R(["email"], ["website"])])  # no UDF: quick
    table = 'staged."customer"'

    def run(i: int) -> tuple[int, int]:
        sql(warehouse, "UPDATE raw_test.customers SET name = 'Changed ' || id "
                       "WHERE hash(id + ?) % 50 = 0", [i])
        result = stage_entity(warehouse, ENTITIES["customer"], [mapping], KEYS)
        assert result.mode == "incremental" and 0.015 * ROWS < result.read < 0.025 * ROWS
        return storage(warehouse, table)

    assert stage_entity(warehouse, ENTITIES["customer"], [mapping], KEYS).mode == "full"
    groups, stored = storage(warehouse, table)
    assert stored == ROWS
    deferred = [run(i) for i in range(3)]
    # not vacuumed: deleted rows still stored; but neither row groups nor tombstones pile up
    assert all(ROWS < kept <= ROWS * (1 + wh.TOMBSTONE_SHARE) for _, kept in deferred)
    assert all(g <= groups + 1 + wh.SPARE_ROW_GROUPS for g, _ in deferred)
    monkeypatch.setattr(wh, "TOMBSTONE_SHARE", 0.0)
    assert run(3) == (groups, ROWS)  # compacted
    assert_equals_full_rebuild(warehouse, tmp_path, "customer", [mapping], KEYS)
