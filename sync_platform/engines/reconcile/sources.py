"""Diff two files or DuckDB tables (the `sync-platform diff` command), in an in-memory DuckDB.

A side is a CSV/TSV, Parquet or JSON(L) file (read like `mappings suggest` reads it: CSV as
text) or `path.duckdb::schema.table` (attached read-only). Files are loaded once into temp
tables; the differences can be written to CSV or Parquet. In CSV output a text cell that a
spreadsheet would run as a formula (starting with `=`, `@`, tab or CR, or `+`/`-` not followed by
a plain number) is prefixed with a single quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sync_platform.engines.mapping.suggest import relation_for
from sync_platform.engines.reconcile.diff import DiffResult, diff_relations
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import quote

FORMULA_START = r"^[=@\t\r]|^[+-]"
PLAIN_NUMBER = r"[+-][0-9][0-9 .,()/-]*"


@dataclass
class SourcesDiff:
    """A diff of two files/tables: the counts, where the differences went and the first rows."""

    result: DiffResult
    out: Path | None
    columns: list[str] = field(default_factory=list)
    preview: list[tuple] = field(default_factory=list)


def _load(con: duckdb.DuckDBPyConnection, spec: str, alias: str) -> str:
    relation, _ = relation_for(con, spec, alias)
    if "::" in spec:
        return relation
    table = f"_diff_{alias}"
    con.execute(f"CREATE TEMP TABLE {quote(table)} AS SELECT * FROM {relation}")
    return quote(table)


def formula_safe(column: str) -> str:
    """SQL for a text cell that a spreadsheet will show as text, never run as a formula."""
    c = quote(column)
    risky = (f"regexp_matches({c}, {literal(FORMULA_START)}) "
             f"AND NOT regexp_full_match({c}, {literal(PLAIN_NUMBER)})")
    return f"CASE WHEN {risky} THEN '''' || {c} ELSE {c} END AS {c}"


def write_differences(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> None:
    """Write a differences table to `out` (.csv, formula-safe, or .parquet)."""
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        con.execute(f"COPY (SELECT * FROM {table}) TO {literal(str(out))} (FORMAT parquet)")
        return
    if suffix != ".csv":
        raise ValueError(f"{out}: write differences to a .csv or .parquet file")
    described = con.sql(f"DESCRIBE SELECT * FROM {table}").fetchall()
    cells = ", ".join(formula_safe(name) if dtype == "VARCHAR" else quote(name)
                      for name, dtype, *_ in described)
    con.execute(f"COPY (SELECT {cells} FROM {table}) TO {literal(str(out))} (FORMAT csv, HEADER)")


def diff_sources(left: str, right: str, key: str | Sequence[str],
                 columns: Sequence[str] | None = None, kinds: dict[str, str] | None = None,
                 strictness: str = "normalized", out: Path | str | None = None,
                 preview: int = 20) -> SourcesDiff:
    """Diff two files/tables on `key`; write the differences to `out` when given and return
    the counts with the first `preview` differences."""
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"{out}: write differences to a .csv or .parquet file")
    con = duckdb.connect(":memory:")
    try:
        result = diff_relations(con, _load(con, left, "left"), _load(con, right, "right"), key,
                                columns=columns, kinds=kinds, strictness=strictness)
        if out_path is not None:
            write_differences(con, result.table, out_path)
        rows = con.execute(f"SELECT * FROM {result.table} LIMIT {int(preview)}")
        names = [d[0] for d in rows.description]
        return SourcesDiff(result, out_path, names, rows.fetchall())
    finally:
        con.close()
