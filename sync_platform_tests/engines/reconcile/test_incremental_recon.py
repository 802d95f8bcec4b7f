"""Incremental reconciliation: after any series of changes to the golden records, their xref and
the target's live copy, an incremental `reconcile_target` leaves the same recon table (but
reconciled_at), recon.summary and counts as a full reconciliation of a copy of the warehouse."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.reconcile import golden as golden_mod
from sync_platform.engines.reconcile.golden import ReconResult, reconcile_target
from sync_platform.engines.reconcile.ownership import TargetTable
from sync_platform.engines.reconcile.publish import publish
from sync_platform_tests.conftest import execute_sql as sql
from sync_platform_tests.engines.reconcile.test_golden_recon import target

# target(): shop.people, `first` and `stage` with no declared kind (detected), `score` a number
# by its types, `dob` and `score` personal data, `stage` owned by the target

FIRST = ["Ada", "Grace", "Alan", "Kurt", "Emmy", "John", "Barbara", "Edsger", "Donald", "Hedy"]
STAGES = ["lead", "customer", "subscriber"]
COUNTS = ("golden_records", "target_rows", "matched", "missing_in_target", "extra_in_target",
          "mismatched_records", "field_mismatches", "pushable", "previous_target_rows",
          "differences", "strictness")


def _phone(i: int) -> str:
    return f"+1415555{i % 10000:04d}"


def warehouse(tmp_path: Path, n: int = 120, seed: int = 7) -> Path:
    """n golden records; the target holds most of them (by xref, some only by the golden id in
    ext_id), in its own formats, some really different, plus rows nobody claims."""
    rng = random.Random(seed)
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA golden; CREATE SCHEMA raw_shop")
    con.execute("""CREATE TABLE golden.contact (golden_id VARCHAR, first_name VARCHAR, email VARCHAR,
        phone VARCHAR, birth_date DATE, national_id VARCHAR, lifecycle_stage VARCHAR, is_deleted BOOLEAN)""")
    con.execute("""CREATE TABLE golden.contact_xref (source_system VARCHAR, source_table VARCHAR,
        source_id VARCHAR, golden_id VARCHAR, review_status VARCHAR)""")
    con.execute("""CREATE TABLE raw_shop.people (id BIGINT, ext_id VARCHAR, first VARCHAR, mail VARCHAR,
        tel VARCHAR, dob VARCHAR, score DOUBLE, stage VARCHAR, is_deleted BOOLEAN)""")
    golden, xref, live = [], [], []
    for i in range(n):
        gid, name = f"g{i}", rng.choice(FIRST)
        g = (gid, name, f"{name.lower()}{i}@x.org", _phone(i) if i % 9 else None,
             f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", str(1000 + i), rng.choice(STAGES),
             i % 31 == 30)
        golden.append(g)
        xref.append(("crm", "contacts", f"c{i}", gid, None))
        fate = rng.random()
        if fate < 0.1:
            continue  # not in the target
        key = 10 * i + 1
        if fate > 0.15:
            xref.append(("shop", "people", str(key), gid, None))  # else found by ext_id alone
        first = rng.choice([name, f" {name} ", name.upper() if rng.random() < 0.3 else name + "x"])
        tel = f"(415) 555-{i % 10000:04d}" if g[3] and rng.random() < 0.5 else g[3]
        live.append((key, gid if rng.random() < 0.9 else None, first, g[2].upper(), tel,
                     f"0{1 + i % 9}/1{i % 10}/19{50 + i % 50}", float(1000 + i + (rng.random() < 0.1)),
                     g[6] if rng.random() < 0.9 else "lead", False))
    for j in range(5):
        live.append((5000 + j, None, "Nobody", f"nobody{j}@x.org", None, None, None, "lead", False))
    con.executemany("INSERT INTO golden.contact VALUES (?, ?, ?, ?, ?, ?, ?, ?)", golden)
    con.executemany("INSERT INTO golden.contact_xref VALUES (?, ?, ?, ?, ?)", xref)
    con.executemany("INSERT INTO raw_shop.people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", live)
    con.close()
    return path


def snapshot(con: duckdb.DuckDBPyConnection, t: TargetTable) -> tuple[list, list]:
    """The recon table (but reconciled_at) and this target's recon.summary, sorted."""
    rows = con.execute(
        f'SELECT golden_id, target_key, kind, field, golden_value, target_value, owner, pushable '
        f'FROM recon."{t.name}"').fetchall()
    summary = con.execute(
        "SELECT system, entity, target_table, kind, field, owner, pushable, differences "
        "FROM recon.summary WHERE system = ? AND entity = ? AND target_table = ?",
        [t.system, t.entity, t.table]).fetchall()
    return sorted(rows, key=repr), sorted(summary, key=repr)


def counts(r: ReconResult) -> dict:
    return {k: getattr(r, k) for k in COUNTS}


def full_of_copy(path: Path, t: TargetTable, strictness: str) -> tuple[ReconResult, tuple]:
    copy = path.with_name("copy.duckdb")
    for f in (copy, copy.with_name(copy.name + ".wal")):
        f.unlink(missing_ok=True)
    shutil.copy(path, copy)
    if path.with_name(path.name + ".wal").exists():
        shutil.copy(path.with_name(path.name + ".wal"), copy.with_name(copy.name + ".wal"))
    with duckdb.connect(str(copy)) as con:
        result = reconcile_target(con, t, strictness, full=True)
        return result, snapshot(con, t)


def reconcile_and_compare(path: Path, t: TargetTable, strictness: str = "normalized",
                          expect: str = "incremental") -> ReconResult:
    """Reconcile (incrementally, unless the state says otherwise), then check it against a full
    reconciliation of a copy taken just before."""
    copy_before = path.with_name("before.duckdb")
    shutil.copy(path, copy_before)  # the connection is closed: the file is whole
    with duckdb.connect(str(path)) as con:
        got = reconcile_target(con, t, strictness)
        got_snapshot = snapshot(con, t)
    assert got.mode == expect, got.reason
    want, want_snapshot = full_of_copy(copy_before, t, strictness)
    assert want.mode == "full"
    assert got_snapshot[0] == want_snapshot[0]
    assert got_snapshot[1] == want_snapshot[1]
    assert counts(got) == counts(want)
    return got


CHANGES: dict[str, tuple[str, ...]] = {
    "golden compared field": (
        "UPDATE golden.contact SET first_name = 'Changed' WHERE golden_id = 'g2'",),
    "live compared field": ("UPDATE raw_shop.people SET mail = 'other@x.org' WHERE id = 31",),
    "format only": (
        "UPDATE raw_shop.people SET tel = '415.555.' || right(tel, 4), first = ' ' || first || ' ' "
        "WHERE id IN (41, 51, 61) AND tel IS NOT NULL",),
    "new golden records": (
        "INSERT INTO golden.contact VALUES ('n1', 'New', 'new1@x.org', NULL, NULL, NULL, 'lead', "
        "false), ('n2', 'Newer', 'new2@x.org', '+14155550000', DATE '1990-01-01', '77', 'lead', false)",
        "INSERT INTO golden.contact_xref VALUES ('crm', 'contacts', 'cn1', 'n1', NULL), "
        "('shop', 'people', '5001', 'n2', NULL)"),
    "golden deleted (flag and row)": (
        "UPDATE golden.contact SET is_deleted = true WHERE golden_id IN ('g3', 'g4', 'g5')",
        "DELETE FROM golden.contact WHERE golden_id IN ('g6', 'g7')",
        "DELETE FROM golden.contact_xref WHERE golden_id IN ('g6', 'g7')"),
    "first target key": (
        "INSERT INTO raw_shop.people VALUES (7001, NULL, 'Ada', 'a@x.org', NULL, NULL, NULL, "
        "'lead', false)",
        "INSERT INTO golden.contact_xref SELECT 'shop', 'people', '7001', golden_id, NULL FROM "
        "golden.contact WHERE golden_id NOT IN (SELECT golden_id FROM golden.contact_xref "
        "WHERE source_system = 'shop') AND NOT is_deleted ORDER BY golden_id LIMIT 1"),
    "golden id written back to ext_id": (
        "UPDATE raw_shop.people SET ext_id = 'n1' WHERE id = 5002",),
    "target rows deleted": (
        "DELETE FROM raw_shop.people WHERE id IN (81, 91)",
        "UPDATE raw_shop.people SET is_deleted = true WHERE id = 101"),
    "extra target row": (
        "INSERT INTO raw_shop.people VALUES (9001, NULL, 'Extra', 'e@x.org', NULL, NULL, 3, 'lead', "
        "false)",),
    "relinked to another target key": (
        "UPDATE golden.contact_xref SET source_id = '5003' WHERE source_system = 'shop' "
        "AND source_id = '111'",),
    "merge of two golden ids": (
        "UPDATE golden.contact_xref SET golden_id = 'g12' WHERE golden_id = 'g13'",
        "DELETE FROM golden.contact WHERE golden_id = 'g13'",
        "UPDATE golden.contact SET email = 'merged@x.org' WHERE golden_id = 'g12'"),
    "duplicate and NULL target keys": (
        "INSERT INTO raw_shop.people VALUES (121, NULL, 'Twin', 'twin@x.org', NULL, NULL, NULL, "
        "'lead', false), (NULL, NULL, 'Nokey', 'nokey@x.org', NULL, NULL, NULL, 'lead', false)",),
    "duplicate gone, NULL key changed": (
        "DELETE FROM raw_shop.people WHERE id = 121 AND first = 'Twin'",
        "INSERT INTO raw_shop.people VALUES (NULL, NULL, 'Nokey2', NULL, NULL, NULL, NULL, 'lead', false)"),
    # `first` has no declared kind: the sampled rows say text, so a phone written two ways is a
    # difference; a kind inferred from these rows alone (as diff_relations would) says phone
    "phone-like values in a text column": (
        "UPDATE golden.contact SET first_name = '4155550199' WHERE golden_id IN ('g15', 'g16')",
        "UPDATE raw_shop.people SET first = '(415) 555-0199' WHERE id IN (SELECT CAST(source_id AS "
        "BIGINT) FROM golden.contact_xref WHERE source_system = 'shop' AND golden_id IN ('g15', "
        "'g16')) OR ext_id IN ('g15', 'g16')"),
    "identical duplicate rows": (  # a row repeated exactly on each side
        "INSERT INTO raw_shop.people SELECT * FROM raw_shop.people WHERE id = 171",
        "INSERT INTO golden.contact_xref SELECT * FROM golden.contact_xref WHERE source_system = "
        "'shop' AND source_id = '181'"),
    "a change beside the duplicates": (
        "UPDATE golden.contact SET first_name = 'Beside' WHERE golden_id = 'g19'",),
    "identical duplicates gone": (
        "DELETE FROM raw_shop.people WHERE id = 171",
        "INSERT INTO raw_shop.people VALUES (171, NULL, 'Back', NULL, NULL, NULL, NULL, 'lead', false)",
        "DELETE FROM golden.contact_xref WHERE source_system = 'shop' AND source_id = '181'",
        "INSERT INTO golden.contact_xref VALUES ('shop', 'people', '181', 'g18', NULL)"),
    "two golden records claim one key": (
        "INSERT INTO golden.contact_xref VALUES ('shop', 'people', '141', 'g20', NULL)",),
    "undo": (
        "UPDATE golden.contact SET first_name = (SELECT first_name FROM golden.contact WHERE "
        "golden_id = 'g1') WHERE golden_id = 'g2'",
        "UPDATE raw_shop.people SET is_deleted = false WHERE id = 101"),
}


def test_each_change_gives_the_full_result(tmp_path: Path) -> None:
    path, t = warehouse(tmp_path), target()
    first = reconcile_and_compare(path, t, expect="full")
    assert first.reason.startswith("no state") and first.differences > 20
    for name, statements in CHANGES.items():
        sql(path, *statements)
        got = reconcile_and_compare(path, t)
        assert got.affected_keys + got.affected_golden_ids > 0, name


def test_random_rounds_give_the_full_result(tmp_path: Path) -> None:
    path, t = warehouse(tmp_path, n=200, seed=11), target()
    reconcile_and_compare(path, t, expect="full")
    rng = random.Random(2024)
    next_key = [20000]

    def gid() -> str:
        return f"g{rng.randrange(220)}"

    def key() -> int:
        return rng.randrange(220) * 10 + 1 if rng.random() < 0.9 else 5000 + rng.randrange(5)

    def new_key() -> int:
        next_key[0] += 1
        return next_key[0]

    ops: list[Callable[[], list[str]]] = [
        lambda: [f"UPDATE golden.contact SET first_name = '{rng.choice(FIRST)}' WHERE golden_id = '{gid()}'"],
        lambda: [f"UPDATE golden.contact SET phone = NULL WHERE golden_id = '{gid()}'"],
        lambda: [f"UPDATE golden.contact SET lifecycle_stage = '{rng.choice(STAGES)}' "
                 f"WHERE golden_id = '{gid()}'"],
        lambda: [f"UPDATE golden.contact SET is_deleted = NOT coalesce(is_deleted, false) "
                 f"WHERE golden_id = '{gid()}'"],
        lambda: ["UPDATE golden.contact SET is_deleted = NOT coalesce(is_deleted, false) WHERE "
                 "golden_id = (SELECT golden_id FROM golden.contact WHERE golden_id NOT IN (SELECT "
                 "golden_id FROM golden.contact_xref WHERE source_system = 'shop') ORDER BY golden_id "
                 f"LIMIT 1 OFFSET {rng.randrange(5)})"],  # one without a target key
        lambda: [f"UPDATE raw_shop.people SET first = upper(first) WHERE id = {key()}"],
        lambda: [f"UPDATE raw_shop.people SET first = first || 'y' WHERE id = {key()}"],
        lambda: (lambda g: [  # phone-like values in a column detected as text
            f"UPDATE golden.contact SET first_name = '4155550123' WHERE golden_id = '{g}'",
            f"UPDATE raw_shop.people SET first = '415-555-0123' WHERE ext_id = '{g}' OR id IN "
            f"(SELECT CAST(source_id AS BIGINT) FROM golden.contact_xref WHERE golden_id = '{g}' "
            f"AND source_system = 'shop')"])(gid()),
        lambda: [f"UPDATE raw_shop.people SET score = score + 1 WHERE id = {key()}"],
        lambda: [f"UPDATE raw_shop.people SET ext_id = '{gid()}' WHERE id = {key()}"],
        lambda: [f"UPDATE raw_shop.people SET is_deleted = NOT is_deleted WHERE id = {key()}"],
        lambda: [f"DELETE FROM raw_shop.people WHERE id = {key()}"],
        lambda: [f"INSERT INTO raw_shop.people VALUES ({new_key()}, NULL, 'Extra', NULL, NULL, "
                 f"NULL, 1, 'lead', false)"],
        lambda: [f"INSERT INTO raw_shop.people SELECT {key()}, ext_id, first, mail, tel, dob, score, "
                 f"stage, false FROM raw_shop.people USING SAMPLE 1 ROWS"],  # a duplicate key
        lambda: [f"UPDATE golden.contact_xref SET source_id = '{key()}' WHERE source_system = 'shop' "
                 f"AND golden_id = '{gid()}'"],  # relinked
        lambda: [f"INSERT INTO golden.contact_xref VALUES ('shop', 'people', '{key()}', '{gid()}', NULL)"],
        lambda: [f"INSERT INTO raw_shop.people SELECT * FROM raw_shop.people WHERE id = {key()}"],
        lambda: ["INSERT INTO golden.contact_xref SELECT * FROM golden.contact_xref WHERE "
                 f"source_system = 'shop' AND golden_id = '{gid()}'"],  # identical repeats
        lambda: [f"DELETE FROM golden.contact_xref WHERE source_system = 'shop' AND golden_id = '{gid()}'"],
        lambda: (lambda k: [
            f"INSERT INTO golden.contact VALUES ('{k}', 'Born', '{k}@x.org', NULL, NULL, NULL, "
            f"'lead', false)",
            f"INSERT INTO golden.contact_xref VALUES ('shop', 'people', '{key()}', '{k}', NULL)"
            if rng.random() < 0.5 else "SELECT 1"])(f"b{new_key()}"),
        lambda: (lambda a, b: [  # merge b into a
            f"UPDATE golden.contact_xref SET golden_id = '{a}' WHERE golden_id = '{b}'",
            f"DELETE FROM golden.contact WHERE golden_id = '{b}'"])(gid(), gid()),
        lambda: ["DELETE FROM golden.contact WHERE golden_id = '" + gid() + "'"],
        lambda: ["INSERT INTO raw_shop.people VALUES (NULL, NULL, 'Nokey', NULL, NULL, NULL, NULL, "
                 "'lead', false)"] if rng.random() < 0.3 else ["DELETE FROM raw_shop.people WHERE id IS NULL"],
    ]
    for _ in range(15):
        statements = [s for _ in range(rng.randint(1, 8)) for s in rng.choice(ops)()]
        sql(path, *statements)
        reconcile_and_compare(path, t)


def test_nothing_changed_affects_nothing(tmp_path: Path) -> None:
    path, t = warehouse(tmp_path), target()
    with duckdb.connect(str(path)) as con:
        full = reconcile_target(con, t)
        again = reconcile_target(con, t)
    assert (full.mode, again.mode) == ("full", "incremental")
    assert (again.affected_keys, again.affected_golden_ids) == (0, 0)
    assert counts(again) | {"previous_target_rows": None} == counts(full)
    assert again.previous_target_rows == full.target_rows


def test_what_forces_a_full_run(tmp_path: Path) -> None:
    path, t = warehouse(tmp_path), target()
    with duckdb.connect(str(path)) as con:
        reconcile_target(con, t)
        exact = reconcile_target(con, t, "exact")
        assert exact.mode == "full" and exact.reason == "fingerprint changed: strictness"
        again = reconcile_target(con, t, "exact")
        assert again.mode == "incremental"
        asked = reconcile_target(con, t, "exact", full=True)
        assert asked.mode == "full" and "full=True" in asked.reason
        t.columns[0].owner = "shop"  # `first` owned by the target now
        owner = reconcile_target(con, t, "exact")
        assert owner.mode == "full" and owner.reason == "fingerprint changed: columns"
        con.execute('DROP TABLE recon."contact__shop"')
        dropped = reconcile_target(con, t, "exact")
        assert dropped.mode == "full" and "missing" in dropped.reason
        con.execute('DELETE FROM recon."contact__shop" WHERE kind = \'extra_in_target\'')
        tampered = reconcile_target(con, t, "exact")
        assert tampered.mode == "full" and "was changed" in tampered.reason
        assert tampered.extra_in_target == 5


def test_a_detected_kind_change_forces_a_full_run(tmp_path: Path) -> None:
    """`stage` has no declared kind: when its values turn into emails on both sides the
    detected kind changes, and so would the outcome of rows that did not change."""
    path, t = warehouse(tmp_path), target()
    reconcile_and_compare(path, t, expect="full")
    sql(path, "UPDATE golden.contact SET lifecycle_stage = lifecycle_stage || '@x.org'",
        "UPDATE raw_shop.people SET stage = upper(stage) || '@X.ORG' WHERE id % 20 != 1")
    got = reconcile_and_compare(path, t, expect="full")
    assert got.reason == "fingerprint changed: kinds"


def test_a_failed_run_leaves_recon_and_state_consistent(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path, t = warehouse(tmp_path), target()
    reconcile_and_compare(path, t, expect="full")
    sql(path, *CHANGES["golden compared field"], *CHANGES["relinked to another target key"])

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash after the recon rows were replaced")

    with monkeypatch.context() as m, duckdb.connect(str(path)) as con:
        m.setattr(golden_mod, "_finish", boom)
        with pytest.raises(RuntimeError):
            reconcile_target(con, t)
    sql(path, *CHANGES["undo"])
    reconcile_and_compare(path, t)


def test_state_tables_are_not_published(tmp_path: Path) -> None:
    path, t = warehouse(tmp_path), target()
    with duckdb.connect(str(path)) as con:
        reconcile_target(con, t)
        state = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'recon' "
                            "AND table_name LIKE '\\_state\\_%' ESCAPE '\\'").fetchall()
    assert len(state) == 3
    done = publish(path)
    with duckdb.connect(str(done.path), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'recon'").fetchall()}
    assert tables == {"contact__shop", "summary", "runs"}
