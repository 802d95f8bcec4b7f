"""The warehouse file under contention: DuckDB allows one writing process per file."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from sync_platform.engines.warehouse import connect


def test_a_warehouse_connection_waits_for_another_process_hold(tmp_path):
    """Engines open short-lived connections; one meeting another process's hold on the file
    waits for it (with backoff) instead of failing at once, and gives up after its wait."""
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(float(sys.argv[2])); con.close()", str(path), "2"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    with connect(path) as con:
        assert con.execute("SELECT 1").fetchall() == [(1,)]
    assert time.monotonic() - started > 0.5  # it waited for the holder to let go
    holder.wait(timeout=30)
    holder = subprocess.Popen(holder.args[:-1] + ["10"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException, match="lock"), connect(path, wait_s=0.5):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _stored(path, table: str) -> tuple[int, int, int]:
    """(row groups, rows stored with the deleted ones, live rows) of `table`."""
    with connect(path, read_only=True) as con:
        return con.execute(
            f"SELECT count(DISTINCT row_group_id), sum(count) FILTER (WHERE column_path = '[0]'), "
            f"(SELECT count(*) FROM {table}) FROM pragma_storage_info('{table}')").fetchall()[0]


def test_writes_leave_tombstones_until_a_table_needs_compacting(tmp_path, monkeypatch):
    """Incremental runs delete and append a few rows; no checkpoint of the platform's
    connections (this run's or a later one writing elsewhere) rewrites row groups for that;
    compact_when_needed compacts once a table crosses its limits, and the data is the same."""
    from sync_platform.engines import warehouse as wh

    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        con.execute("CREATE TABLE t AS SELECT i AS id, 'value ' || i AS v FROM range(300000) r(i)")
    before = _stored(path, "t")
    for round_no in range(3):
        with connect(path) as con:
            con.execute("DELETE FROM t WHERE hash(id + ?) % 100 = 0", [round_no])
            con.execute("INSERT INTO t SELECT 1000000 * (? + 1) + i, 'new' FROM range(500) r(i)",
                        [round_no])
            assert wh.compact_when_needed(con, ["t"]) is False
        with connect(path) as con:  # a later run writing elsewhere: its checkpoint keeps them
            con.execute("CREATE OR REPLACE TABLE other AS SELECT ? AS x", [round_no])
    groups, stored, rows = _stored(path, "t")
    assert stored > rows  # tombstones kept
    assert before[0] + 1 < groups <= before[0] + 1 + wh.SPARE_ROW_GROUPS  # appended groups kept
    monkeypatch.setattr(wh, "TOMBSTONE_SHARE", 0.0)
    with connect(path) as con:  # the next run's writes cross the limit: compacted
        con.execute("DELETE FROM t WHERE id = 1")
        expected = con.execute("SELECT sum(hash(id, v)) FROM t").fetchall()
        assert wh.compact_when_needed(con, ["t"]) is True
    compacted = _stored(path, "t")[0]
    assert compacted < groups  # DuckDB's vacuum merged the small row groups
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT sum(hash(id, v)) FROM t").fetchall() == expected
