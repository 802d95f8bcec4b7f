"""The diff engine on real files and DuckDB tables: exact differences, normalisation per kind and
strictness, composite/duplicate/NULL keys, unicode, hostile names and the written outputs."""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

import duckdb
import pytest

import sync_platform.engines.reconcile.diff as diff_module
from sync_platform.engines.reconcile import diff_relations, diff_sources, normal_form
from sync_platform.engines.reconcile.kinds import combine
from sync_platform.engines.transforms import register_udfs


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> set[tuple]:
    return set(con.execute(f"SELECT * FROM {table}").fetchall())


def _write_csv(path: Path, header: list[str], rows: list[list[str | None]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def _tables(con: duckdb.DuckDBPyConnection, columns: str, left: str, right: str) -> None:
    """Tables a and b from VALUES lists."""
    for name, values in (("a", left), ("b", right)):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM (VALUES {values}) t({columns})")


@pytest.fixture(autouse=True, params=["aggregate", "join"])
def candidates_by(request, monkeypatch):
    """Every test runs with both ways of finding candidate keys (small and large inputs)."""
    if request.param == "join":
        monkeypatch.setattr(diff_module, "EXACT_AGGREGATE_ROWS", 0)
    return request.param


@pytest.fixture
def con():
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def test_exact_differences_of_typed_tables(con):
    con.execute("CREATE TABLE a (id INTEGER, name VARCHAR, amount DECIMAL(10,2), born DATE, ok BOOLEAN)")
    con.execute("CREATE TABLE b (id INTEGER, name VARCHAR, amount DECIMAL(10,2), born DATE, ok BOOLEAN)")
    con.execute("INSERT INTO a VALUES (1, 'Ann', 10.50, '2000-01-01', true), (2, 'Bob', 5, '1990-05-05', false),"
                " (3, 'Cy', NULL, NULL, NULL), (4, 'Di', 1, '1980-01-01', true)")
    con.execute("INSERT INTO b VALUES (1, 'Ann', 10.50, '2000-01-01', true), (2, 'Rob', 6, '1990-05-05', true),"
                " (3, 'Cy', 7, NULL, NULL), (5, 'Ed', 1, '1980-01-01', true)")
    result = diff_relations(con, "a", "b", "id")
    assert _rows(con, result.table) == {
        (2, "field_mismatch", "name", "Bob", "Rob"),
        (2, "field_mismatch", "amount", "5.00", "6.00"),
        (2, "field_mismatch", "ok", "false", "true"),
        (3, "field_mismatch", "amount", None, "7.00"),
        (4, "missing_in_right", None, None, None),
        (5, "missing_in_left", None, None, None),
    }
    assert (result.rows_left, result.rows_right, result.matched) == (4, 4, 3)
    assert (result.missing_in_left, result.missing_in_right, result.mismatched_rows) == (1, 1, 2)
    assert result.mismatches == {"amount": 2, "name": 1, "ok": 1}
    assert result.differences == 6 and result.has_differences
    assert result.columns == ["name", "amount", "born", "ok"]
    assert result.kinds == {"name": "text", "amount": "number", "ok": "boolean"}
    identical = diff_relations(con, "a", "a", "id")
    assert identical.differences == 0 and identical.matched == 4 and not _rows(con, identical.table)


NORMALISATION_LEFT = [
    ["1", "Ann Lee", "ann@example.com", "(555) 123-4567", "1.0", "2024-01-05", "2024-01-05T10:00:00Z", "true", "Café"],
    ["2", "Bob  Stone ", "BOB@Example.com", "+1 555 222 3333", "1,000.50", "01/05/2024", "1704448800000", "yes", "x"],
    ["3", "Cara\tMay", "cara@example.com", "555.444.5555", "3", "05.01.2024", "2024-01-05 10:00:00", "1", ""],
    ["4", "  ", "dan@example.com", "", "-2.50", "2024-01-05", "", "no", None],
]
NORMALISATION_RIGHT = [
    ["1", "Ann Lee ", "ANN@example.com", "555-123-4567", "1", "2024-01-05T00:00:00", "2024-01-05 10:00:00", "TRUE", "Cafe\u0301"],
    ["2", "Bob Stone", "bob@example.com", "5552223333", "1000.5", "2024-01-05", "2024-01-05T11:00:00+01:00", "Y", "x"],
    ["3", "Cara May", " cara@example.com", "+15554445555", "3.00", "2024-01-05", "01/05/2024 10:00", "true", None],
    ["4", None, "dan@example.com", None, "-2.5", "January 5, 2024", None, "false", ""],
]
HEADER = ["id", "name", "email", "phone", "amount", "day", "at", "active", "note"]
KINDS = {"phone": "phone", "amount": "number", "day": "date", "at": "datetime", "active": "boolean",
         "email": "email"}


def test_normalised_values_are_not_differences_but_are_under_exact(tmp_path):
    left = _write_csv(tmp_path / "left.csv", HEADER, NORMALISATION_LEFT)
    right = _write_csv(tmp_path / "right.csv", HEADER, NORMALISATION_RIGHT)
    normalized = diff_sources(str(left), str(right), "id", kinds=KINDS).result
    assert normalized.differences == 0, normalized.mismatches
    assert normalized.matched == 4
    exact = diff_sources(str(left), str(right), "id", kinds=KINDS, strictness="exact").result
    assert exact.mismatches == {"amount": 4, "at": 3, "active": 4, "day": 4, "name": 4, "phone": 3,
                                "email": 3, "note": 1}
    assert exact.kinds == {}


def test_real_differences_survive_normalisation(tmp_path):
    left = _write_csv(tmp_path / "l.csv", HEADER, [
        ["1", "Ann", "ann@example.com", "555-123-4567", "1.5", "2024-01-05", "2024-01-05T10:00:00Z", "yes", "a"]])
    right = _write_csv(tmp_path / "r.csv", HEADER, [
        ["1", "ann", "ann@example.org", "555-123-4568", "1.50001", "05.02.2024", "2024-01-05T10:00:01Z", "no",
         "b"]])
    diff = diff_sources(str(left), str(right), "id", kinds=KINDS)
    assert {row[2]: (row[3], row[4]) for row in diff.preview} == {
        "name": ("Ann", "ann"), "email": ("ann@example.com", "ann@example.org"),
        "phone": ("555-123-4567", "555-123-4568"), "amount": ("1.5", "1.50001"),
        "day": ("2024-01-05", "05.02.2024"), "at": ("2024-01-05T10:00:00Z", "2024-01-05T10:00:01Z"),
        "active": ("yes", "no"), "note": ("a", "b")}
    assert diff.columns == ["id", "kind", "field", "left_value", "right_value"]


def test_loose_ignores_case_and_punctuation(con):
    _tables(con, "id, company", "(1, 'ACME, Inc.'), (2, 'O''Brien'), (3, 'Smith')",
            "(1, 'Acme Inc'), (2, 'obrien'), (3, 'Smyth')")
    assert diff_relations(con, "a", "b", "id").mismatches == {"company": 3}
    loose = diff_relations(con, "a", "b", "id", strictness="loose")
    assert _rows(con, loose.table) == {(3, "field_mismatch", "company", "Smith", "Smyth")}


def test_kinds_are_inferred_from_samples_and_types(con):
    con.execute("CREATE TABLE a AS SELECT i AS id, format('({}) {}-{}', 200 + i, 300 + i, 1000 + i) AS phone,"
                " format('user{}@Example.com', i) AS email, CAST(i AS VARCHAR) || '.0' AS qty,"
                " strftime(DATE '2024-01-01' + i::INT, '%m/%d/%Y') AS day, i % 2 = 0 AS flag FROM range(200) t(i)")
    con.execute("CREATE TABLE b AS SELECT i AS id, format('{}{}{}', 200 + i, 300 + i, 1000 + i) AS phone,"
                " format('USER{}@example.com', i) AS email, CAST(i AS VARCHAR) AS qty,"
                " strftime(DATE '2024-01-01' + i::INT, '%Y-%m-%d') AS day,"
                " CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END AS flag FROM range(200) t(i)")
    result = diff_relations(con, "a", "b", "id")
    assert result.kinds == {"phone": "phone", "email": "email", "qty": "number", "day": "date",
                            "flag": "boolean"}
    assert result.differences == 0 and result.matched == 200


def test_composite_keys_and_key_type_mismatch(con):
    _tables(con, "id, region, v", "(1, 'eu', 'x'), (1, 'us', 'y'), (2, 'eu', 'z')",
            "('1', 'eu', 'x'), ('1', 'us', 'Y'), ('2', 'us', 'z')")
    result = diff_relations(con, "a", "b", ["id", "region"])
    assert _rows(con, result.table) == {
        ("1", "us", "field_mismatch", "v", "y", "Y"),
        ("2", "eu", "missing_in_right", None, None, None),
        ("2", "us", "missing_in_left", None, None, None),
    }
    assert result.key_columns == ["id", "region"] and result.matched == 2


def test_duplicate_and_null_keys_are_reported_not_dropped(con):
    _tables(con, "id, v", "(1, 'a'), (1, 'a'), (2, 'b'), (NULL, 'n'), (NULL, 'm'), (3, 'c')",
            "(1, 'a'), (2, 'b'), (2, 'B'), (NULL, 'n'), (3, 'c')")
    result = diff_relations(con, "a", "b", "id")
    assert _rows(con, result.table) == {
        (1, "duplicate_key", None, "2", "1"),
        (2, "duplicate_key", None, "1", "2"),
        (None, "null_key", None, "2", "1"),
    }
    assert result.duplicate_keys == 2
    assert (result.null_key_rows_left, result.null_key_rows_right) == (2, 1)
    assert result.matched == 1 and result.differences == 3
    composite = diff_relations(con, "(SELECT id, v AS k2, v FROM a)", "(SELECT id, v AS k2, v FROM b)",
                               ["id", "k2"])
    assert (1, "a", "duplicate_key", None, "2", "1") in _rows(con, composite.table)
    assert (None, "m", "null_key", None, "1", "0") in _rows(con, composite.table)


def test_null_keys_without_duplicates(con):
    _tables(con, "id, k2, v", "(1, 'a', 'x'), (NULL, 'b', 'y'), (2, NULL, 'z'), (3, 'c', 'w')",
            "(1, 'a', 'x'), (NULL, 'b', 'y'), (3, 'c', 'W')")
    result = diff_relations(con, "a", "b", ["id", "k2"])
    assert _rows(con, result.table) == {
        (None, "b", "null_key", None, "1", "1"),
        (2, None, "null_key", None, "1", "0"),
        (3, "c", "field_mismatch", "v", "w", "W"),
    }
    assert (result.null_key_rows_left, result.null_key_rows_right, result.matched) == (2, 1, 2)


def test_unicode_values_and_names(con):
    nfd = unicodedata.normalize("NFD", "José Müller")
    con.execute('CREATE TABLE a (id VARCHAR, "名前 👤" VARCHAR, mood VARCHAR)')
    con.execute('CREATE TABLE b (id VARCHAR, "名前 👤" VARCHAR, mood VARCHAR)')
    con.execute("INSERT INTO a VALUES ('🔑1', 'José Müller', '😀'), ('k2', 'Zoë', '👍🏽')")
    con.execute("INSERT INTO b VALUES ('🔑1', ?, '😀'), ('k2', 'Zoe', '👍🏿')", [nfd])
    normalized = diff_relations(con, "a", "b", "id")
    assert _rows(con, normalized.table) == {
        ("k2", "field_mismatch", "名前 👤", "Zoë", "Zoe"),
        ("k2", "field_mismatch", "mood", "👍🏽", "👍🏿"),
    }
    exact = diff_relations(con, "a", "b", "id", strictness="exact")
    assert exact.mismatches == {"名前 👤": 2, "mood": 1}


def test_hostile_column_names_and_output_name_clashes(con):
    hostile = ['we"ird', "a b", "select * from t; --", "kind", "Field"]
    cols = ", ".join('"' + c.replace('"', '""') + '" VARCHAR' for c in hostile)
    con.execute(f"CREATE TABLE a ({cols})")
    con.execute(f"CREATE TABLE b ({cols})")
    con.execute("INSERT INTO a VALUES ('k1', 'x', 'drop table a', 'k', 'f'), ('k2', 'y', 'z', 'k', 'f')")
    con.execute("INSERT INTO b VALUES ('k1', 'x', 'drop table b', 'k', 'F'), ('k2', 'y', 'z', 'k', 'f')")
    result = diff_relations(con, "a", "b", ['we"ird', "kind"], out_table="main.diff out")
    assert result.table == '"main"."diff out"' and result.key_columns == ['we"ird', "key_kind"]
    names = [r[0] for r in con.execute(f"DESCRIBE {result.table}").fetchall()]
    assert names == ['we"ird', "key_kind", "kind", "field", "left_value", "right_value"]
    assert _rows(con, result.table) == {
        ("k1", "k", "field_mismatch", "select * from t; --", "drop table a", "drop table b"),
        ("k1", "k", "field_mismatch", "Field", "f", "F"),
    }
    assert con.execute("SELECT count(*) FROM a").fetchall() == [(2,)]


def test_columns_only_on_one_side_and_chosen_columns(con):
    con.execute("CREATE TABLE a (id INT, name VARCHAR, Email VARCHAR, only_a INT, _dlt_id VARCHAR)")
    con.execute("CREATE TABLE b (ID INT, name VARCHAR, email VARCHAR, only_b INT, _dlt_id VARCHAR)")
    con.execute("INSERT INTO a VALUES (1, 'x', 'e@x.io', 1, 'p'), (2, 'y', 'f@x.io', 1, 'q')")
    con.execute("INSERT INTO b VALUES (1, 'X', 'E@X.IO', 2, 'r'), (2, 'y', 'f@x.io', 2, 's')")
    result = diff_relations(con, "a", "b", "id")
    assert result.columns == ["name", "Email"]
    assert (result.columns_only_left, result.columns_only_right) == (["only_a"], ["only_b"])
    assert result.mismatches == {"name": 1}
    chosen = diff_relations(con, "a", "b", "id", columns=["email"], strictness="exact")
    assert chosen.columns == ["Email"] and chosen.mismatches == {"Email": 1}
    with pytest.raises(ValueError, match="'only_a' not found on the right side"):
        diff_relations(con, "a", "b", "id", columns=["only_a"])
    with pytest.raises(ValueError, match="'nope' not found on the left side"):
        diff_relations(con, "a", "b", "nope")
    with pytest.raises(ValueError, match="strictness"):
        diff_relations(con, "a", "b", "id", strictness="fuzzy")
    with pytest.raises(ValueError, match="unknown kinds"):
        diff_relations(con, "a", "b", "id", kinds={"name": "colour"})


def test_queries_and_typed_against_text_columns(con):
    con.execute('CREATE TABLE a (id BIGINT, amount DOUBLE, day DATE, "at" TIMESTAMP)')
    con.execute("INSERT INTO a VALUES (1, 1000.5, '2024-01-05', '2024-01-05 10:00:00'), (2, 2, '2024-02-01', NULL)")
    result = diff_relations(
        con, "a",
        "SELECT * FROM (VALUES ('1', '1,000.50', '01/05/2024', '1704448800000'), ('2', '2.0', '2024-02-02', ''))"
        ' t(id, amount, day, "at")', "id")
    assert result.kinds == {"day": "date", "amount": "number", "at": "datetime"}
    assert _rows(con, result.table) == {("2", "field_mismatch", "day", "2024-02-01", "2024-02-02")}


def test_files_and_duckdb_tables_with_csv_and_parquet_output(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as c:
        c.execute("CREATE SCHEMA crm")
        c.execute("CREATE TABLE crm.contacts AS SELECT * FROM (VALUES (1, '=cmd()', '-5', 'a'), (2, '+x', '+1 555', 'b'),"
                  " (3, '@SUM(A1)', 'ok', 'c')) t(id, formula, other, note)")
    right = _write_csv(tmp_path / "export.csv", ["id", "formula", "other", "note"],
                       [["1", "safe", "-6", "a"], ["2", "+y", "+1 556", "b"], ["4", "x", "y", "z"]])
    out = tmp_path / "out" / "diff.csv"
    diff = diff_sources(f"{db}::crm.contacts", str(right), "id", out=out)
    assert diff.out == out and diff.result.missing_in_left == 1 and diff.result.missing_in_right == 1
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "kind", "field", "left_value", "right_value"]
    assert ["1", "field_mismatch", "formula", "'=cmd()", "safe"] in rows
    assert ["1", "field_mismatch", "other", "-5", "-6"] in rows
    assert ["2", "field_mismatch", "formula", "'+x", "'+y"] in rows
    assert ["2", "field_mismatch", "other", "+1 555", "+1 556"] in rows
    assert ["3", "missing_in_right", "", "", ""] in rows and len(rows) == 7

    parquet = tmp_path / "diff.parquet"
    diff_sources(str(right), f"{db}::crm.contacts", "id", out=parquet, strictness="exact")
    with duckdb.connect() as c:
        back = set(c.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall())
    assert ("1", "field_mismatch", "formula", "safe", "=cmd()") in back
    assert ("4", "missing_in_right", None, None, None) in back
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        diff_sources(str(right), str(right), "id", out=tmp_path / "diff.xlsx")
    with pytest.raises(FileNotFoundError):
        diff_sources(str(tmp_path / "missing.csv"), str(right), "id")


def test_normal_forms_and_kind_combination(con):
    register_udfs(con)

    def value(expr: str, kind: str, strictness: str = "normalized", dtype: str = "VARCHAR"):
        return con.execute(f"SELECT {normal_form(expr, kind, strictness, dtype)}").fetchall()[0][0]

    assert value("'  A  b\u00a0c '", "text") == "A b c"
    assert value("''", "text") is None and value("''", "text", "exact") == ""
    assert value("'1-800-FLOWERS'", "phone") == {"v": "8003569377", "t": None}
    assert value("'1.000,5'", "number") == {"v": 1000.5, "t": None}
    assert value("'n/a'", "number") == {"v": None, "t": "n/a"}
    assert value("'Hello, World!'", "text", "loose") == "helloworld"
    assert combine("phone", "number") == "phone" and combine("date", "datetime") == "date"
    assert combine("email", "phone") == "text" and combine(None, None) == "text"


def test_udf_registration_once_per_connection(con, monkeypatch):
    calls = []

    def counting(connection):
        calls.append(connection)
        register_udfs(connection)

    monkeypatch.setattr(diff_module, "register_udfs", counting)
    diff_module.register_udfs_once(con)
    con.execute("SET TimeZone = 'Europe/Berlin'")
    diff_module.register_udfs_once(con)  # no second registration, but UTC again
    assert calls == [con]
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    assert con.execute("SELECT sp_phone('1-800-FLOWERS', 'US', 'possible')").fetchall() == [
        ("+18003569377",)]
    other = duckdb.connect(":memory:")
    try:
        diff_module.register_udfs_once(other)
        assert calls == [con, other]
    finally:
        other.close()


def _has_phone_udf(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_functions() "
                            "WHERE function_name = 'sp_phone'").fetchall()[0][0])


def test_phones_need_the_udf_only_when_a_value_has_letters(con):
    _tables(con, "id, phone", "(1, '(555) 123-4567'), (2, '555-222-3333'), (3, '555 000 1111')",
            "(1, '5551234567'), (2, '+1 555 222 3334'), (3, '555 000 1111')")
    digits = diff_relations(con, "a", "b", "id", kinds={"phone": "phone"})
    assert _rows(con, digits.table) == {(2, "field_mismatch", "phone", "555-222-3333",
                                         "+1 555 222 3334")}
    assert not _has_phone_udf(con)  # no letters: no UDF registered, none bound
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    con.execute("DROP TABLE a")
    con.execute("DROP TABLE b")
    _tables(con, "id, phone", "(1, '1-800-FLOWERS'), (2, '555-222-3333 x12')",
            "(1, '+1 800 356 9377'), (2, '5552223333')")
    letters = diff_relations(con, "a", "b", "id", kinds={"phone": "phone"})
    assert _has_phone_udf(con)
    assert letters.differences == 0 and letters.matched == 2


def test_sample_kinds_match_the_profiler(con):
    """The diff's kind detection decides as `profile_relation` would on the same sample."""
    from sync_platform.engines.profiling import profile_relation
    from sync_platform.engines.reconcile.kinds import SEMANTIC_KINDS, _semantic_kinds

    con.execute("""CREATE TABLE s AS SELECT
        format('user{}@example.com', i) AS "l:email", format('(555) {}-{}', 100 + i, 1000 + i) AS "r:phone",
        strftime(DATE '2024-01-01' + i::INT, '%d.%m.%Y') AS "l:day", CAST(i * 1.5 AS VARCHAR) AS "r:amount",
        CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END AS "l:flag", 'Acme ' || i AS "l:name",
        CAST(1700000000 + i * 3600 AS VARCHAR) AS "r:at", NULL::VARCHAR AS "l:empty",
        uuid() AS "r:id", CASE WHEN i < 5 THEN '' END AS "l:blank"
        FROM range(60) t(i)""")
    expected = {p.column_name: SEMANTIC_KINDS.get(p.semantic_type) if p.non_null_count else None
                for p in profile_relation(con, "s", "diff", "s")}
    assert _semantic_kinds(con, "s") == expected
    assert expected["l:email"] == "email" and expected["l:empty"] is None


def test_join_and_aggregate_candidates_agree(con, monkeypatch):
    """Both ways of finding candidates give the same differences and counts on random tables
    with duplicate and NULL keys, NULL values and a column typed differently on each side (the
    join's candidates carry the left values, the aggregate's are joined back)."""
    rng = random.Random(5)
    texts = ["a", " a", "A", "x@y.com", "X@Y.COM ", "+1 555 1234", "5551234", "1.0", "1", None]
    for case in range(18):
        rows = [(rng.choice([None, *range(8)]), rng.choice(["p", "q", None]), rng.choice(texts),
                 rng.choice([1, 2, None])) for _ in range(rng.randint(0, 20))]
        other = [r if rng.random() < 0.6 else (r[0], r[1], rng.choice(texts), rng.choice([1, 3]))
                 for r in rows if rng.random() < 0.8]
        other += [(rng.choice([None, *range(10)]), "p", rng.choice(texts), 2)
                  for _ in range(rng.randint(0, 4))]
        con.execute("CREATE OR REPLACE TABLE a (id INTEGER, k2 VARCHAR, v VARCHAR, n INTEGER)")
        con.execute(f"CREATE OR REPLACE TABLE b (id INTEGER, k2 VARCHAR, v VARCHAR, "
                    f"n {'VARCHAR' if case % 2 else 'INTEGER'})")
        for table, values in (("a", rows), ("b", other)):
            if values:
                con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", values)
        key = "id" if case % 3 else ["id", "k2"]
        strictness = ("exact", "normalized", "loose")[case % 3]
        found = []
        for threshold in (10**9, 0):  # aggregate, then join
            monkeypatch.setattr(diff_module, "EXACT_AGGREGATE_ROWS", threshold)
            result = diff_relations(con, "a", "b", key, strictness=strictness)
            counts = {k: v for k, v in vars(result).items() if k not in ("table", "seconds")}
            found.append((sorted(con.execute(f"SELECT * FROM {result.table}").fetchall(), key=repr),
                          counts))
        assert found[0] == found[1], (case, rows, other)
