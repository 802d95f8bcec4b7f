"""Identity resolution on sandbox data: accuracy against the sandbox truth, speed and memory.

For each sandbox size (default 8,200 / 82,000 / 820,000 people, i.e. about 10k / 100k / 1M
staged contact records) the sandbox is seeded, every system landed, profiled, mapped and staged
(the same stages as understanding_throughput.py). The prepared work folder is cached under
`--keep DIR` (default benchmarks/.cache/identity_accuracy/size-<n>) so a re-run skips it; each run
resolves a fresh copy of it. Then, each step in its own process (so its peak RSS is its own):

- full resolve of contact, customer and employee, scored against `<sandbox>/truth/entities.csv`
  (which the pipeline never reads): pairwise and B-cubed precision / recall / F1;
- mutate about 1% of the records (`Sandbox.mutate`), re-land, re-stage, resolve every entity
  incrementally and score again; `incr_ratio` is incremental seconds / full seconds.

Prints the rows and appends them to benchmarks/results/identity_accuracy.csv.

    .venv/bin/python benchmarks/identity_accuracy.py [--sizes 8200 82000 820000] [--keep DIR]
        [--entities contact customer employee] [--no-incremental] [--prepare-only]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from pathlib import Path

from bench_io import ResultRows, child_result, emit, peak_mb, use_folder

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "identity_accuracy.csv"
CACHE = Path(__file__).parent / ".cache" / "identity_accuracy"
PREP_STAGES = ["prepare", "profile", "relationships", "propose", "stage"]
ENTITIES = ["contact", "customer", "employee"]
COLUMNS = ["size", "entity", "mode", "records", "changed", "seconds", "peak_rss_mb",
           "pairwise_precision", "pairwise_recall", "pairwise_f1", "bcubed_precision",
           "bcubed_recall", "bcubed_f1", "incr_ratio", "detail"]




TRUTH_TYPE = {"contact": "person", "customer": "company", "employee": "employee"}


def _truth(folder: Path, entity: str) -> dict[tuple[str, str], str]:
    """(system, source id) -> true entity, for the records of the entity's kind. Source ids are
    unique within a system (crm ids carry an object prefix); table names are not compared
    because landing normalises them (crm `Contact` lands as `contacts`)."""
    path = folder / "data" / "sandbox" / "truth" / "entities.csv"
    kind = TRUTH_TYPE[entity]
    with path.open(newline="") as fh:
        return {(r["system"], r["source_id"]): r["entity_id"] for r in csv.DictReader(fh)
                if r["entity_type"] == kind}


def _score(folder: Path, warehouse: Path, entity: str) -> dict:
    """Pairwise and B-cubed scores over the records found in both the xref and the truth."""
    from sync_platform.engines.identity import evaluate, xref_clusters

    truth = _truth(folder, entity)
    predicted = xref_clusters(warehouse, entity)
    scores = evaluate(predicted, truth)
    scores["unmatched"] = float(sum(1 for k in predicted if k not in truth))
    return scores


def run_child(step: str, folder: Path, size: int, entity: str | None) -> dict:
    """One step in this (child) process; returns its measurement."""
    if step in PREP_STAGES:
        from understanding_throughput import run_stage

        return run_stage(step, folder, size)
    use_folder(folder)
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.catalog import load_catalog

    catalog = load_catalog()
    warehouse = catalog.warehouse_path
    if step in ("full", "incremental"):
        from sync_platform.engines.identity import resolve

        started = time.perf_counter()
        result = resolve(warehouse, load_entities()[entity], full_rebuild=step == "full")
        seconds = time.perf_counter() - started
        peak = peak_mb()  # before scoring, which holds the truth in Python dicts
        scores = _score(folder, warehouse, entity)
        detail = {"candidate_pairs": result.candidate_pairs, "accepted": result.accepted_pairs,
                  "review": result.review_pairs, "clusters": result.clusters,
                  "skipped_blocks": len(result.skipped_blocks),
                  "flagged": len(result.flagged_clusters), "new_ids": result.new_golden_ids,
                  "merges": result.merges, "splits": result.splits,
                  "scored_records": int(scores["records"]), "unmatched": int(scores["unmatched"])}
        return {"size": size, "entity": entity, "mode": result.mode, "records": result.records,
                "changed": result.changed_records, "seconds": round(seconds, 2),
                "peak_rss_mb": peak, **{k: round(v, 4) for k, v in scores.items()
                                        if k not in ("records", "unmatched")},
                "incr_ratio": "", "detail": json.dumps(detail)}
    if step == "mutate":
        from sync_platform.engines.landing import land, landed_keys
        from sync_platform.engines.mapping import load_mappings
        from sync_platform.engines.sandbox import Sandbox
        from sync_platform.engines.staging import stage_all

        box = Sandbox(folder / "data" / "sandbox", seed=1, size=size)
        edits, inserts, deletes = max(1, size // 200), max(1, size // 500), max(1, size // 1000)
        t0 = time.perf_counter()
        report = box.mutate(edits=edits, inserts=inserts, deletes=deletes)
        detail: dict = {"edits": edits, "inserts": inserts, "deletes": deletes,
                        "mutate_s": round(time.perf_counter() - t0, 1)}
        box.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
        os.environ.update(box.env())
        try:
            catalog = load_catalog()
            t0 = time.perf_counter()
            for system in catalog.systems:
                land(catalog, system)
            detail["land_s"] = round(time.perf_counter() - t0, 1)
        finally:
            box.stop()
        (folder / "sandbox.env").write_text(json.dumps(box.env()))
        t0 = time.perf_counter()
        stage_all(warehouse, load_entities(), load_mappings(folder / "mappings"),
                  landed_keys(catalog))
        detail["stage_s"] = round(time.perf_counter() - t0, 1)
        detail["touched"] = sum(report.total(s, t) for s in report.changed
                                for t in report.changed[s])
        return detail
    raise ValueError(step)


def _prepared(base: Path, size: int) -> bool:
    """Seed, land, profile, map and stage into `base` unless a previous run did."""
    done = base / "prepared.json"
    if done.exists():
        print(f"[size {size}] using cached prepared warehouse {base}", flush=True)
        return True
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    detail = {}
    for stage in PREP_STAGES:
        t0 = time.perf_counter()
        print(f"[size {size}] {stage} ...", flush=True)
        row = child_result(__file__, ["--child", stage, str(base), str(size)], cwd=REPO)
        if row is None:
            return False
        detail[stage] = {"seconds": round(time.perf_counter() - t0, 1), **row}
        print(f"[size {size}] {stage} done in {time.perf_counter() - t0:.0f} s "
              f"(peak {row.get('peak_rss_mb')} MB) {row.get('detail', '')}", flush=True)
    done.write_text(json.dumps(detail, indent=1))
    return True


def _fresh_copy(base: Path, work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work, ignore=shutil.ignore_patterns("prepared.json"))
    env = json.loads((base / "sandbox.env").read_text())
    # sandbox connection settings name files inside the folder: point them at the copy
    (work / "sandbox.env").write_text(json.dumps(
        {k: v.replace(str(base), str(work)) for k, v in env.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8_200, 82_000, 820_000],
                        help="sandbox sizes (people); staged contacts are about 1.22 x size")
    parser.add_argument("--keep", type=Path, default=CACHE, help="cache folder for prepared data")
    parser.add_argument("--entities", nargs="+", default=ENTITIES)
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, folder, size, *entity = args.child
        emit(run_child(step, Path(folder), int(size), entity[0] if entity else None))
        return
    args.keep.mkdir(parents=True, exist_ok=True)
    bases = {size: (args.keep / f"size-{size}").resolve() for size in args.sizes}
    if not all(_prepared(bases[size], size) for size in args.sizes) or args.prepare_only:
        return
    with ResultRows(RESULTS, COLUMNS) as rows_out:
        for size in args.sizes:
            work = bases[size].with_name(f"size-{size}-work")
            _fresh_copy(bases[size], work)
            # re-stage the copy so the staged tables match the current staging code
            print(f"[size {size}] re-stage ...", flush=True)
            if child_result(__file__, ["--child", "stage", str(work), str(size)], cwd=REPO) is None:
                return
            full_seconds = {}
            for entity in args.entities:
                print(f"[size {size}] resolve {entity} (full) ...", flush=True)
                row = child_result(__file__, ["--child", "full", str(work), str(size), entity],
                                   cwd=REPO)
                if row is None:
                    return
                full_seconds[entity] = row["seconds"]
                rows_out.add(row)
            if args.no_incremental:
                continue
            print(f"[size {size}] mutate ~1%, re-land, re-stage ...", flush=True)
            t0 = time.perf_counter()
            mutation = child_result(__file__, ["--child", "mutate", str(work), str(size)],
                                    cwd=REPO)
            if mutation is None:
                return
            print(f"[size {size}] mutation done in {time.perf_counter() - t0:.0f} s: "
                  f"{json.dumps(mutation)}", flush=True)
            for entity in args.entities:
                print(f"[size {size}] resolve {entity} (incremental) ...", flush=True)
                row = child_result(__file__, ["--child", "incremental", str(work), str(size),
                                              entity], cwd=REPO)
                if row is None:
                    return
                row["incr_ratio"] = round(row["seconds"] / full_seconds[entity], 3)
                row["detail"] = json.dumps({**json.loads(row["detail"]),
                                            "touched_source_records": mutation["touched"]})
                rows_out.add(row)
    print(f"prepared data cached under {args.keep.resolve()}", flush=True)


if __name__ == "__main__":
    main()
