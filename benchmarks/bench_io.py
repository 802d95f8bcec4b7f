"""Shared by the benchmark scripts: run one case in its own process, append its result row.

A child prints one line `RESULT <json>`; running each case in a fresh process makes its peak
RSS its own. Rows are stamped with the date and machine and appended to a CSV under results/.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def child_result(script: str, args: list[str], cwd: Path | None = None) -> dict | None:
    """Run `python script *args`; its RESULT row, or None (after printing its error tail)."""
    child = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, cwd=cwd)
    line = next((x for x in child.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        print(f"{' '.join(args)}: FAILED\n{child.stderr[-3000:]}", flush=True)
        return None
    return json.loads(line.removeprefix("RESULT "))


def emit(row: dict) -> None:
    """What a child prints for its parent."""
    print("RESULT " + json.dumps(row), flush=True)


class ResultRows:
    """Append rows (plus date and machine) to a CSV and print the measured columns."""

    def __init__(self, path: Path, measured: list[str]):
        self.path, self.measured = path, measured
        self.columns = ["date", *measured, "machine"]

    def __enter__(self) -> ResultRows:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists()
        self.out = open(self.path, "a", newline="")  # noqa: SIM115 - closed in __exit__
        self.writer = csv.DictWriter(self.out, fieldnames=self.columns)
        if new_file:
            self.writer.writeheader()
        print(" | ".join(self.measured), flush=True)
        return self

    def add(self, row: dict) -> None:
        row = {**row, "date": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": f"{os.cpu_count()} cores, {platform.python_version()}"}
        self.writer.writerow(row)
        self.out.flush()
        print(" | ".join(str(row[c]) for c in self.measured), flush=True)

    def __exit__(self, *exc: object) -> None:
        self.out.close()


def peak_mb() -> int:
    """This process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def use_folder(folder: Path) -> None:
    """Point the platform at a benchmark work folder (data dir, mappings, sandbox connection)."""
    os.environ["SYNC_DATA_DIR"] = str(folder / "data")
    os.environ["SYNC_MAPPINGS_DIR"] = str(folder / "mappings")
    env_file = folder / "sandbox.env"
    if env_file.exists():
        os.environ.update(json.loads(env_file.read_text()))
