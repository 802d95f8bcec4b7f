"""Incremental survivorship equals a full rebuild, row for row, after every kind of change:
edits, inserts, hard and soft deletes, unresolved records, merges, splits and swaps of xref
clusters, rounds of random changes, and a change of the rules."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sync_platform.engines.survivorship import RuleSpec, build_golden, load_rules
from sync_platform.engines.survivorship.engine import STATE_SUFFIX
from sync_platform_tests.conftest import execute_sql as sql
from sync_platform_tests.engines.survivorship.test_survivorship import (
    ENTITIES,
    MAPPINGS,
    SOR,
    TABLES,
    make_warehouse,
    query,
)

T0, T1, T2, T3 = (datetime(2026, 1, d, 12) for d in (1, 2, 3, 4))
POOLS = {
    "first_name": ["Ann", "Anne", "Ana", "Bob", None, ""],
    "last_name": ["Smith", "Smyth", "Jones"],
    "email": ["a@x.com", "b@x.com", "c@y.org", None],
    "phone": ["+1 555 0100", "+1 555 0101", None],
    "title": ["CEO", "CTO", None, "  "],
    "company_name": ["Acme", "Acme Inc", "Globex", None],
    "city": ["Berlin", "Paris", None],
    "lifecycle_stage": ["lead", "customer", "subscriber", "other", None],
    "email_opt_out": [True, False, None],
    "created_at": [datetime(2020, 1, 1), datetime(2021, 6, 1), None],
}
EMPLOYEE_POOLS = {
    "employee_number": ["E1", "E2", None],
    "first_name": ["Robert", "Bob", "Rob"],
    "last_name": ["Brown", "Browne"],
    "department": ["Sales", "Ops", None],
    "annual_salary": [85000, 86000, None],
    "hire_date": [datetime(2020, 1, 1).date(), datetime(2019, 5, 2).date(), None],
}
SYSTEMS = {"contact": ["crm", "marketing", "accounting"], "employee": ["hr", "payroll"]}


def random_record(rng: random.Random, entity: str, golden_id: str, source_id: str) -> dict:
    pools = POOLS if entity == "contact" else EMPLOYEE_POOLS
    system = rng.choice(SYSTEMS[entity])
    record = {"golden_id": golden_id, "source_system": system, "source_id": f"{system}-{source_id}",
              "modified_at": datetime(2025, 1, 1) + timedelta(days=rng.randrange(30))}
    record.update({f: rng.choice(pool) for f, pool in pools.items()})
    if entity == "contact":
        record["is_deleted"] = rng.random() < 0.15
    return record


def seeded(path: Path, entity: str, golden_ids: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    records = [random_record(rng, entity, f"G{g:03d}", f"{g}-{i}")
               for g in range(golden_ids) for i in range(rng.randint(1, 4))]
    return make_warehouse(path, entity, records)


def build(path: Path, entity: str, now: datetime, **kwargs):
    return build_golden(path, ENTITIES[entity], load_rules(MAPPINGS, entity, SOR), SOR, now=now,
                        **kwargs)


def tables(path: Path, entity: str) -> dict[str, list[tuple]]:
    """The three outputs, golden without updated_at, in a canonical order."""
    return {
        entity: query(path, f'SELECT * EXCLUDE (updated_at) FROM golden."{entity}" ORDER BY ALL'),
        "lineage": query(path, f'SELECT * FROM golden."{entity}_lineage" ORDER BY ALL'),
        "conflicts": query(path, f'SELECT * FROM golden."{entity}_conflicts" ORDER BY ALL'),
    }


def assert_equals_full_rebuild(path: Path, entity: str, now: datetime, tmp_path: Path) -> None:
    """`path` (after an incremental run) against a full rebuild of a copy, row for row."""
    copy = tmp_path / f"full-{now:%d}-{random.random():.6f}.duckdb"
    shutil.copyfile(path, copy)
    full = build(copy, entity, now, full_rebuild=True)
    assert full.mode == "full" and full.reason == "full_rebuild requested"
    incremental, rebuilt = tables(path, entity), tables(copy, entity)
    for name in incremental:
        assert incremental[name] == rebuilt[name], name
    assert len(rebuilt[entity]) > 0


def insert(path: Path, entity: str, records: list[dict]) -> None:
    """Append staged rows (and xref rows for those with a golden id)."""
    ent = ENTITIES[entity]
    rows = [{**{f: r.get(f) for f in ent.field_names}, "source_system": r["source_system"],
             "source_table": TABLES[r["source_system"]], "source_id": r["source_id"],
             "row_hash": "h", "staged_at": T0, "_enriched": []} for r in records]
    con = duckdb.connect(str(path))
    try:
        frame = pd.DataFrame(rows)
        con.register("rows_df", frame)
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f'INSERT INTO staged."{entity}" ({cols}) SELECT {cols} FROM rows_df')
        for r in records:
            if r.get("golden_id"):
                con.execute(f'INSERT INTO golden."{entity}_xref" VALUES (?, ?, ?, ?, 1.0, ?, ?)',
                            [r["source_system"], TABLES[r["source_system"]], r["source_id"],
                             r["golden_id"], "test", T0])
    finally:
        con.close()


def members(path: Path, entity: str, golden_id: str) -> list[tuple[str, str]]:
    return query(path, f"SELECT source_system, source_id FROM golden.\"{entity}_xref\" "
                       f"WHERE golden_id = '{golden_id}' ORDER BY ALL")


def test_explicit_changes_equal_a_full_rebuild(tmp_path):
    path = seeded(tmp_path / "wh.duckdb", "contact", 40)
    first = build(path, "contact", T0)
    assert (first.mode, first.reason) == ("full", "first run (no golden.contact)")
    assert first.recomputed_golden_ids == first.golden_records == 40
    before = {r[0]: r[1:] for r in query(path, "SELECT golden_id, updated_at FROM golden.contact")}

    # pick clusters by shape so every change below has something to act on
    sizes = dict(query(path, "SELECT golden_id, count(*) FROM golden.contact_xref GROUP BY 1"))
    multi = sorted(g for g, n in sizes.items() if n >= 2)
    single = sorted(g for g, n in sizes.items() if n == 1)
    edit, recency, grow, shrink, vanish, soft_all, soft_one, merge_into, merged, split, \
        unresolve = multi[:11]
    swap_a, swap_b = single[:2]
    rid = {g: members(path, "contact", g) for g in sizes}
    statements = [
        # edits: a value, and only modified_at (recency decides most_recent fields)
        f"UPDATE staged.contact SET email = 'edited@x.com', first_name = 'Annabelle' "
        f"WHERE source_id = '{rid[edit][0][1]}'",
        f"UPDATE staged.contact SET modified_at = TIMESTAMP '2025-12-31' "
        f"WHERE source_id = '{rid[recency][-1][1]}'",
        # hard deletes: one record, and every record of a golden id (it must disappear)
        f"DELETE FROM staged.contact WHERE source_id = '{rid[shrink][0][1]}'",
        f"DELETE FROM golden.contact_xref WHERE source_id = '{rid[shrink][0][1]}'",
        f"DELETE FROM staged.contact WHERE source_id IN "
        f"(SELECT source_id FROM golden.contact_xref WHERE golden_id = '{vanish}')",
        f"DELETE FROM golden.contact_xref WHERE golden_id = '{vanish}'",
        # soft deletes: all records of one golden id, one record of another
        f"UPDATE staged.contact SET is_deleted = true WHERE source_id IN "
        f"(SELECT source_id FROM golden.contact_xref WHERE golden_id = '{soft_all}')",
        f"UPDATE staged.contact SET is_deleted = true, first_name = 'Zed' "
        f"WHERE source_id = '{rid[soft_one][0][1]}'",
        # merge: every record of `merged` joins `merge_into`; split: one record leaves
        f"UPDATE golden.contact_xref SET golden_id = '{merge_into}' WHERE golden_id = '{merged}'",
        f"UPDATE golden.contact_xref SET golden_id = 'G900' WHERE source_id = '{rid[split][0][1]}'",
        # a record loses its cluster (unresolved: staged, no xref row)
        f"DELETE FROM golden.contact_xref WHERE source_id = '{rid[unresolve][0][1]}'",
        # two single-record golden ids swap their records
        f"UPDATE golden.contact_xref SET golden_id = CASE golden_id WHEN '{swap_a}' THEN "
        f"'{swap_b}' ELSE '{swap_a}' END WHERE golden_id IN ('{swap_a}', '{swap_b}')",
    ]
    sql(path, *statements)
    insert(path, "contact", [  # into an existing golden id, and a brand-new one of two records
        {**random_record(random.Random(1), "contact", grow, "new-1"), "lifecycle_stage": "evangelist"},
        random_record(random.Random(2), "contact", "G901", "new-2"),
        random_record(random.Random(3), "contact", "G901", "new-3"),
        random_record(random.Random(4), "contact", None, "stray"),  # unresolved
    ])

    result = build(path, "contact", T1)
    assert (result.mode, result.reason) == ("incremental", "")
    touched = {edit, recency, grow, shrink, vanish, soft_all, soft_one, merge_into, merged, split,
               unresolve, swap_a, swap_b, "G900", "G901"}
    assert result.removed_golden_ids == 2  # vanish, merged
    assert result.recomputed_golden_ids == len(touched) - 2
    assert result.unresolved_records == 2
    assert_equals_full_rebuild(path, "contact", T1, tmp_path)
    golden_ids = {r[0] for r in query(path, "SELECT golden_id FROM golden.contact")}
    assert vanish not in golden_ids and merged not in golden_ids and {"G900", "G901"} <= golden_ids
    # untouched golden ids keep their rows (updated_at included); recomputed ones are stamped
    after = {r[0]: r[1:] for r in query(path, "SELECT golden_id, updated_at FROM golden.contact")}
    assert {g for g, (at,) in after.items() if at == T1} == touched - {vanish, merged}
    assert all(after[g] == before[g] for g in after if g not in touched)
    assert query(path, "SELECT count(*) FROM golden.contact_lineage WHERE golden_id IN "
                       f"('{vanish}', '{merged}')") == [(0,)]

    # nothing changed since: nothing is recomputed and nothing moves
    snapshot = query(path, "SELECT * FROM golden.contact ORDER BY ALL")
    again = build(path, "contact", T2)
    assert (again.mode, again.changed_records, again.recomputed_golden_ids) == ("incremental", 0, 0)
    assert query(path, "SELECT * FROM golden.contact ORDER BY ALL") == snapshot
    assert (again.golden_records, again.lineage_rows, again.conflicts) == (
        result.golden_records, result.lineage_rows, result.conflicts)


@pytest.mark.parametrize("entity", ["contact", "employee"])
def test_rounds_of_random_changes_equal_a_full_rebuild(tmp_path, entity):
    path = seeded(tmp_path / "wh.duckdb", entity, 60, seed=11)
    build(path, entity, T0)
    rng = random.Random(5)
    next_id = 1000
    for round_, now in enumerate((T1, T2, T3)):
        keys = query(path, f'SELECT x.source_id, x.golden_id FROM golden."{entity}_xref" x '
                           "ORDER BY ALL")
        golden_ids = sorted({g for _, g in keys})
        statements = []
        for source_id, _ in rng.sample(keys, 8):
            action = rng.choice(["edit", "recency", "delete", "move", "new_cluster", "unresolve"])
            where = f"WHERE source_id = '{source_id}'"
            if action == "edit":
                column = "first_name" if rng.random() < 0.5 else "last_name"
                statements.append(f"UPDATE staged.\"{entity}\" SET {column} = 'R{round_}' {where}")
            elif action == "recency":
                statements.append(f"UPDATE staged.\"{entity}\" SET modified_at = "
                                  f"TIMESTAMP '2025-06-{round_ + 10}' {where}")
            elif action == "delete":
                statements += [f'DELETE FROM staged."{entity}" {where}',
                               f'DELETE FROM golden."{entity}_xref" {where}']
            elif action == "move":  # merge-like: into another existing golden id
                statements.append(f'UPDATE golden."{entity}_xref" SET golden_id = '
                                  f"'{rng.choice(golden_ids)}' {where}")
            elif action == "new_cluster":  # split-like
                statements.append(f'UPDATE golden."{entity}_xref" SET golden_id = '
                                  f"'N{next_id}' {where}")
                next_id += 1
            else:
                statements.append(f'DELETE FROM golden."{entity}_xref" {where}')
        # one whole-cluster merge per round
        a, b = rng.sample(golden_ids, 2)
        statements.append(f"UPDATE golden.\"{entity}_xref\" SET golden_id = '{a}' "
                          f"WHERE golden_id = '{b}'")
        sql(path, *statements)
        insert(path, entity, [random_record(rng, entity, rng.choice(golden_ids + [f"N{next_id}"]),
                                            f"r{round_}-{i}") for i in range(4)])
        next_id += 1
        result = build(path, entity, now)
        assert result.mode == "incremental"
        assert 0 < result.recomputed_golden_ids < result.golden_records
        assert_equals_full_rebuild(path, entity, now, tmp_path)


def test_rules_change_or_missing_state_rebuilds_everything(tmp_path):
    path = seeded(tmp_path / "wh.duckdb", "contact", 10)
    build(path, "contact", T0)
    rules = load_rules(MAPPINGS, "contact", SOR)
    changed = rules.model_copy(update={"fields": {**rules.fields,
                                                  "first_name": RuleSpec(rule="most_recent")}})
    result = build_golden(path, ENTITIES["contact"], changed, SOR, now=T1)
    assert result.mode == "full" and "rules" in result.reason
    assert result.recomputed_golden_ids == result.golden_records == 10
    assert build_golden(path, ENTITIES["contact"], changed, SOR, now=T2).mode == "incremental"
    sql(path, f'DROP TABLE golden."contact{STATE_SUFFIX}"')
    result = build_golden(path, ENTITIES["contact"], changed, SOR, now=T3)
    assert result.mode == "full" and result.reason.startswith("first run")
