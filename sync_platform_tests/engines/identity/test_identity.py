"""Identity resolution: over-merge guards, fuzzy matches, rules, stable ids, incremental runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.identity import MatchConfig, evaluate, resolve, xref_clusters
from sync_platform.engines.identity.evaluate import group_members
from sync_platform_tests.conftest import execute_sql
from sync_platform_tests.engines.identity.synthetic import (
    chain_rows,
    customer_rows,
    people_rows,
    write_staged,
)
from sync_platform_tests.engines.identity.synthetic import person as _person

ENTITIES = load_entities()
CONTACT = ENTITIES["contact"]
CUSTOMER = ENTITIES["customer"]

SWITCHBOARD = "+13125550100"


HARD_CASES = [
    # a role inbox shared by two colleagues (and the switchboard)
    _person("crm", "H01", "Alice", "Brennan", "ap@hardcase.com", SWITCHBOARD),
    _person("marketing", "H02", "Carlos", "Mendoza", "AP@hardcase.com", SWITCHBOARD),
    # more colleagues behind the switchboard, no email
    _person("crm", "H03", "Grace", "Holloway", None, SWITCHBOARD),
    _person("marketing", "H04", "Ivan", "Petrov", None, SWITCHBOARD),
    # namesakes at one company: different emails and direct lines
    _person("crm", "H05", "John", "Smith", "john.smith@hardcase.com", "+13125550111"),
    _person("crm", "H06", "John", "Smith", "jsmith2@hardcase.com", "+13125550122"),
    # each namesake also appears in marketing (same email -> the deterministic rule)
    _person("marketing", "H07", "John", "Smith", "john.smith@hardcase.com", None),
    _person("marketing", "H08", "Johnny", "Smyth", "jsmith2@hardcase.com", None),
    # nickname + direct phone, no email on one side
    _person("crm", "H09", "Robert", "Kingsley", "robert.kingsley@hardcase.com", "+13125550133"),
    _person("marketing", "H10", "Bob", "Kingsley", None, "+13125550133"),
    # typo (transposition) in the last name, same direct phone
    _person("crm", "H11", "Katherine", "Ferguson", None, "+13125550144"),
    _person("marketing", "H12", "Katherine", "Fegruson", None, "(312) 555-0144"),
]
HARD_TRUTH = {("crm", "H01"): "alice", ("marketing", "H02"): "carlos", ("crm", "H03"): "grace",
              ("marketing", "H04"): "ivan", ("crm", "H05"): "smith1", ("crm", "H06"): "smith2",
              ("marketing", "H07"): "smith1", ("marketing", "H08"): "smith2",
              ("crm", "H09"): "kingsley", ("marketing", "H10"): "kingsley",
              ("crm", "H11"): "ferguson", ("marketing", "H12"): "ferguson"}


@pytest.fixture(scope="module")
def contact_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A resolved contact warehouse (synthetic population + hard cases); copy before writing."""
    rows, truth = people_rows()
    path = tmp_path_factory.mktemp("identity") / "warehouse.duckdb"
    write_staged(path, "contact", rows + HARD_CASES)
    resolve(path, CONTACT)
    return path, truth | HARD_TRUTH


def _copy(world: tuple[Path, dict], tmp_path: Path, name: str = "wh.duckdb") -> Path:
    target = tmp_path / name
    shutil.copyfile(world[0], target)
    return target


def _gid(xref: dict, system: str, sid: str) -> str:
    return xref[(system, sid)]


def test_population_quality(contact_world: tuple[Path, dict]) -> None:
    path, truth = contact_world
    scores = evaluate(xref_clusters(path, "contact"), truth)
    assert scores["pairwise_precision"] >= 0.97
    assert scores["pairwise_recall"] >= 0.9
    assert scores["bcubed_f1"] >= 0.97


def test_role_inbox_and_switchboard_do_not_merge(contact_world: tuple[Path, dict]) -> None:
    xref = xref_clusters(contact_world[0], "contact")
    ids = {_gid(xref, s, i) for s, i in [("crm", "H01"), ("marketing", "H02"), ("crm", "H03"),
                                         ("marketing", "H04")]}
    assert len(ids) == 4
    con = duckdb.connect(str(contact_world[0]), read_only=True)
    try:
        shared = set(con.execute("SELECT kind, value FROM golden.contact_shared").fetchall())
    finally:
        con.close()
    assert ("email", "ap@hardcase.com") in shared
    assert ("phone", SWITCHBOARD[-10:]) in shared


def test_namesakes_stay_apart_but_join_their_own_records(contact_world: tuple[Path, dict]) -> None:
    xref = xref_clusters(contact_world[0], "contact")
    assert _gid(xref, "crm", "H05") != _gid(xref, "crm", "H06")
    assert _gid(xref, "crm", "H05") == _gid(xref, "marketing", "H07")
    assert _gid(xref, "crm", "H06") == _gid(xref, "marketing", "H08")


def test_nickname_and_typo_match(contact_world: tuple[Path, dict]) -> None:
    xref = xref_clusters(contact_world[0], "contact")
    assert _gid(xref, "crm", "H09") == _gid(xref, "marketing", "H10")
    assert _gid(xref, "crm", "H11") == _gid(xref, "marketing", "H12")


def test_deterministic_email_rule_evidence(contact_world: tuple[Path, dict]) -> None:
    con = duckdb.connect(str(contact_world[0]), read_only=True)
    try:
        rows = con.execute("""SELECT probability, evidence FROM golden.contact_pairs
            WHERE key_a = 'crm|contacts|H06' AND key_b = 'marketing|contacts|H08'""").fetchall()
        ap = con.execute("""SELECT count(*) FROM golden.contact_pairs WHERE evidence LIKE
            'rule: same email%' AND (key_a LIKE '%H01' OR key_b LIKE '%H02')""").fetchall()
    finally:
        con.close()
    assert rows and rows[0][0] == 1.0 and rows[0][1].startswith("rule: same email")
    assert ap[0][0] == 0  # a role inbox is never a rule match


def test_weights_are_learned_and_persisted(contact_world: tuple[Path, dict]) -> None:
    con = duckdb.connect(str(contact_world[0]), read_only=True)
    try:
        rows = dict(((c, lv), w) for c, lv, w in con.execute(
            "SELECT comparison, level, match_weight FROM golden.contact_match_weights"
        ).fetchall())
    finally:
        con.close()
    assert rows[("email", 3)] > 0 > rows[("email", 0)]
    assert rows[("last_name", 3)] > rows[("last_name", 0)]


def test_rerun_keeps_every_golden_id(contact_world: tuple[Path, dict], tmp_path: Path) -> None:
    path = _copy(contact_world, tmp_path)
    before = xref_clusters(path, "contact")
    result = resolve(path, CONTACT)
    assert result.mode == "incremental" and result.changed_records == 0
    assert result.new_golden_ids == 0 and result.merges == 0 and result.splits == 0
    assert xref_clusters(path, "contact") == before
    resolve(path, CONTACT, full_rebuild=True)
    assert xref_clusters(path, "contact") == before


def _mutate(path: Path) -> None:
    """Edit, add and delete records the way a landing run would."""
    con = duckdb.connect(str(path))
    try:
        con.execute("""UPDATE staged.contact SET email = 'kate.f@hardcase.com', row_hash = 'x1'
                       WHERE source_id = 'H11'""")
        con.execute("""UPDATE staged.contact SET is_deleted = TRUE, row_hash = 'x2'
                       WHERE source_id = 'C00003'""")
        con.execute("""INSERT INTO staged.contact (first_name, last_name, email, phone,
                company_name, postal_code, is_deleted, source_system, source_table, source_id,
                row_hash)
            VALUES ('Kate', 'Ferguson', 'kate.f@hardcase.com', NULL, 'Hardcase Holdings', '60601',
                    FALSE, 'marketing', 'contacts', 'N01', 'n1'),
                   ('Zed', 'Quartermaine', 'zed.q@newco.io', '+14155550199', 'Newco', '94105',
                    FALSE, 'crm', 'contacts', 'N02', 'n2'),
                   ('Dana', 'Whitfield', 'info@hardcase.com', NULL, 'Hardcase Holdings', '60601',
                    FALSE, 'crm', 'contacts', 'N03', 'n3')""")
    finally:
        con.close()


def test_adding_records_keeps_existing_ids(contact_world: tuple[Path, dict],
                                           tmp_path: Path) -> None:
    path = _copy(contact_world, tmp_path)
    before = xref_clusters(path, "contact")
    _mutate(path)
    result = resolve(path, CONTACT)
    after = xref_clusters(path, "contact")
    assert result.mode == "incremental" and 3 <= result.changed_records < 20
    kept = {k: v for k, v in before.items() if k != ("crm", "C00003")}
    assert {k: after[k] for k in kept} == kept
    assert ("crm", "C00003") not in after
    assert after[("marketing", "N01")] == after[("crm", "H11")]  # joined an existing golden id
    assert after[("crm", "N02")] not in set(before.values())


def test_incremental_equals_full_rebuild(contact_world: tuple[Path, dict],
                                         tmp_path: Path) -> None:
    inc = _copy(contact_world, tmp_path, "inc.duckdb")
    full = _copy(contact_world, tmp_path, "full.duckdb")
    for path in (inc, full):
        _mutate(path)
    assert resolve(inc, CONTACT).mode == "incremental"
    assert resolve(full, CONTACT, full_rebuild=True).mode == "full"

    def partition(path: Path) -> set[frozenset]:
        return {frozenset(m) for m in group_members(xref_clusters(path, "contact")).values()}

    assert partition(inc) == partition(full)
    assert xref_clusters(inc, "contact") == xref_clusters(full, "contact")


def test_merge_and_split_are_logged(contact_world: tuple[Path, dict], tmp_path: Path) -> None:
    path = _copy(contact_world, tmp_path)
    before = xref_clusters(path, "contact")
    con = duckdb.connect(str(path))
    try:  # H09 drops its phone and gets an unrelated name: the Kingsley cluster splits
        con.execute("""UPDATE staged.contact SET phone = NULL, first_name = 'Zoltan',
            last_name = 'Abernathy', email = 'za@elsewhere.org', row_hash = 's1'
            WHERE source_id = 'H10'""")
        # H05/H07's records get H06's direct line and email: namesakes now are one person
        con.execute("""UPDATE staged.contact SET email = 'jsmith2@hardcase.com',
            phone = '+13125550122', row_hash = 'm1' WHERE source_id IN ('H05', 'H07')""")
    finally:
        con.close()
    resolve(path, CONTACT)
    after = xref_clusters(path, "contact")
    con = duckdb.connect(str(path), read_only=True)
    try:
        log = con.execute("SELECT old_id, new_id, kind FROM golden.contact_id_log").fetchall()
    finally:
        con.close()
    kings = before[("crm", "H09")]
    assert after[("crm", "H09")] == kings and after[("marketing", "H10")] != kings
    assert (kings, after[("marketing", "H10")], "split") in log
    assert after[("crm", "H05")] == after[("crm", "H06")]
    old = {before[("crm", "H05")], before[("crm", "H06")]}
    assert any(k == "merge" and o in old and n in old for o, n, k in log)


def test_oversized_loose_cluster_is_split_or_flagged(tmp_path: Path) -> None:
    rows, _ = people_rows(seed=3, n_people=60)
    rows += chain_rows()
    path = tmp_path / "chain.duckdb"
    write_staged(path, "contact", rows)
    config = MatchConfig(max_cluster_size=4)
    result = resolve(path, CONTACT, config=config)
    xref = xref_clusters(path, "contact")
    chain = [xref[(("crm" if i % 2 else "marketing"), f"K{i}")] for i in range(8)]
    sizes = {g: chain.count(g) for g in chain}
    con = duckdb.connect(str(path), read_only=True)
    try:
        flagged_rows = con.execute("""SELECT count(*) FROM golden.contact_review
            WHERE reason LIKE 'cluster flagged%'""").fetchall()[0][0]
    finally:
        con.close()
    # every link is a rule or name + direct phone, so even the strictest threshold keeps the
    # chain: it must be flagged and its pairs queued for review, never silently accepted
    assert result.flagged_clusters and set(result.flagged_clusters) <= set(chain)
    assert flagged_rows >= 7 and len(sizes) >= 1
    con = duckdb.connect(str(path), read_only=True)
    try:
        status = dict(con.execute("SELECT review_status, count(DISTINCT golden_id) FROM "
                                  "golden.contact_xref GROUP BY 1").fetchall())
    finally:
        con.close()
    assert status["held"] == len(result.flagged_clusters) and status["accepted"] > 50


def test_oversized_blocks_are_skipped_and_reported(tmp_path: Path) -> None:
    rows, _ = people_rows(seed=5, n_people=40)
    path = tmp_path / "blocks.duckdb"
    write_staged(path, "contact", rows + HARD_CASES)
    result = resolve(path, CONTACT, config=MatchConfig(max_block_size=3))
    assert result.skipped_blocks and all(n > 3 for _, _, n in result.skipped_blocks)
    assert result.candidate_pairs < len(rows) * 3


def test_customer_suffix_and_word_order(tmp_path: Path) -> None:
    rows, truth = customer_rows()
    path = tmp_path / "customers.duckdb"
    write_staged(path, "customer", rows)
    resolve(path, CUSTOMER)
    scores = evaluate(xref_clusters(path, "customer"), truth)
    assert scores["pairwise_precision"] >= 0.97 and scores["pairwise_recall"] >= 0.95


def test_evaluate_math_on_toy_example() -> None:
    pred = {1: "A", 2: "A", 3: "B"}
    truth = {1: "X", 2: "Y", 3: "Y"}
    s = evaluate(pred, truth)
    assert s["pairwise_precision"] == 0.0 and s["pairwise_recall"] == 0.0
    assert s["bcubed_precision"] == pytest.approx(2 / 3)
    assert s["bcubed_recall"] == pytest.approx(2 / 3)
    s = evaluate({1: "A", 2: "A", 3: "A", 4: "B"}, {1: "X", 2: "X", 3: "Y", 4: "Y"})
    assert s["pairwise_precision"] == pytest.approx(1 / 3)
    assert s["pairwise_recall"] == pytest.approx(1 / 2)
    assert s["pairwise_f1"] == pytest.approx(0.4)
    # b-cubed: precision (2/3+2/3+1/3+1)/4, recall (1+1+1/2+1/2)/4
    assert s["bcubed_precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert s["bcubed_recall"] == pytest.approx(0.75)
    assert evaluate({1: "A"}, {2: "X"})["records"] == 0.0


def test_birth_date_levels_and_a_missing_birth_date_is_harmless(tmp_path: Path) -> None:
    from sync_platform.engines.identity.comparisons import compare
    from sync_platform.engines.identity.prepare import prepare

    con = duckdb.connect(str(tmp_path / "born.duckdb"))
    try:
        con.execute("CREATE SCHEMA staged")
        con.execute("""CREATE TABLE staged.contact AS SELECT * FROM (VALUES
            ('1', DATE '1980-03-04'), ('2', DATE '1980-03-04'), ('3', DATE '1980-04-03'),
            ('4', DATE '1981-03-04'), ('5', DATE '1975-11-20'), ('6', NULL))
            t(source_id, birth_date)""")
        con.execute("""ALTER TABLE staged.contact ADD COLUMN source_system VARCHAR DEFAULT 'crm';
            ALTER TABLE staged.contact ADD COLUMN source_table VARCHAR DEFAULT 'contacts';
            ALTER TABLE staged.contact ADD COLUMN row_hash VARCHAR DEFAULT 'h';
            ALTER TABLE staged.contact ADD COLUMN first_name VARCHAR DEFAULT 'Ann';
            ALTER TABLE staged.contact ADD COLUMN last_name VARCHAR DEFAULT 'Lee'""")
        assert prepare(con, "contact", 3) == 6  # no email, phone, address...: those stay NULL
        con.execute("CREATE TEMP TABLE born_pairs AS SELECT 1 AS a, unnest([2, 3, 4, 5, 6]) AS b")
        compare(con, "contact", "born_pairs", "born_gamma")
        levels = dict(con.execute("SELECT b, birth_date FROM born_gamma").fetchall())
        missing = con.execute("SELECT DISTINCT email, phone, national_id FROM born_gamma").fetchall()
    finally:
        con.close()
    # exact, day and month swapped, one component off, differs, missing (no evidence)
    assert levels == {2: 3, 3: 2, 4: 1, 5: 0, 6: -1}
    assert missing == [(-1, -1, -1)]


def test_platform_id_written_back_is_a_deterministic_identifier(tmp_path: Path) -> None:
    """Two records carrying the golden id the platform wrote back are one entity, even when
    nothing else agrees; without it they stay apart."""
    rows, _ = people_rows(seed=5, n_people=40)
    rows += [_person("crm", "P1", "Maria", "Okonkwo", "maria.o@example.org", "+13125550177"),
             _person("marketing", "P2", "M.", "Okonkwo-Hale", "mh@othermail.net", None)]
    path = tmp_path / "ref.duckdb"
    write_staged(path, "contact", rows)
    resolve(path, CONTACT)
    xref = xref_clusters(path, "contact")
    assert xref[("crm", "P1")] != xref[("marketing", "P2")]
    con = duckdb.connect(str(path))
    try:
        con.execute("ALTER TABLE staged.contact ADD COLUMN platform_id VARCHAR")
        con.execute("UPDATE staged.contact SET platform_id = 'g-123', row_hash = row_hash || 'x' "
                    "WHERE source_id IN ('P1', 'P2')")
    finally:
        con.close()
    resolve(path, CONTACT)
    xref = xref_clusters(path, "contact")
    assert xref[("crm", "P1")] == xref[("marketing", "P2")]
    con = duckdb.connect(str(path), read_only=True)
    try:
        evidence = con.execute("SELECT evidence FROM golden.contact_xref WHERE source_id = 'P2'"
                               ).fetchall()[0][0]
    finally:
        con.close()
    assert evidence.startswith("rule: same platform id written back")


def test_a_record_the_push_created_comes_back_linked_to_its_origin(tmp_path: Path) -> None:
    """The push created a marketing copy of a crm contact that has no email or phone, and wrote
    the golden id into it. Landed again, the copy shares no blocking key with its origin, yet it
    joins the origin's golden record instead of becoming a new one (which the next push would
    copy back to crm: a duplicate each round)."""
    rows, _ = people_rows(seed=5, n_people=40)
    rows.append(_person("crm", "J1", "Jim", "Ryan", None, None, company=None))
    path = tmp_path / "pingpong.duckdb"
    write_staged(path, "contact", rows)
    resolve(path, CONTACT)
    origin = xref_clusters(path, "contact")[("crm", "J1")]
    copy = _person("marketing", "M9", "Jim", "Ryan", None, None, company=None)
    copy["street"], copy["postal_code"] = None, None  # the target keeps less than the source
    write_staged(path, "contact", [*rows, copy])
    con = duckdb.connect(str(path))
    try:
        con.execute("ALTER TABLE staged.contact ADD COLUMN platform_id VARCHAR")
        con.execute("UPDATE staged.contact SET platform_id = ? WHERE source_id = 'M9'", [origin])
    finally:
        con.close()
    result = resolve(path, CONTACT)
    assert result.mode == "incremental"
    xref = xref_clusters(path, "contact")
    assert xref[("marketing", "M9")] == xref[("crm", "J1")]
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows_of = con.execute("SELECT golden_id, evidence FROM golden.contact_xref "
                              "WHERE source_id IN ('J1', 'M9')").fetchall()
    finally:
        con.close()
    assert {g for g, _ in rows_of} == {origin}  # the origin keeps its golden id
    assert any(e.startswith("rule: same platform id written back") for _, e in rows_of)


def test_incremental_rounds_with_blocks_crossing_the_size_limit(tmp_path: Path) -> None:
    """Two incremental rounds (edits, deletes, inserts that push blocks over and back under a
    small size limit) end exactly where a full rebuild does, and touch only what changed."""
    rows, _ = people_rows(seed=9, n_people=120)
    config = MatchConfig(max_block_size=3)
    inc, full = tmp_path / "inc.duckdb", tmp_path / "full.duckdb"
    write_staged(inc, "contact", rows + HARD_CASES)
    resolve(inc, CONTACT, config=config)
    for round_no in (1, 2):
        con = duckdb.connect(str(inc))
        try:
            con.execute(f"""INSERT INTO staged.contact SELECT * REPLACE (source_id || '-r{round_no}'
                AS source_id, row_hash || 'r{round_no}' AS row_hash) FROM staged.contact
                WHERE source_system = 'crm' AND hash(source_id) % 7 = {round_no}""")
            con.execute(f"""DELETE FROM staged.contact WHERE source_system = 'marketing'
                AND hash(source_id) % 11 = {round_no}""")
            con.execute(f"""UPDATE staged.contact SET phone = NULL, row_hash = row_hash || 'e'
                WHERE hash(source_id) % 13 = {round_no}""")
        finally:
            con.close()
        result = resolve(inc, CONTACT, config=config)
        assert result.mode == "incremental"
        assert 0 < result.changed_records < result.records / 2
    shutil.copyfile(inc, full)
    assert resolve(full, CONTACT, config=config, full_rebuild=True).mode == "full"
    assert xref_clusters(inc, "contact") == xref_clusters(full, "contact")
    con = duckdb.connect(str(inc), read_only=True)
    try:
        skipped = con.execute("SELECT count(*) FROM golden.contact_skipped_blocks").fetchall()[0][0]
    finally:
        con.close()
    assert skipped > 0


def _shared(path: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return set(con.execute("SELECT kind, value FROM golden.contact_shared").fetchall())
    finally:
        con.close()


def _flags(path: Path) -> set[tuple]:
    """Each stored record's shared-value flags (rids differ between runs: by record key)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return set(con.execute("SELECT rec_key, email_sh, array_to_string(list_sort(phones), ','), addr_sh "
                               "FROM golden.contact_recs").fetchall())
    finally:
        con.close()


def test_shared_values_kept_incrementally_equal_a_full_count(tmp_path: Path) -> None:
    """Incremental runs count again only the values of changed records: a phone reaching three
    distinct names becomes shared, losing one makes it personal again, a role inbox stays
    shared, and after every round the set equals a full rebuild's, and so do the flags of every
    stored record (unchanged records holding the phone are flagged again)."""
    rows, _ = people_rows(seed=4, n_people=60)
    inc = tmp_path / "inc.duckdb"
    write_staged(inc, "contact", rows + HARD_CASES)
    resolve(inc, CONTACT)
    phone = "+14155550777"
    rounds = [
        [f"""INSERT INTO staged.contact (first_name, last_name, email, phone, company_name,
                 postal_code, is_deleted, source_system, source_table, source_id, row_hash)
             VALUES ('Ann', 'Alpha', 'ann@a.io', '{phone}', 'A', '1', FALSE, 'crm', 'contacts',
                     'S1', 's1'),
                    ('Bob', 'Beta', 'bob@b.io', '{phone}', 'B', '2', FALSE, 'crm', 'contacts',
                     'S2', 's2'),
                    ('Cy', 'Gamma', 'sales@c.io', '{phone}', 'C', '3', FALSE, 'crm', 'contacts',
                     'S3', 's3')"""],
        ["DELETE FROM staged.contact WHERE source_id = 'S1'"],
        [f"UPDATE staged.contact SET phone = '{phone}', row_hash = 'e' WHERE source_id = 'S1' "
         "OR source_id = (SELECT min(source_id) FROM staged.contact WHERE source_id LIKE 'C%')"],
    ]
    expected_phone_shared = [True, False, True]
    for statements, phone_shared in zip(rounds, expected_phone_shared, strict=True):
        execute_sql(inc, *statements)
        assert resolve(inc, CONTACT).mode == "incremental"
        full = tmp_path / "full.duckdb"
        shutil.copyfile(inc, full)
        assert resolve(full, CONTACT, full_rebuild=True).mode == "full"
        assert _shared(inc) == _shared(full)
        assert _flags(inc) == _flags(full)
        assert (("phone", phone[-10:]) in _shared(inc)) is phone_shared
        assert ("email", "sales@c.io") in _shared(inc)
        assert xref_clusters(inc, "contact") == xref_clusters(full, "contact")
