"""End-to-end scale: the sandbox at 10k / 100k / 1M source rows through every stage, then 1% changes.

For each `--sizes` value (total rows seeded across all sandbox systems; the sandbox `size`, in
people, is chosen so the seeded total comes close) the script:

1. seeds the sandbox (timed, but not processing time: it builds the source systems);
2. serves the three HTTP systems (crm, marketing, shop) from a separate process, as real
   external systems would be (they do not share the pipeline's interpreter or its GIL);
3. runs the stages of the `sync` job as Dagster runs them (every step forked from a
   forkserver that imported the code once per run, see `sync_platform/defs/executor.py`): a
   stage host process imports the engines once per run (the `startup` row, counted as
   processing), then forks one process per stage (its own CPU time and peak RSS), calling the
   same engine functions as the Dagster assets in `sync_platform/defs/`:
   - `land`: every system whose probe markers moved since its last landing (dlt, merge into
     raw_<system>), as the `source_freshness` sensor lands them;
   - `profile`: `profile_system` per system, then `discover_relationships`;
   - `map`: `propose_mappings`;
   - `stage`: `stage_entity` per canonical entity;
   - `golden`: `resolve` + `build_golden` + `golden_gates` per resolved entity;
   - `reconcile`: per flow target `reconcile_target` + `summarize_change_set` + `recon_gates`, then
     `publish` (the analysts' copy);
   - `push`: `push_target` per flow target: builds the change set again, pushes it at the
     configured `rate_limit` of systems.yaml, lands the target again and verifies. Its wall time
     is bounded by the rate limits and reported apart from processing time; above
     `--push-max-rows` seeded rows (default 200,000) it is skipped: the change sets are still
     built and timed in `reconcile` (`change_set_s`);
4. after a push, one `settle` run of every stage (not counted): the records the push created
   come back with the next landing, and the 1% change is measured from that steady state;
5. mutates ~1% of the seeded records in the source systems (`Sandbox.mutate`, per system: 70%
   edits, 20% inserts, 10% soft deletes) and runs the same stages again (`incremental`:
   landing reads only the changes; every other stage runs as automation would run it).

Every stage row has wall `seconds`, `cpu_s` (user + system CPU of the stage's process, all
threads: compare it with `seconds` when the machine is shared, see `load`) and `peak_rss_mb`.
Processing time = sum of the stages but `push`; the `total_processing` row of the incremental
run has its `share` of the full run. Rows are printed and appended to
benchmarks/results/e2e_scale.csv.

    .venv/bin/python benchmarks/e2e_scale.py [--sizes 10000 100000 1000000]
        [--stages land profile map stage golden reconcile push] [--no-incremental]
        [--push-max-rows 200000] [--keep DIR] [--results CSV]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_io import ResultRows, emit, peak_mb, use_folder

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "e2e_scale.csv"
STAGES = ["land", "profile", "map", "stage", "golden", "reconcile", "push"]
RATE_LIMITED = {"push"}  # wall time bounded by the targets' rate limits, not processing
COLUMNS = ["size", "people", "rows", "run", "stage", "seconds", "cpu_s", "peak_rss_mb", "share",
           "load", "detail"]
SEED = 1
ROWS_PER_PERSON = 2.98  # seeded rows per sandbox person (3,100 people -> 9,244 rows)
CHANGE_SHARE = 0.01



def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (user + system, all threads)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else ""


def progress(message: str) -> None:
    """A progress line from a child (the parent prefixes and prints it)."""
    print(f"PROGRESS {message}", flush=True)


class Timer:
    """Sub-step timings of a stage, printed as they finish."""

    def __init__(self):
        self.steps: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Step:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                seconds = time.perf_counter() - self.t0
                timer.steps[name] = round(timer.steps.get(name, 0) + seconds, 2)
                progress(f"{name} {seconds:.1f} s")

        return _Step()


# -- children ---------------------------------------------------------------------------------


def _sandbox(folder: Path, people: int):
    from sync_platform.engines.sandbox import Sandbox

    return Sandbox(folder / "data" / "sandbox", seed=SEED, size=people)


def child_seed(folder: Path, people: int) -> dict:
    shutil.copytree(REPO / "mappings", folder / "mappings", dirs_exist_ok=True)
    use_folder(folder)
    counts = _sandbox(folder, people).seed(reset=True)
    return {"counts": counts, "rows": sum(sum(t.values()) for t in counts.values())}


def child_mutate(folder: Path, people: int, counts: dict) -> dict:
    """~CHANGE_SHARE of every source table: per system, a share of its mean table size."""
    from sync_platform.engines.sandbox import Sandbox

    use_folder(folder)
    box = _sandbox(folder, people)
    touched, asked = 0, {}
    total = sum(sum(t.values()) for t in counts.values())
    sources = sum(sum(counts[s].values()) for s in Sandbox.SOURCE_SYSTEMS)
    for system in Sandbox.SOURCE_SYSTEMS:
        # the targets (payroll, shop) change through the pushes: the sources carry the whole share
        tables = counts[system]
        n = max(3, round(CHANGE_SHARE * total / sources * sum(tables.values()) / len(tables)))
        edits, inserts = round(0.7 * n), round(0.2 * n)
        deletes = n - edits - inserts
        report = box.mutate(edits=edits, inserts=inserts, deletes=deletes, systems=[system])
        asked[system] = [edits, inserts, deletes]
        touched += sum(report.total(s, t) for s in report.changed for t in report.changed[s])
    return {"touched": touched, "per_table_edits_inserts_deletes": asked}


def _golden(catalog, folder: Path, timer: Timer) -> dict:
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.identity import MatchConfig, resolve
    from sync_platform.engines.identity.config import RESOLVED_ENTITIES
    from sync_platform.engines.survivorship import build_golden, load_rules
    from sync_platform.engines.survivorship.gates import golden_gates

    mappings = folder / "mappings"
    entities = load_entities(mappings)
    detail = {}
    for name in RESOLVED_ENTITIES:
        model, match = entities[name], MatchConfig()
        with timer(f"resolve {name}"):
            resolution = resolve(catalog.warehouse_path, model, config=match, mappings_dir=mappings)
        with timer(f"survivorship {name}"):
            survived = build_golden(catalog.warehouse_path, model,
                                    load_rules(mappings, model, catalog.system_of_record),
                                    catalog.system_of_record)
        with timer(f"gates {name}"):
            gates = golden_gates(catalog.warehouse_path, model, max_cluster_size=match.max_cluster_size,
                                 reviewed_clusters=set(resolution.flagged_clusters))
        detail[name] = {"mode": resolution.mode, "records": resolution.records,
                        "changed": resolution.changed_records, "golden": survived.golden_records,
                        "gates_failed": [g.name for g in gates if not g.passed]}
    return detail


def _reconcile(catalog, folder: Path, timer: Timer) -> dict:
    from sync_platform.engines.push.changeset import summarize_change_set
    from sync_platform.engines.push.cycle import initial_sync, plan_for, recon_gates
    from sync_platform.engines.reconcile.golden import reconcile_target
    from sync_platform.engines.reconcile.publish import publish
    from sync_platform.engines.warehouse import connect

    detail = {}
    for t in plan_for(catalog, mappings_dir=folder / "mappings").targets:
        with timer(f"reconcile {t.name}"):
            with connect(catalog.warehouse_path) as con:
                result = reconcile_target(con, t, catalog.reconcile.strictness)
                t0 = time.perf_counter()
                plan = summarize_change_set(con, t, max_delete_share=catalog.push.max_delete_share)
                change_set_s = time.perf_counter() - t0
            gates = recon_gates(catalog, result, plan, initial_sync(catalog, t))
        detail[t.name] = {"differences": result.differences, "pushable": result.pushable,
                          "changes": plan.creates + plan.updates + plan.deletes + plan.deferred,
                          "change_set_s": round(change_set_s, 2),
                          "gates_failed": [g.name for g in gates if not g.passed]}
    with timer("publish"):
        publish(catalog.warehouse_path)
    return detail


def _push(catalog, folder: Path, timer: Timer) -> dict:
    from sync_platform.engines.push.cycle import plan_for, push_target

    detail = {}
    floor = 0.0
    for t in plan_for(catalog, mappings_dir=folder / "mappings").targets:
        with timer(f"push {t.name}"):
            cycle = push_target(catalog, t)
        requests = sum(r.requests for r in (cycle.report, cycle.deferred_report) if r)
        limit = catalog.systems[t.system].rate_limit
        rps = getattr(limit, "requests_per_second", None) if limit else None
        floor += requests / rps if rps else 0.0
        detail[t.name] = {"changes": len(cycle.change_set.changes) + len(cycle.change_set.deferred),
                          "requests": requests, "rate_limit_rps": rps, "verified": cycle.verified,
                          "remaining": cycle.remaining, "seconds": round(cycle.seconds, 1)}
    detail["rate_limit_floor_s"] = round(floor, 1)
    return detail


def child_stage(stage: str, folder: Path) -> dict:
    use_folder(folder)
    from sync_platform.engines.catalog import load_catalog

    catalog = load_catalog()
    warehouse = catalog.warehouse_path
    timer = Timer()
    started, cpu_started = time.perf_counter(), _cpu_s()
    detail: dict = {}
    if stage == "land":
        from sync_platform.engines.connectors.probe import probe_system
        from sync_platform.engines.landing import land

        # as the source_freshness sensor runs it: one cheap probe per table, and only the
        # systems whose change markers moved since the last landing are landed
        markers_file = folder / "probe_markers.json"
        seen = json.loads(markers_file.read_text()) if markers_file.exists() else {}
        for system in catalog.systems:
            with timer(f"probe {system}"):
                markers = probe_system(catalog, system)
            if system in seen and seen[system] == markers and None not in markers.values():
                detail[system] = "unchanged (probe)"
                continue
            with timer(f"land {system}"):
                result = land(catalog, system)
            seen[system] = markers
            detail[system] = sum(t.rows_landed for t in result.tables.values())
        markers_file.write_text(json.dumps(seen, sort_keys=True))
    elif stage == "profile":
        from sync_platform.engines.profiling import discover_relationships, profile_system

        for system in catalog.systems:
            with timer(f"profile {system}"):
                profile_system(warehouse, system)
        with timer("relationships"):
            detail["relationships"] = len(discover_relationships(warehouse))
    elif stage == "map":
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.mapping import propose_mappings

        mappings = propose_mappings(warehouse, catalog, load_entities(folder / "mappings"),
                                    folder / "mappings", threshold=catalog.mapping.auto_apply_threshold)
        detail["mappings"] = len(mappings)
    elif stage == "stage":
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.landing import landed_external_ids, landed_keys
        from sync_platform.engines.mapping import load_mappings
        from sync_platform.engines.staging import stage_entity

        mappings = load_mappings(folder / "mappings")
        keys, external = landed_keys(catalog), landed_external_ids(catalog)
        for entity in load_entities(folder / "mappings").values():
            with timer(f"stage {entity.entity}"):
                result = stage_entity(warehouse, entity, mappings, keys, external)
            detail[entity.entity] = [result.read, result.staged, result.rejected]
    elif stage == "golden":
        detail = _golden(catalog, folder, timer)
    elif stage == "reconcile":
        detail = _reconcile(catalog, folder, timer)
    elif stage == "push":
        detail = _push(catalog, folder, timer)
    else:
        raise ValueError(stage)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "cpu_s": round(_cpu_s() - cpu_started, 2),
            "peak_rss_mb": peak_mb(), "load": _load(),
            "detail": json.dumps({"steps": timer.steps, **detail})}


def serve(folder: Path, people: int) -> None:
    """Serve the HTTP sandbox systems until SIGTERM; their connection settings go to sandbox.env."""
    from sync_platform.engines.sandbox import Sandbox

    use_folder(folder)
    box = _sandbox(folder, people)
    box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
    (folder / "sandbox.env").write_text(json.dumps(box.env()))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("READY", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        box.stop()


def host(folder: Path) -> None:
    """Import what every stage needs once, then fork one process per stage name read from stdin
    (as the forkserver of Dagster's multiprocess executor forks each step); each child prints
    its progress and RESULT on the shared stdout, the host `DONE` after it ended."""
    import os

    import sync_platform.engines.connectors.probe  # noqa: F401 - preloaded for the forks
    import sync_platform.engines.landing  # noqa: F401
    import sync_platform.engines.mapping  # noqa: F401
    import sync_platform.engines.profiling  # noqa: F401
    import sync_platform.engines.push.cycle  # noqa: F401
    import sync_platform.engines.reconcile.publish  # noqa: F401
    import sync_platform.engines.staging  # noqa: F401
    import sync_platform.engines.survivorship.gates  # noqa: F401

    print(f"READY {_cpu_s():.2f}", flush=True)
    for line in sys.stdin:
        stage = line.strip()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                emit(child_stage(stage, folder))
                code = 0
            finally:
                sys.stdout.flush()
                os._exit(code)
        os.waitpid(pid, 0)
        print("DONE", flush=True)


# -- parent -----------------------------------------------------------------------------------

def _read_result(lines, label: str, until: str | None = None) -> dict | None:
    """Echo a child's progress lines with elapsed time until `until` (or the end); its RESULT."""
    t0 = time.perf_counter()
    result = None
    for line in lines:
        if line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
        elif line.startswith("PROGRESS "):
            print(f"    {label} +{time.perf_counter() - t0:6.1f} s  {line.removeprefix('PROGRESS ').rstrip()}",
                  flush=True)
        elif until and line.strip() == until:
            break
    return result


def _start(args: list[str]) -> tuple[subprocess.Popen, list[str]]:
    """A process of this script, its stderr collected in the background."""
    child = subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(child.stderr), daemon=True).start()
    return child, stderr


def run_child(args: list[str], label: str) -> dict | None:
    """Run a child of this script, echo its progress lines with elapsed time; its RESULT."""
    child, stderr = _start(args)
    child.stdin.close()
    result = _read_result(child.stdout, label)
    child.wait()
    if result is None:
        print(f"{label}: FAILED (exit {child.returncode})\n{''.join(stderr)[-3000:]}", flush=True)
    return result


class StageHost:
    """The stage host of one run (see `host`): started (and timed) once, then one fork per stage."""

    def __init__(self, folder: Path):
        t0 = time.perf_counter()
        self.process, self.stderr = _start(["--host", str(folder)])
        ready = self.process.stdout.readline().split()
        if ready[:1] != ["READY"]:
            self.process.kill()
            raise RuntimeError(f"stage host did not start:\n{''.join(self.stderr)[-3000:]}")
        self.seconds, self.cpu_s = round(time.perf_counter() - t0, 2), float(ready[1])

    def run(self, stage: str, label: str) -> dict | None:
        self.process.stdin.write(stage + "\n")
        self.process.stdin.flush()
        result = _read_result(self.process.stdout, label, until="DONE")
        if result is None:
            print(f"{label}: FAILED\n{''.join(self.stderr)[-3000:]}", flush=True)
        return result

    def close(self) -> dict:
        """The startup row: wall and CPU time of the host until it was ready (its imports)."""
        self.process.stdin.close()
        self.process.wait()
        return {"seconds": self.seconds, "cpu_s": self.cpu_s, "peak_rss_mb": "",
                "load": _load(), "detail": json.dumps({"imports": "engines, dlt, pandas, duckdb"})}


def start_server(folder: Path, people: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), str(people)],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = server.stdout.readline()
    if line.strip() != "READY":
        server.kill()
        raise RuntimeError(f"sandbox server did not start: {line!r}")
    return server


def run_size(target_rows: int, stages: list[str], incremental: bool, base: Path,
             rows_out: ResultRows, push_max_rows: int) -> None:
    people = max(100, round(target_rows / ROWS_PER_PERSON))
    folder = base / f"rows-{target_rows}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tag = f"[{target_rows:,}]"
    print(f"{tag} seeding the sandbox ({people:,} people) ...", flush=True)
    t0 = time.perf_counter()
    seeded = run_child(["--child", "seed", str(folder), str(people)], f"{tag} seed")
    if seeded is None:
        return
    rows = seeded["rows"]
    seed_s = round(time.perf_counter() - t0, 1)
    print(f"{tag} seeded {rows:,} rows in {seed_s} s: {json.dumps(seeded['counts'])}", flush=True)
    common = {"size": target_rows, "people": people, "rows": rows}
    if "push" in stages and rows > push_max_rows:
        print(f"{tag} {rows:,} rows > --push-max-rows {push_max_rows:,}: no push stage (its change "
              "sets are built and timed in the reconcile stage)", flush=True)
        stages = [s for s in stages if s != "push"]
    rows_out.add({**common, "run": "seed", "stage": "seed", "seconds": seed_s, "cpu_s": "", "peak_rss_mb": "",
                  "share": "", "load": _load(), "detail": json.dumps(seeded["counts"])})
    server = start_server(folder, people)
    try:
        totals: dict[str, float] = {}
        runs = ["full"]
        if incremental:
            # after a push the records it created come back with the next landing: one settling
            # run (not counted) reaches the steady state the 1% change is measured from
            runs += ["settle", "incremental"] if "push" in stages else ["incremental"]
        for run in runs:
            if run == "incremental":
                print(f"{tag} mutating ~{CHANGE_SHARE:.0%} of the source records ...", flush=True)
                t0 = time.perf_counter()
                mutated = run_child(["--child", "mutate", str(folder), str(people),
                                     json.dumps(seeded["counts"])], f"{tag} mutate")
                if mutated is None:
                    return
                rows_out.add({**common, "run": "mutate", "stage": "mutate",
                              "seconds": round(time.perf_counter() - t0, 1), "cpu_s": "", "peak_rss_mb": "",
                              "share": round(mutated["touched"] / rows, 4), "load": _load(),
                              "detail": json.dumps(mutated)})
            processing = limited = cpu = 0.0
            peak = 0
            run_started = time.perf_counter()
            stage_host = StageHost(folder)
            print(f"{tag} {run} startup (imports, once per run) {stage_host.seconds:.1f} s", flush=True)
            for stage in stages:
                label = f"{tag} {run} {stage}"
                print(f"{label} ... (load {_load()})", flush=True)
                row = stage_host.run(stage, label)
                if row is None:
                    stage_host.close()
                    return
                print(f"{label} done in {row['seconds']:.1f} s (cpu {row['cpu_s']:.1f} s), peak {row['peak_rss_mb']} MB "
                      f"[run elapsed {time.perf_counter() - run_started:.0f} s]", flush=True)
                if stage in RATE_LIMITED:
                    limited += row["seconds"]
                else:
                    processing += row["seconds"]
                    cpu += row["cpu_s"]
                peak = max(peak, row["peak_rss_mb"])
                rows_out.add({**common, "run": run, "stage": stage, "share": "", **row})
            startup = stage_host.close()
            processing += startup["seconds"]
            cpu += startup["cpu_s"]
            rows_out.add({**common, "run": run, "stage": "startup", "share": "", **startup})
            totals[run] = processing
            share = round(processing / totals["full"], 4) if run == "incremental" and totals["full"] else ""
            rows_out.add({**common, "run": run, "stage": "total_processing", "seconds": round(processing, 2),
                          "cpu_s": round(cpu, 2), "peak_rss_mb": peak, "share": share, "load": _load(),
                          "detail": json.dumps({"stages": stages, "push_s": round(limited, 2)})})
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="total seeded source rows across all sandbox systems")
    parser.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--push-max-rows", type=int, default=200_000,
                        help="skip the rate-limited push stage above this many seeded rows")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work folder (kept; default: a temp folder, removed)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="CSV the rows are appended to")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host:
        host(Path(args.host))
        return
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    if args.child:
        step, folder, *rest = args.child
        if step == "seed":
            emit(child_seed(Path(folder), int(rest[0])))
        elif step == "mutate":
            emit(child_mutate(Path(folder), int(rest[0]), json.loads(rest[1])))
        else:
            emit(child_stage(step, Path(folder)))
        return
    stages = [s for s in STAGES if s in args.stages]
    base = (args.keep or Path(tempfile.mkdtemp(prefix="bench-e2e-"))).resolve()
    base.mkdir(parents=True, exist_ok=True)
    try:
        with ResultRows(args.results, COLUMNS) as rows_out:
            for size in args.sizes:
                run_size(size, stages, not args.no_incremental, base, rows_out, args.push_max_rows)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"work folder: {base}")


if __name__ == "__main__":
    main()
