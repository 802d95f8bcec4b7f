"""Row counts, columns and a preview of landed tables, for metadata and CLI summaries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.warehouse import connect, markdown_table, quote

MASK = "***pii"


@dataclass(frozen=True)
class TableStats:
    table_name: str
    row_count: int
    columns: list[tuple[str, str]]
    preview_markdown: str


def table_stats(warehouse: Path, dataset: str, tables: list[str], preview_rows: int = 5,
                masked: Callable[[str], bool] | None = None) -> dict[str, TableStats]:
    """Stats of each named table of a dataset that exists (missing tables are left out);
    `masked(column)` says which columns hold personal data (shown as a mask in the preview)."""
    found: dict[str, TableStats] = {}
    with connect(warehouse) as con:
        existing = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [dataset]
            ).fetchall()
        }
        for table in tables:
            if table not in existing:
                continue
            name = f"{quote(dataset)}.{quote(table)}"
            count = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [dataset, table],
            ).fetchall()
            visible = [c for c, _ in columns if not c.startswith("_dlt_")][:12]
            select = ", ".join(f"CASE WHEN {quote(c)} IS NULL THEN NULL ELSE '{MASK}' END"
                               if masked and masked(c) else quote(c) for c in visible)
            rows = con.execute(f"SELECT {select} FROM {name} LIMIT {int(preview_rows)}").fetchall()
            found[table] = TableStats(table, count, columns, markdown_table(visible, rows))
    return found
