"""Wall time and peak memory of the understanding stages on a large sandbox run.

Seeds the sandbox at --size (default 1,000,000 people: ~0.7M crm contacts, 0.55M marketing
contacts, 0.46M invoices, ...), lands every system, then runs each stage in its own process
(so each peak RSS is that stage's own): profile every system, discover relationships, propose
mappings, stage every canonical entity. Prints the rows and appends them to
benchmarks/results/understanding_throughput.csv.

    .venv/bin/python benchmarks/understanding_throughput.py [--size 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from bench_io import ResultRows, child_result, emit

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "understanding_throughput.csv"
STAGES = ["prepare", "profile", "relationships", "propose", "stage"]


def _rows_in(warehouse: Path) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE 'raw\\_%' "
            "ESCAPE '\\' AND table_schema NOT LIKE '%\\_staging' ESCAPE '\\' AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'"
        ).fetchall()
        return sum(con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in tables)
    finally:
        con.close()


def run_stage(stage: str, folder: Path, size: int) -> dict:
    """One stage, in this (child) process; returns its measurement."""
    os.environ["SYNC_DATA_DIR"] = str(folder / "data")
    os.environ["SYNC_MAPPINGS_DIR"] = str(folder / "mappings")
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.catalog import load_catalog

    started = time.perf_counter()
    detail: dict = {}
    if stage == "prepare":
        import shutil

        from sync_platform.engines.landing import land
        from sync_platform.engines.sandbox import Sandbox

        shutil.copytree(REPO / "mappings", folder / "mappings", dirs_exist_ok=True)
        box = Sandbox(folder / "data" / "sandbox", seed=1, size=size)
        t0 = time.perf_counter()
        box.seed(reset=True)
        detail["seed_s"] = round(time.perf_counter() - t0, 1)
        box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
        os.environ.update(box.env())
        try:
            catalog = load_catalog()
            for system in catalog.systems:
                t0 = time.perf_counter()
                land(catalog, system)
                detail[f"land_{system}_s"] = round(time.perf_counter() - t0, 1)
        finally:
            box.stop()
        # the sandbox connection settings stay valid for later stages that only read the warehouse
        (folder / "sandbox.env").write_text(json.dumps(box.env()))
    else:
        os.environ.update(json.loads((folder / "sandbox.env").read_text()))
        catalog = load_catalog()
        warehouse = catalog.warehouse_path
        if stage == "profile":
            from sync_platform.engines.profiling import profile_system

            detail["columns"] = sum(len(profile_system(warehouse, s)) for s in catalog.systems)
        elif stage == "relationships":
            from sync_platform.engines.profiling import discover_relationships

            detail["relationships"] = len(discover_relationships(warehouse))
        elif stage == "propose":
            from sync_platform.engines.mapping import propose_mappings

            mappings = propose_mappings(warehouse, catalog, load_entities(), folder / "mappings",
                                        threshold=catalog.mapping.auto_apply_threshold)
            detail["mappings"] = len(mappings)
        elif stage == "stage":
            from sync_platform.engines.landing import landed_keys
            from sync_platform.engines.mapping import load_mappings
            from sync_platform.engines.staging import stage_all

            results = stage_all(warehouse, load_entities(), load_mappings(folder / "mappings"),
                                landed_keys(catalog))
            detail["staged"] = sum(r.staged for r in results.values())
            detail["rejected"] = sum(r.rejected for r in results.values())
    seconds = time.perf_counter() - started
    warehouse = Path(os.environ["SYNC_DATA_DIR"]) / "warehouse.duckdb"
    return {"stage": stage, "size": size, "rows_in": _rows_in(warehouse), "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "detail": json.dumps(detail)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: temp)")
    parser.add_argument("--stages", nargs="+", default=STAGES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        emit(run_stage(args.child[0], Path(args.child[1]), args.size))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-understanding-"))
    folder.mkdir(parents=True, exist_ok=True)
    with ResultRows(RESULTS, ["stage", "size", "rows_in", "seconds", "peak_rss_mb", "detail"]) as rows_out:
        for stage in args.stages:
            row = child_result(__file__, ["--size", str(args.size), "--child", stage, str(folder)], cwd=REPO)
            if row is None:
                break
            rows_out.add(row)
    print(f"work folder: {folder}")

if __name__ == "__main__":
    main()
