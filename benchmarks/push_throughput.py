"""Push throughput against a rate-limited target: achieved request rate vs the limit, and 429s.

The sandbox crm (Salesforce-style composite upsert, 200 records per request) runs in its own
process with a server-side rate limit of `--limit` requests per second (sliding 1 s window).
Each case pushes `--records` new contacts through the push engine (ledger, limiter, audit):
- at_limit:    the push is configured with the target's documented limit;
- above_limit: the push is configured 50% above what the target really allows, so the shared
               token bucket must adapt (AIMD on the 429s) and then stay under the real limit.
The sandbox's own counters (/__sandbox/stats, sampled every 0.25 s) give requests and 429s;
"after adaptation" = after the first 10 s of sending. Rows go to results/push_throughput.csv.

    .venv/bin/python benchmarks/push_throughput.py [--records 100000] [--limit 10] [--cases at_limit above_limit]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml
from bench_io import ResultRows, child_result, emit

RESULTS = Path(__file__).parent / "results" / "push_throughput.csv"
REPO = Path(__file__).resolve().parents[1]
ADAPT_S = 10.0
FACTORS = {"at_limit": 1.0, "above_limit": 1.5}


def serve(root: str, queue, stop) -> None:
    from sync_platform.engines.sandbox import Sandbox

    sb = Sandbox(Path(root), seed=7, size=200)
    sb.seed()
    sb.start(ports={s: 0 for s in Sandbox.HTTP_SYSTEMS})
    queue.put(sb.env())
    stop.wait()
    sb.stop()


def configure(folder: Path, configured_rps: float) -> None:
    sys.path.insert(0, str(REPO))
    from sync_platform_tests.conftest import handwritten_mappings

    mappings = handwritten_mappings(folder / "mappings")
    data = yaml.safe_load((mappings / "systems.yaml").read_text())
    data["push"] = {"batch_size": 200, "mass_change_min": 10_000_000, "park_after_s": 120,
                    "backoff_base_s": 0.2, "backoff_max_s": 5}
    data["systems"]["crm"]["rate_limit"] = {"requests_per_second": configured_rps, "burst": 1}
    (mappings / "systems.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    os.environ["SYNC_MAPPINGS_DIR"] = str(mappings)


def run_case(case: str, records: int, limit: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="push_bench_"))
    os.environ["SYNC_DATA_DIR"] = str(folder / "data")
    (folder / "data").mkdir()
    configure(folder, limit * FACTORS[case])
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(str(folder / "data" / "sandbox"), queue, stop), daemon=True)
    server.start()
    os.environ.update(queue.get(timeout=120))
    base = os.environ["CRM_BASE_URL"]
    requests.post(f"{base}/__sandbox/faults", json={"rate_limit": int(limit), "rate_window_s": 1.0},
                  timeout=10)
    requests.post(f"{base}/__sandbox/reset-stats", timeout=10)

    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.push import push

    catalog = load_catalog()
    changes = [{"target": "crm", "table": "contacts", "entity": "contact", "golden_id": f"b-{i:07d}",
                "operation": "create", "priority": "bulk",
                "payload": {"FirstName": "Ada", "LastName": f"Bench{i}", "Email": f"b{i}@bench.example",
                            "Title": "Buyer", "MailingCity": "Springfield"}} for i in range(records)]
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stats = requests.get(f"{base}/__sandbox/stats", timeout=10).json()
            samples.append((time.monotonic(), stats["requests"], stats["faults"]["rate_limited"]))
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    report = push(catalog, changes, approve=True)
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    stats = requests.get(f"{base}/__sandbox/stats", timeout=10).json()
    from sync_platform.engines.push import limiter_for

    adapted = limiter_for(catalog).state("crm")
    stop.set()
    server.join(timeout=30)
    first = next(t for t, n, _ in samples if n > 0)
    last = next(t for t, n, _ in samples if n >= stats["requests"]) if samples[-1][1] >= stats["requests"] \
        else samples[-1][0]
    sending = max(last - first, 1e-6)
    limited_before = max((r for t, _, r in samples if t - first <= ADAPT_S), default=0)
    ok = stats["by_status"].get("200", 0)
    emit({"case": case, "records": records, "acknowledged": report.states.get("acknowledged", 0),
          "limit_rps": limit, "configured_rps": limit * FACTORS[case], "requests": stats["requests"],
          "accepted_requests": ok, "send_s": round(sending, 1), "total_s": round(elapsed, 1),
          "achieved_rps": round(ok / sending, 2), "ratio_of_limit": round(ok / sending / limit, 3),
          "over_limit_total": stats["faults"]["rate_limited"],
          "over_limit_after_adaptation": stats["faults"]["rate_limited"] - limited_before,
          "adapted_ceiling_rps": round(adapted["ceiling"], 2)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--limit", type=float, default=5.0)
    parser.add_argument("--cases", nargs="+", default=list(FACTORS), choices=list(FACTORS))
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        run_case(args.child, args.records, args.limit)
        return
    columns = ["case", "records", "acknowledged", "limit_rps", "configured_rps", "requests",
               "accepted_requests", "send_s", "total_s", "achieved_rps", "ratio_of_limit",
               "over_limit_total", "over_limit_after_adaptation", "adapted_ceiling_rps"]
    with ResultRows(RESULTS, columns) as rows:
        for case in args.cases:
            row = child_result(__file__, ["--child", case, "--records", str(args.records),
                                          "--limit", str(args.limit)], cwd=REPO)
            if row:
                rows.add(row)


if __name__ == "__main__":
    main()
