"""Landing under faults: transient errors are retried; a source that stays down fails clearly
and loses nothing (the cursor does not move, the next run lands everything)."""

from __future__ import annotations

from sync_platform_tests.defs.landing_helpers import land_through_dagster, rows_landed


def test_429_5xx_and_dropped_connections_are_retried(sandbox):
    sandbox.set_faults("crm", error_burst=3)
    sandbox.set_faults("marketing", rate_limit=2, rate_window_s=1.0)
    sandbox.set_faults("shop", drop_rate=0.3)
    result, landed = land_through_dagster(["crm", "marketing", "shop"])
    assert result.success
    assert sandbox.stats("crm")["by_status"].get("503", 0) == 3
    assert sandbox.stats("marketing")["by_status"].get("429", 0) > 0
    assert sandbox.stats("shop")["faults"]["dropped"] > 0
    assert all(count > 0 for (system, table), count in rows_landed(landed).items() if not table.endswith("_archived"))


def test_source_that_stays_down_fails_clearly_and_nothing_is_lost(sandbox):
    land_through_dagster(["crm"])
    report = sandbox.mutate(systems=["crm"], edits=3, inserts=2, deletes=1)
    sandbox.set_faults("crm", down=True)

    result, landed = land_through_dagster(["crm"], raise_on_error=False)
    assert not result.success and landed == {}
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "Landing of system 'crm' failed" in message
    assert "HTTP 503" in message and "cursor did not advance" in message
    assert "sandbox-" not in message  # no token in the message

    sandbox.set_faults("crm")  # the system recovers
    result, landed = land_through_dagster(["crm"])
    assert rows_landed(landed)[("crm", "accounts")] == len(report.changed["crm"]["Account"])
    assert rows_landed(landed)[("crm", "contacts")] == len(report.changed["crm"]["Contact"])


def test_a_landing_that_meets_the_warehouse_locked_is_retried(sandbox, catalog):
    """Another process holds the one-writer warehouse file (a sensor writing alert state, an
    analyst with the file open read-write): the landing step is retried, not failed."""
    import subprocess
    import sys

    from dagster import DagsterEventType

    catalog.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(4); con.close()", str(catalog.warehouse_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result, landed = land_through_dagster(["hr"])
    finally:
        holder.wait(timeout=30)
    assert result.success
    retried = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried, "the step should have met the lock and been retried"
    assert rows_landed(landed)[("hr", "employees")] > 0

