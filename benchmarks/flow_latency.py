"""Edit-to-target latency of an on-change flow (crm -> marketing contacts), measured end to end.

The sandbox runs as real HTTP servers; the platform runs as Dagster would run it, in this
process: the `source_freshness` sensor is evaluated (its probes go to the sandbox), the runs it
requests are executed, then declarative automation is evaluated and the assets it requests are
executed, tick after tick, until the edit is visible in the target system's own store. Each
round edits one crm contact's phone (crm owns contact details, so the flow carries it to
marketing) and times edit -> visible in marketing.

What bounds the latency in production: the sensor's polling interval (30 s: on average half of
it is added, at worst all of it), the automation sensor's interval (30 s, likewise, once per
hop, since assets requested together run in one run), the daemon's run launch overhead, and the
processing time measured here (landing the source, profiling, mapping, staging, resolving,
reconciling, pushing, landing the target again to verify). The script reports the processing
time per round and the bound p = processing + up to 2 x 30 s of polling.

Usage: python benchmarks/flow_latency.py [--rounds 10] [--size 300]
Rows go to benchmarks/results/flow_latency.csv.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "flow_latency.csv"
POLL_S = 30  # the freshness and automation sensors' minimum interval


def marketing_phone(root: Path, ext_key: str) -> str | None:
    with sqlite3.connect(root / "marketing.sqlite") as con:
        row = con.execute("SELECT data FROM records WHERE object = 'contacts' AND ext_key = ? "
                          "AND deleted = 0", (ext_key,)).fetchone()
    return json.loads(row[0]).get("phone") if row else None


def crm_contact(root: Path, golden_id: str) -> str | None:
    with sqlite3.connect(root / "crm.sqlite") as con:
        row = con.execute("SELECT id FROM records WHERE object = 'Contact' AND ext_key = ? AND deleted = 0",
                          (golden_id,)).fetchone()
    return row[0] if row else None


def set_crm_phone(root: Path, record_id: str, phone: str) -> None:
    from sync_platform.engines.sandbox.store import RecordStore

    store = RecordStore(root / "crm.sqlite")
    with store.transaction() as con:
        record = RecordStore.get(con, "Contact", record_id)
        record.data["Phone"] = phone
        RecordStore.update(con, record, RecordStore.next_timestamp(con, ["Contact"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--verbose", action="store_true", help="print what each tick runs")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    work = Path(tempfile.mkdtemp(prefix="flow_latency_"))
    os.environ["SYNC_DATA_DIR"] = str(work / "data")
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    (work / "dagster_home").mkdir(parents=True)

    from dagster import DagsterInstance, build_sensor_context, evaluate_automation_conditions

    from sync_platform.defs import build_definitions
    from sync_platform.engines.sandbox import Sandbox

    box = Sandbox(work / "data" / "sandbox", seed=11, size=args.size)
    box.seed(reset=True)
    box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
    os.environ.update(box.env())
    try:
        defs = build_definitions()
        instance = DagsterInstance.ephemeral()
        job = defs.resolve_implicit_global_asset_job_def()
        print("first full cycle (sync job) …", flush=True)
        started = time.perf_counter()
        assert defs.resolve_job_def("sync").execute_in_process(instance=instance).success
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
        sensor = next(s for s in defs.sensors if s.name == "source_freshness")
        cursor = None
        with build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
            result = sensor.evaluate_tick(context)
            cursor = result.cursor  # baseline: every system landed by the sync run
        automation = evaluate_automation_conditions(defs, instance).cursor

        import duckdb

        warehouse = Path(os.environ["SYNC_DATA_DIR"]) / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            linked = [r[0] for r in con.execute(
                "SELECT x.golden_id FROM golden.contact_xref x JOIN golden.contact_xref y "
                "USING (golden_id) WHERE x.source_system = 'crm' AND y.source_system = 'marketing' "
                "GROUP BY 1 HAVING count(DISTINCT x.source_id) = 1 ORDER BY 1 LIMIT ?",
                [args.rounds * 3]).fetchall()]
        rows = []
        for round_no in range(args.rounds):
            golden_id = next(g for g in linked if crm_contact(box.root, g) and marketing_phone(box.root, g))
            linked.remove(golden_id)
            phone = f"+1415555{round_no:04d}"
            set_crm_phone(box.root, crm_contact(box.root, golden_id), phone)
            edited = time.perf_counter()
            runs = 0
            while marketing_phone(box.root, golden_id) != phone and runs < 12:
                with build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
                    tick = sensor.evaluate_tick(context)
                cursor = tick.cursor
                for request in tick.run_requests:
                    job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection))
                    runs += 1
                evaluation = evaluate_automation_conditions(defs, instance, cursor=automation)
                automation = evaluation.cursor
                keys = [r.key for r in evaluation.results if r.true_subset.size and hasattr(r.key, "path")]
                if keys:
                    run = job.execute_in_process(instance=instance, asset_selection=keys,
                                                 raise_on_error=False)
                    runs += 1
                    failed = [(c.asset_key.to_user_string(), c.check_name, c.description)
                              for c in run.get_asset_check_evaluations() if not c.passed]
                    if args.verbose:
                        print(f"    automation ran {sorted(k.to_user_string() for k in keys)}; "
                              f"failed checks: {failed}", flush=True)
                elif not tick.run_requests:
                    break
            seconds = time.perf_counter() - edited
            arrived = marketing_phone(box.root, golden_id) == phone
            if not arrived and args.verbose:
                with duckdb.connect(str(warehouse), read_only=True) as con:
                    print("    golden:", con.execute("SELECT phone FROM golden.contact WHERE golden_id = ?",
                                                      [golden_id]).fetchall(),
                          "crm raw:", con.execute("SELECT phone FROM raw_crm.contacts WHERE id = ?",
                                                  [crm_contact(box.root, golden_id)]).fetchall(),
                          "recon:", con.execute("SELECT kind, field, golden_value, target_value, pushable "
                                                "FROM recon.contact__marketing WHERE golden_id = ?",
                                                [golden_id]).fetchall(),
                          "ledger:", con.execute("SELECT state, operation, payload, error FROM "
                                                 "ops.push_ledger WHERE target = 'marketing' AND golden_id = ?",
                                                 [golden_id]).fetchall(),
                          "target:", marketing_phone(box.root, golden_id), flush=True)
            rows.append({"round": round_no, "processing_s": round(seconds, 2), "runs": runs,
                         "arrived": arrived})
            print(f"  round {round_no}: {seconds:.1f} s processing, {runs} runs, "
                  f"{'arrived' if arrived else 'NOT arrived'}", flush=True)
    finally:
        box.stop()
    done = [r["processing_s"] for r in rows if r["arrived"]]
    if not done:
        sys.exit("no edit reached the target")
    ranked = sorted(done)  # nearest-rank percentiles: no extrapolation beyond what was measured
    p50, p95 = statistics.median(ranked), ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)]
    summary = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "flow": "crm_marketing_contacts",
               "rounds": len(rows), "arrived": len(done), "processing_p50_s": round(p50, 1),
               "processing_p95_s": round(p95, 1), "bound_p50_s": round(p50 + POLL_S, 1),
               "bound_p95_s": round(p95 + 2 * POLL_S, 1),
               "rounds_s": " ".join(str(v) for v in done),
               "machine": f"{os.cpu_count()} cores, {platform.python_version()}"}
    print(json.dumps(summary, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new = not RESULTS.exists()
    with RESULTS.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary))
        if new:
            writer.writeheader()
        writer.writerow(summary)


if __name__ == "__main__":
    main()
