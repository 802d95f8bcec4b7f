"""Diff throughput: our engine vs a hand-written DuckDB full-outer-join diff vs data-diff/reladiff.

For each --size, two tables `left_t` / `right_t` of that many rows (id + 9 columns: text, email,
phone, decimal, integer, double, date, timestamp, boolean) are generated in a DuckDB file: 1% of
the rows differ in one field (rotating over the 9), 0.1% are missing on each side. Each case runs
in its own process (peak RSS is its own) on a read-only connection, best of --repeat runs:
- `ours`: `diff_relations(con, "left_t", "right_t", "id")`, defaults (kinds inferred,
  normalized) into a temp table of one row per difference;
- `handwritten`: `CREATE TEMP TABLE AS SELECT ... FULL OUTER JOIN ... WHERE` a key is missing or
  any column IS DISTINCT FROM (no normalisation, no per-field rows, no duplicate-key check);
- `datadiff` / `reladiff`: `JoinDiffer(threaded=True, max_threadpool_size=2)` of data-diff 0.11.2
  (archived) and reladiff 0.6.0 (its maintained fork), each in its own virtualenv under
  benchmarks/.cache/ (their pins clash with the project's), created on first use:
      python3.11 -m venv benchmarks/.cache/datadiff-venv && benchmarks/.cache/datadiff-venv/bin/pip \\
          install "data-diff[duckdb]==0.11.2" "dbt-core<1.9"
  (data-diff depends on dbt-core; without the pin pip picks dbt-core 2.x, whose
  dbt-core-experimental-parser downloads a wheel from GitHub at install time.)
rows_per_s counts the rows of both sides; ratio_to_ours is the case's seconds / ours' seconds;
`detail` records the machine's 1-minute load average when the case started. With --rounds R
the cases run in turn R times and each keeps its best (other work on the machine then slows
every case alike rather than the one that happened to run during a burst).
Every case must find the same differing keys (1% + 2 x 0.1% of the rows).

    .venv/bin/python benchmarks/diff_throughput.py [--sizes 1000000 10000000] [--repeat 3] \
        [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_io import ResultRows, emit

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "diff_throughput.csv"
CACHE = Path(__file__).parent / ".cache"
COLUMNS = ["name", "email", "phone", "amount", "qty", "score", "created", "updated", "active"]
TOOLS = {  # case: (virtualenv, pip requirements, module)
    "datadiff": ("datadiff-venv", ["data-diff[duckdb]==0.11.2", "dbt-core<1.9"], "data_diff"),
    "reladiff": ("reladiff-venv", ["reladiff[duckdb]==0.6.0"], "reladiff"),
}
CASES = ["ours", "ours_exact", "handwritten", "datadiff", "reladiff"]
CHANGED = {c: i for i, c in enumerate(COLUMNS)}  # rows with id % 900 // 100 == i change column c
CHANGES = {
    "name": "name || 'x'", "email": "'other' || email", "phone": "phone || '1'",
    "amount": "amount + 1", "qty": "qty + 1", "score": "score + 1", "created": "created + 1",
    "updated": "updated + INTERVAL 1 SECOND", "active": "NOT active",
}


def generate(path: Path, size: int) -> None:
    import duckdb

    con = duckdb.connect(str(path))  # duckdb 2.0 rejects enable_progress_bar in connect config
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"""
        CREATE OR REPLACE TABLE left_t AS SELECT i::BIGINT AS id,
          'name ' || (hash(i, 1) % 100000)::VARCHAR AS name,
          'user' || i::VARCHAR || '@example.com' AS email,
          '+1555' || lpad((hash(i, 2) % 10000000)::VARCHAR, 7, '0') AS phone,
          ((hash(i, 3) % 1000000) / 100.0)::DECIMAL(12,2) AS amount,
          (hash(i, 4) % 1000)::INTEGER AS qty,
          (hash(i, 5) % 1000000) / 1000.0 AS score,
          DATE '2020-01-01' + (hash(i, 6) % 2000)::INTEGER AS created,
          TIMESTAMP '2024-01-01' + INTERVAL (hash(i, 7) % 100000000) SECOND AS updated,
          hash(i, 8) % 2 = 0 AS active
        FROM range({int(size)}) t(i)""")
        changed = ", ".join(
            f"CASE WHEN id % 100 = 7 AND id % 900 // 100 = {CHANGED[c]} THEN {CHANGES[c]} "
            f"ELSE {c} END AS {c}" for c in COLUMNS)
        con.execute(f"CREATE OR REPLACE TABLE right_t AS SELECT id, {changed} FROM left_t "
                    "WHERE id % 1000 != 3")
        con.execute("DELETE FROM left_t WHERE id % 1000 = 5")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def run_ours(path: Path, strictness: str = "normalized") -> tuple[int, dict]:
    """Ours, normalisation-aware (default) or `exact` (what data-diff and the hand-written
    diff compare: stored values)."""
    import duckdb

    from sync_platform.engines.reconcile import diff_relations

    con = duckdb.connect(str(path), read_only=True)
    try:
        result = diff_relations(con, "left_t", "right_t", "id", strictness=strictness)
    finally:
        con.close()
    keys = result.missing_in_left + result.missing_in_right + result.mismatched_rows
    return keys, {"difference_rows": result.differences, "kinds": result.kinds}


def run_handwritten(path: Path) -> tuple[int, dict]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        differs = " OR ".join(f"l.{c} IS DISTINCT FROM r.{c}" for c in COLUMNS)
        con.execute("CREATE TEMP TABLE hand_diff AS SELECT coalesce(l.id, r.id) AS key, l.*, r.* "
                    "FROM left_t l FULL OUTER JOIN right_t r ON l.id = r.id "
                    f"WHERE l.id IS NULL OR r.id IS NULL OR {differs}")
        rows = con.execute("SELECT count(*) FROM hand_diff").fetchall()[0][0]
    finally:
        con.close()
    return rows, {"difference_rows": rows}


def run_tool(path: Path, module: str) -> tuple[int, dict]:
    """data-diff / reladiff join mode (runs under the tool's own virtualenv)."""
    import importlib
    from importlib.metadata import version

    tool = importlib.import_module(module)
    db = tool.connect({"driver": "duckdb", "filepath": str(path)})
    try:
        tables = [tool.TableSegment(db, (name,), ("id",), extra_columns=tuple(COLUMNS))
                  for name in ("left_t", "right_t")]
        differ = tool.JoinDiffer(threaded=True, max_threadpool_size=2)
        rows = list(differ.diff_tables(*tables))
    finally:
        db.close()
    detail = {"difference_rows": len(rows), "version": version(module.replace("_", "-")),
              "duckdb": version("duckdb")}
    return len({row[1][0] for row in rows}), detail


def child(case: str, path: Path, size: int, repeat: int) -> dict:
    """Best of `repeat` runs of one case; imports happen before the clock starts."""
    if case in ("ours", "ours_exact"):
        sys.path.insert(0, str(REPO))
        import sync_platform.engines.reconcile  # noqa: F401

        def run(p: Path) -> tuple[int, dict]:
            return run_ours(p, "exact" if case == "ours_exact" else "normalized")
    elif case == "handwritten":
        run = run_handwritten
    else:
        import importlib

        importlib.import_module(TOOLS[case][2])
        if case == "datadiff":  # no telemetry posts (they would fail here: no internet)
            importlib.import_module("data_diff.tracking").disable_tracking()

        def run(p: Path) -> tuple[int, dict]:
            return run_tool(p, TOOLS[case][2])
    best, keys, detail = float("inf"), 0, {}
    load = os.getloadavg()[0]  # other work on the machine skews the timings
    for _ in range(repeat):
        started = time.perf_counter()
        keys, detail = run(path)
        best = min(best, time.perf_counter() - started)
    return {"case": case, "size": size, "seconds": round(best, 3),
            "rows_per_s": round((2 * size) / best), "differing_keys": keys,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "detail": json.dumps({**detail, "load_1min": round(load, 2)})}


def tool_python(case: str) -> Path:
    """The tool's virtualenv interpreter, created (and the tool installed) on first use."""
    venv, requirements, _ = TOOLS[case]
    python = CACHE / venv / "bin" / "python"
    if not python.exists():
        print(f"creating {CACHE / venv} for {case} …", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(CACHE / venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    return python


def run_case(case: str, path: Path, size: int, repeat: int) -> dict:
    """One case in its own process: ours/handwritten under this interpreter, the tools under
    their own; the RESULT row, or a row saying why it failed."""
    try:
        python = Path(sys.executable) if case in ("ours", "ours_exact", "handwritten") \
            else tool_python(case)
    except (subprocess.CalledProcessError, OSError) as exc:
        return {"case": case, "size": size, "error": f"cannot install: {exc}"}
    args = [str(python), __file__, "--child", case, str(path), "--sizes", str(size),
            "--repeat", str(repeat)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"case": case, "size": size, "error": tail[-300:]}
    return json.loads(line.removeprefix("RESULT "))


def interleaved(cases: list[str], path: Path, size: int, repeat: int, rounds: int) -> list[dict]:
    """Each case's best over `rounds` rounds that run every case in turn (so a burst of other
    work on the machine falls on all cases alike, not on one); its peak RSS is the highest and
    its detail lists the load at the start of each round."""
    runs: dict[str, list[dict]] = {case: [] for case in cases}
    for _ in range(rounds):
        for case in cases:
            runs[case].append(run_case(case, path, size, repeat))
    rows = []
    for case in cases:
        done = [r for r in runs[case] if "error" not in r]
        if not done:
            rows.append(runs[case][-1])
            continue
        best = min(done, key=lambda r: r["seconds"])
        loads = [json.loads(r["detail"]).pop("load_1min", None) for r in done]
        detail = {**json.loads(best["detail"]), "rounds": len(done), "load_1min": loads}
        rows.append({**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
                     "detail": json.dumps(detail)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--cases", nargs="+", default=CASES, choices=CASES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the cases in turn this many times, keep each one's best")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the DuckDB files (default: temp)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        emit(child(args.child[0], Path(args.child[1]), args.sizes[0], args.repeat))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-diff-"))
    folder.mkdir(parents=True, exist_ok=True)
    measured = ["case", "size", "seconds", "rows_per_s", "peak_rss_mb", "differing_keys",
                "ratio_to_ours", "detail"]
    with ResultRows(RESULTS, measured) as out:
        for size in args.sizes:
            path = folder / f"diff_{size}.duckdb"
            if not path.exists():
                t0 = time.perf_counter()
                generate(path, size)
                print(f"generated {path} in {time.perf_counter() - t0:.1f}s", flush=True)
            expected = size // 100 + 2 * (size // 1000)
            rows = interleaved(args.cases, path, size, args.repeat, args.rounds)
            ours = next((r["seconds"] for r in rows if r["case"] == "ours" and "seconds" in r), None)
            for row in rows:
                if "error" in row:
                    row = {"case": row["case"], "size": size, "seconds": "", "rows_per_s": "",
                           "peak_rss_mb": "", "differing_keys": "", "ratio_to_ours": "",
                           "detail": json.dumps({"error": row["error"]})}
                else:
                    row["ratio_to_ours"] = round(row["seconds"] / ours, 2) if ours else ""
                    if row["differing_keys"] != expected:
                        row["detail"] = json.dumps({**json.loads(row["detail"]),
                                                    "expected_keys": expected})
                out.add(row)
            by_case = {r["case"]: r["seconds"] for r in rows if "seconds" in r}
            if ours and by_case.get("datadiff"):
                print(f"{size}: ours {by_case['datadiff'] / ours:.1f}x faster than data-diff join "
                      "mode (target >= 4)", flush=True)
            if by_case.get("ours_exact") and by_case.get("datadiff"):
                print(f"{size}: ours_exact {by_case['datadiff'] / by_case['ours_exact']:.1f}x faster "
                      "than data-diff join mode", flush=True)
            if ours and by_case.get("handwritten"):
                print(f"{size}: ours takes {ours / by_case['handwritten']:.2f}x the hand-written "
                      "time (target <= 2)", flush=True)
    if not args.keep:
        for path in folder.glob("*.duckdb"):
            os.remove(path)
        folder.rmdir()


if __name__ == "__main__":
    main()
