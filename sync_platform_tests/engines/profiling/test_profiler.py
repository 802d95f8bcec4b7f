"""Column statistics on a hand-made table, the sampling path and meta.column_profiles."""

from __future__ import annotations

import duckdb
import pytest

from sync_platform.engines.canonical import SemanticType as ST
from sync_platform.engines.profiling import load_profiles, profile_relation, profile_system
from sync_platform.engines.warehouse import connect


@pytest.fixture
def small():
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER, code VARCHAR, score DOUBLE, _dlt_id VARCHAR)")
    con.execute("""INSERT INTO t VALUES (1, 'aa', 1.5, 'x'), (2, 'bbb', NULL, 'x'),
        (3, 'aa', 10.0, 'x'), (4, NULL, 2.0, 'x'), (10, 'aa', 3.0, 'x')""")
    yield con
    con.close()


def test_stats_of_a_small_table(small):
    profiles = {p.column_name: p for p in profile_relation(small, "t", "sys", "t")}
    assert set(profiles) == {"id", "code", "score"}  # dlt's own columns are left out
    code = profiles["code"]
    assert (code.row_count, code.null_count, code.null_rate) == (5, 1, 0.2)
    assert (code.distinct_count, code.uniqueness) == (2, 0.5)
    assert (code.min_value, code.max_value) == ("aa", "bbb")
    assert (code.min_length, code.max_length, code.avg_length) == (2, 3, 2.25)
    assert code.top_values == [("aa", 3), ("bbb", 1)]
    assert sorted(code.sample_values) == ["aa", "bbb"]
    assert not code.sampled and code.sample_size is None
    ids = profiles["id"]
    assert (ids.min_value, ids.max_value) == ("1", "10")  # typed order, not text order
    assert (ids.null_count, ids.distinct_count, ids.uniqueness) == (0, 5, 1.0)
    assert ids.data_type == "INTEGER"
    score = profiles["score"]
    assert (score.null_count, score.min_value, score.max_value) == (1, "1.5", "10.0")
    assert score.semantic_type == ST.NUMBER


def test_select_relation(small):
    profiles = profile_relation(small, "(SELECT code FROM t WHERE id > 1)", "sys", "q")
    assert [(p.column_name, p.row_count, p.null_count) for p in profiles] == [("code", 4, 1)]


def test_sampling_above_threshold():
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE big AS SELECT i AS id, 'user' || i || '@example.com' AS email "
                "FROM range(5000) r(i)")
    profiles = profile_relation(con, "big", "sys", "big", sample_threshold=500)
    for p in profiles:
        assert p.sampled and p.sample_size == 500 and p.row_count == 5000
        assert p.distinct_count == 500 and p.null_count == 0
    assert {p.column_name: p.semantic_type for p in profiles}["email"] == ST.EMAIL
    assert not profile_relation(con, "big", "sys", "big")[0].sampled
    con.close()


def test_profiles_are_written_and_read_back(warehouse_copy):
    written = profile_system(warehouse_copy, "hr")
    assert {p.table_name for p in written} == {"employees"}
    again = profile_system(warehouse_copy, "hr", tables=["employees"])  # replaces, no duplicates
    read = load_profiles(warehouse_copy, "hr")
    assert [p.column_name for p in read] == [p.column_name for p in again]
    by_name = {p.column_name: p for p in read}
    hire = by_name["hire_date"]
    original = {p.column_name: p for p in written}["hire_date"]
    assert hire == original  # every field, lists and enums included, survives the round trip
    assert hire.semantic_type is ST.DATE and isinstance(hire.top_values[0], tuple)
    with connect(warehouse_copy, read_only=True) as con:
        rows = con.sql("SELECT count(*), count(profiled_at) FROM meta.column_profiles").fetchall()
    assert rows == [(len(read), len(read))]
    assert load_profiles(warehouse_copy, "crm") == []
