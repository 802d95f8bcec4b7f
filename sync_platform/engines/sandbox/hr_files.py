"""The `hr` system: BambooHR-style CSV exports in root/hr/exports/.

Seeding writes one full export; each mutation writes a new export holding only the changed
rows (terminations have Status "Inactive"), named and timestamped after all previous files.
"""

from __future__ import annotations

import csv
import os
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from .truth import TruthWriter
from .world import SEED_EXPORT_TIME, World

COLUMNS = ["Employee ID", "Full Name", "Work Email", "Hire Date", "Status", "Department",
           "Job Title", "Salary", "Last Changed"]
_NAME = re.compile(r"^employees_(\d{8}T\d{12})\.csv$")
ID_BASE = 1000


def export_name(ts: float) -> str:
    return "employees_" + datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%S%f") + ".csv"


def salary_text(dollars: float) -> str:
    return f"${dollars:,.2f}"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exports(folder: Path) -> list[Path]:
    """Export files in the order they were written."""
    return sorted(p for p in Path(folder).glob("employees_*.csv") if _NAME.match(p.name))


def seed_hr(world: World, folder: Path, seed: int, truth: TruthWriter) -> dict[str, int]:
    """Write the single full export of all employees."""
    rng = random.Random(f"{seed}:hr")
    r = rng.random
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("employees_*.csv"):
        old.unlink()
    rows = []
    for e in world.employees:
        eid = str(ID_BASE + e.idx)
        name = f"{e.last}, {e.first}" if r() < 0.1 else f"{e.first} {e.last}"
        email = e.email if r() >= 0.03 else e.email.title()
        rows.append([eid, name, email if r() >= 0.02 else "", e.hire_date.strftime("%d/%m/%Y"),
                     "Active" if e.active else "Inactive", e.department, e.title,
                     salary_text(e.salary), iso(e.modified_ms / 1000)])
        truth.add("employees", eid, e.entity_id)
    ts = SEED_EXPORT_TIME.timestamp()
    path = folder / export_name(ts)
    write_rows(path, COLUMNS, rows)
    os.utime(path, (ts, ts))
    return {"employees": len(rows)}


def write_rows(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)
    tmp.replace(path)


def current_state(folder: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Fold all exports (later files win) into (columns seen, employee id -> row dict)."""
    columns = list(COLUMNS)
    state: dict[str, dict[str, str]] = {}
    for path in exports(folder):
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            for col in reader.fieldnames or []:
                if col not in columns:
                    columns.append(col)
            for row in reader:
                state.setdefault(row["Employee ID"], {}).update(row)
    return columns, state


def write_delta(folder: Path, columns: list[str], rows: list[dict[str, str]]) -> tuple[Path, float]:
    """Write a new export with `rows`; its name sorts and its mtime is after all previous ones.

    Returns (path, timestamp used); rows' "Last Changed" should be set from that timestamp.
    """
    previous = exports(folder)
    floor = 0.0
    for p in previous:
        floor = max(floor, p.stat().st_mtime + 1)
        stamp = datetime.strptime(_NAME.match(p.name).group(1), "%Y%m%dT%H%M%S%f")
        floor = max(floor, stamp.replace(tzinfo=UTC).timestamp() + 1)
    ts = float(int(max(time.time(), floor)))
    for row in rows:
        row["Last Changed"] = iso(ts)
    path = Path(folder) / export_name(ts)
    write_rows(path, columns, [[row.get(c, "") for c in columns] for row in rows])
    os.utime(path, (ts, ts))
    return path, ts
