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
