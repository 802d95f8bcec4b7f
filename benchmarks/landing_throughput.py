"""Landing throughput per connector kind: rows/s and peak memory at 10k, 100k and 1M records.

Each case runs in its own process (so peak RSS is that case's alone) against a cold warehouse:
- rest:  the sandbox Salesforce-style API (HTTP on 127.0.0.1, 2000-record pages, SOQL cursor)
- sql:   a SQLite table read by dlt sql_database (pyarrow backend, incremental cursor)
- files: a folder of 10 CSV exports read by the files connector
Every case lands N contact records of the same shape (13 fields). Results are printed and
appended to benchmarks/results/landing_throughput.csv.

    .venv/bin/python benchmarks/landing_throughput.py [--sizes 10000 100000 1000000] [--kinds rest sql files]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_io import ResultRows, child_result, emit

RESULTS = Path(__file__).parent / "results" / "landing_throughput.csv"
FIELDS = ["FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "AccountId",
          "MailingStreet", "MailingCity", "MailingPostalCode", "MailingCountry"]
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jon"]
LAST = ["Smith", "Lee", "Garcia", "Novak", "Okafor", "Rossi", "Tanaka", "Weber", "Young", "Zhou"]


def contact(i: int, rng: random.Random) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "Id": f"003{i:015d}", "FirstName": first, "LastName": last,
        "Email": f"{first}.{last}{i}@example.com".lower(), "Phone": f"(415) 555-{i % 10000:04d}",
        "MobilePhone": f"+1 650 555 {rng.randint(0, 9999):04d}", "Title": rng.choice(["CEO", "CFO", "Buyer"]),
        "AccountId": f"001{i // 5:015d}", "MailingStreet": f"{i % 999} Main St", "MailingCity": "Springfield",
        "MailingPostalCode": f"{rng.randint(10000, 99999)}", "MailingCountry": "US",
        "LastModifiedDate": f"2024-01-01T00:00:{i % 60:02d}.000+0000",
    }


def write_yaml(folder: Path, systems: str) -> None:
    (folder / "mappings").mkdir(parents=True, exist_ok=True)
    (folder / "mappings" / "systems.yaml").write_text(
        f"version: 1\nwarehouse: {{path: {folder / 'bench.duckdb'}}}\nsystems:\n{systems}")


def prepare_sql(folder: Path, rows: int) -> str:
    db = folder / "source.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    con.execute(f"CREATE TABLE contacts (Id TEXT PRIMARY KEY, {', '.join(f + ' TEXT' for f in FIELDS)}, "
                "LastModifiedDate TIMESTAMP)")
    rng = random.Random(1)
    con.executemany(f"INSERT INTO contacts VALUES ({', '.join('?' * (len(FIELDS) + 2))})",
                    (tuple(contact(i, rng).values()) for i in range(rows)))
    con.commit()
    con.close()
    return (f"  bench:\n    kind: sql\n    connection: {{url: 'sqlite:///{db}'}}\n    tables:\n"
            "      contacts: {source: contacts, primary_key: Id, cursor: LastModifiedDate}\n")


def prepare_files(folder: Path, rows: int) -> str:
    exports = folder / "exports"
    exports.mkdir()
    rng = random.Random(1)
    per_file = max(1, rows // 10)
    for part in range(0, rows, per_file):
        with open(exports / f"contacts_{part:09d}.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=["Id", *FIELDS, "LastModifiedDate"])
            writer.writeheader()
            writer.writerows(contact(i, rng) for i in range(part, min(rows, part + per_file)))
    return (f"  bench:\n    kind: files\n    connection: {{path: '{exports}'}}\n    tables:\n"
            "      contacts: {source: 'contacts_*.csv', primary_key: Id}\n")


def prepare_rest(folder: Path, rows: int):
    """The sandbox crm API serving N Contact records (bulk-inserted into its store)."""
    from sync_platform.engines.sandbox import Sandbox
    from sync_platform.engines.sandbox.store import RecordStore

    box = Sandbox(folder / "sandbox", seed=1, size=20)
    box.seed(reset=True)
    store = RecordStore(folder / "sandbox" / "crm.sqlite")
    with store.transaction() as con:
        con.execute("DELETE FROM records WHERE object = 'Contact'")
    rng = random.Random(1)
    base = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)

    def rows_iter():
        for i in range(rows):
            record = contact(i, rng)
            ts = base + i
            yield ("Contact", record["Id"], None, record["Email"], record["AccountId"], ts, ts, 0,
                   json.dumps(record))

    store.bulk_insert(rows_iter())
    urls = box.start(ports={"crm": 0, "marketing": 0, "shop": 0})
    os.environ.update(box.env())
    yaml = (f"  bench:\n    kind: rest\n    preset: salesforce\n    connection:\n"
            f"      base_url: {urls['crm']}\n      auth: {{type: bearer, token_env: CRM_TOKEN}}\n"
            "      page_size: 2000\n    tables:\n"
            "      contacts: {source: Contact, primary_key: Id, cursor: LastModifiedDate}\n")
    return yaml, box


def run_case(kind: str, rows: int) -> dict:
    """Prepare the source, land it once, return the measurement (runs in a child process)."""
    from sync_platform.engines.catalog import load_catalog
    from sync_platform.engines.landing import land

    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        folder = Path(tmp)
        os.environ["SYNC_DATA_DIR"] = str(folder / "data")
        box = None
        started = time.perf_counter()
        if kind == "rest":
            systems, box = prepare_rest(folder, rows)
        else:
            systems = {"sql": prepare_sql, "files": prepare_files}[kind](folder, rows)
        write_yaml(folder, systems)
        prepare_s = time.perf_counter() - started
        try:
            result = land(load_catalog(folder / "mappings"), "bench")
        finally:
            if box:
                box.stop()
        landed = result.tables["contacts"]
        assert landed.row_count == rows, (landed.row_count, rows)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"kind": kind, "rows": rows, "prepare_s": round(prepare_s, 1),
                "land_s": round(result.seconds, 2), "rows_per_s": round(rows / result.seconds),
                "peak_rss_mb": round(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["rest", "sql", "files"])
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        emit(run_case(args.case[0], int(args.case[1])))
        return
    with ResultRows(RESULTS, ["kind", "rows", "prepare_s", "land_s", "rows_per_s", "peak_rss_mb"]) as rows_out:
        for rows in args.sizes:
            for kind in args.kinds:
                if (row := child_result(__file__, ["--case", kind, str(rows)])) is not None:
                    rows_out.add(row)

if __name__ == "__main__":
    main()
