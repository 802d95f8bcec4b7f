"""Incremental profiling: a table is profiled again only when its landed data changed
materially since its stored profile (schema, changed-row share, age); else the profile is kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sync_platform.engines.profiling import load_profiles, profile_system, profile_system_run
from sync_platform.engines.profiling.incremental import (
    DEFAULT_CHANGE_THRESHOLD,
    THRESHOLD_ENV,
    decide_table,
    schema_change,
)
from sync_platform.engines.warehouse import connect
from sync_platform_tests.conftest import execute_sql as sql

CONTACTS = "raw_crm.contacts"


def rows(warehouse, statement: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(statement).fetchall()


def edit(warehouse, n: int, offset: int = 0) -> None:
    """Edit the email of `n` contacts (ordered by id, from `offset`)."""
    sql(warehouse, f"UPDATE {CONTACTS} SET email = 'changed-' || id || '@example.org' WHERE id IN "
                   f"(SELECT id FROM {CONTACTS} ORDER BY id LIMIT {n} OFFSET {offset})")


def contacts_rows(warehouse) -> int:
    return rows(warehouse, f"SELECT count(*) FROM {CONTACTS}")[0][0]


def test_first_run_profiles_then_unchanged_tables_are_kept(warehouse_copy):
    first = profile_system_run(warehouse_copy, "crm")
    assert set(first.profiled) == {"accounts", "contacts"} and first.kept == []
    assert {d.reason for d in first.decisions.values()} == {"no stored profile"}
    stamp = rows(warehouse_copy, "SELECT max(profiled_at) FROM meta.column_profiles")
    again = profile_system_run(warehouse_copy, "crm")
    assert again.profiled == [] and set(again.kept) == {"accounts", "contacts"}
    assert again.decisions["contacts"].reason == (
        f"kept (0 changed rows since profile, 0.0%, below threshold {DEFAULT_CHANGE_THRESHOLD:.0%})")
    assert again.profiles == first.profiles  # the stored profiles, every field
    assert rows(warehouse_copy, "SELECT max(profiled_at) FROM meta.column_profiles") == stamp
    assert load_profiles(warehouse_copy, "crm") == first.profiles
    state = rows(warehouse_copy, "SELECT table_name, row_count, reason FROM meta.profiled_tables "
                                 "ORDER BY 1")
    assert [r[0] for r in state] == ["accounts", "contacts"]
    assert rows(warehouse_copy, "SELECT count(*) FROM meta.profiled_row_hashes WHERE "
                                "table_name = 'contacts'") == [(contacts_rows(warehouse_copy),)]


def test_small_changes_are_kept_and_add_up_until_the_threshold(warehouse_copy):
    profile_system(warehouse_copy, "crm")
    total = contacts_rows(warehouse_copy)
    limit = int(total * DEFAULT_CHANGE_THRESHOLD)
    edit(warehouse_copy, limit - 4)
    small = profile_system_run(warehouse_copy, "crm").decisions["contacts"]
    assert not small.profiled and small.changed_rows == limit - 4
    assert small.reason.startswith(f"kept ({limit - 4} changed rows since profile, ")
    # the next change is small too, but counted against the profiled rows: together they cross
    edit(warehouse_copy, 6, offset=limit)
    crossed = profile_system_run(warehouse_copy, "crm").decisions["contacts"]
    assert crossed.profiled and crossed.changed_rows == limit + 2
    assert crossed.reason.startswith(f"{limit + 2} changed rows since profile")
    assert profile_system_run(warehouse_copy, "crm").decisions["contacts"].changed_rows == 0


def test_inserts_and_deletes_count_and_large_changes_are_profiled(warehouse_copy):
    profile_system(warehouse_copy, "crm")
    total = contacts_rows(warehouse_copy)
    sql(warehouse_copy, f"DELETE FROM {CONTACTS} WHERE id IN (SELECT id FROM {CONTACTS} ORDER BY id "
                        f"LIMIT {total // 4})")
    run = profile_system_run(warehouse_copy, "crm")
    decision = run.decisions["contacts"]
    assert decision.profiled and (decision.new_rows, decision.gone_rows) == (0, total // 4)
    assert decision.row_count == decision.profiled_rows - total // 4
    assert {p.row_count for p in run.profiles if p.table_name == "contacts"} == {total - total // 4}
    assert run.decisions["accounts"].profiled is False


def test_schema_changes_are_always_profiled(warehouse_copy):
    profile_system(warehouse_copy, "crm")
    sql(warehouse_copy, f"ALTER TABLE {CONTACTS} ADD COLUMN loyalty_tier VARCHAR")
    run = profile_system_run(warehouse_copy, "crm")
    assert run.decisions["contacts"].reason == "schema changed: added loyalty_tier"
    assert "loyalty_tier" in {p.column_name for p in run.profiles if p.table_name == "contacts"}
    sql(warehouse_copy, f"ALTER TABLE {CONTACTS} DROP COLUMN loyalty_tier",
        f"ALTER TABLE {CONTACTS} ALTER COLUMN email TYPE VARCHAR[] USING [email]")
    reason = profile_system_run(warehouse_copy, "crm").decisions["contacts"].reason
    assert reason == "schema changed: removed loyalty_tier; retyped email VARCHAR -> VARCHAR[]"
    assert schema_change([("a", "INTEGER")], [("a", "INTEGER")]) == ""


def test_age_threshold_setting_and_force(warehouse_copy, monkeypatch):
    profile_system(warehouse_copy, "crm")
    sql(warehouse_copy, "UPDATE meta.profiled_tables SET profiled_at = profiled_at - INTERVAL 8 DAY "
                        "WHERE table_name = 'accounts'")
    run = profile_system_run(warehouse_copy, "crm")
    assert run.decisions["accounts"].profiled and "h old (max age 168 h)" in run.decisions[
        "accounts"].reason
    assert not run.decisions["contacts"].profiled
    assert not profile_system_run(warehouse_copy, "crm", oldest=timedelta(hours=1)).profiled
    edit(warehouse_copy, 1)
    assert profile_system_run(warehouse_copy, "crm").profiled == []
    monkeypatch.setenv(THRESHOLD_ENV, "0")  # any change profiles again
    assert profile_system_run(warehouse_copy, "crm").profiled == ["contacts"]
    assert set(profile_system_run(warehouse_copy, "crm", force=True).profiled) == {
        "accounts", "contacts"}
    monkeypatch.setenv(THRESHOLD_ENV, "5")
    with pytest.raises(ValueError, match="share in"):
        profile_system_run(warehouse_copy, "crm")


def test_decide_table_rules():
    now = datetime(2026, 1, 10)
    stored = {"row_count": 100, "columns": [("a", "INTEGER")], "profiler_version": 1,
              "profiled_at": datetime(2026, 1, 9)}

    def decide(changes, **kwargs):
        return decide_table("t", 100, [("a", "INTEGER")], kwargs.pop("stored", stored), changes,
                            0.05, timedelta(days=7), now=now, **kwargs)

    assert not decide((4, 4)).profiled
    assert decide((5, 0)).profiled and decide((0, 5)).profiled  # at the threshold
    assert decide((3, 5)).changed_rows == 5
    assert decide(None, stored=None).reason == "no stored profile"
    assert "profiler version 0" in decide((0, 0), stored={**stored, "profiler_version": 0}).reason
    assert decide((0, 0), force=True).reason == "forced"
    empty = {**stored, "row_count": 0}
    assert decide((1, 0), stored=empty).profiled and not decide((0, 0), stored=empty).profiled
