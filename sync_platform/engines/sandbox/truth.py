"""Ground-truth file writer: root/truth/entities.csv maps every source record to its entity.

The platform never reads it; evaluation code compares resolved entities against it.
"""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ("system", "table", "source_id", "entity_type", "entity_id")


class TruthWriter:
    """Collects (system, table, source_id, entity_type, entity_id) rows for one system."""

    def __init__(self, system: str):
        self.system = system
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, table: str, source_id: str, entity_id: str) -> None:
        self.rows.append((self.system, table, source_id, entity_id.split(":", 1)[0], entity_id))

    def write_part(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows(self.rows)


def combine(parts: list[Path], out: Path) -> None:
    """Concatenate part files (in the given order) under a header into `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerow(HEADER)
        for part in parts:
            with part.open() as src:
                fh.write(src.read())
            part.unlink()


def append(out: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    """Append rows (e.g. records inserted by `mutate`) to the truth file."""
    if not rows:
        return
    new = not out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(HEADER)
        w.writerows(rows)
