"""Which kind of value a compared column holds, when the caller did not say.

Typed columns settle it by their DuckDB type (numbers, dates, timestamps, booleans). Text
columns are sampled on both sides (first rows, plus the values that differ) and run through the
profiler's semantic type detection (`profile_relation`); the two sides' answers are combined (a
semantic kind beats plain text; phones beat numbers and epochs, booleans and dates/datetimes
beat numbers, date beats datetime; other disagreements fall back to text).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.reconcile.normalize import kind_for_type
from sync_platform.engines.warehouse import quote

SAMPLE_ROWS = 300  # first rows per side; up to half as many differing values are added

SEMANTIC_KINDS: dict[SemanticType, str] = {
    SemanticType.EMAIL: "email",
    SemanticType.PHONE: "phone",
    SemanticType.DATE: "date",
    SemanticType.DATETIME: "datetime",
    SemanticType.EPOCH_TIMESTAMP: "datetime",
    SemanticType.INTEGER: "number",
    SemanticType.NUMBER: "number",
    SemanticType.CURRENCY_AMOUNT: "number",
    SemanticType.BOOLEAN: "boolean",
}


@dataclass(frozen=True)
class Column:
    """A column compared on both sides: its name on each side and its DuckDB types."""

    left: str
    right: str
    left_type: str
    right_type: str


def combine(a: str | None, b: str | None) -> str:
    """One kind from the two sides' kinds (None: the side said nothing)."""
    if a == b:
        return a or "text"
    if a in (None, "text"):
        return b or "text"
    if b in (None, "text"):
        return a
    # bare digits beside phones are phones (10 digits also pass for epoch seconds), 0/1 beside
    # booleans are booleans, numbers beside dates are epochs; a date side holds no time of day
    pair = {a, b}
    if "phone" in pair and pair <= {"phone", "number", "datetime"}:
        return "phone"
    for winner, other in (("boolean", "number"), ("date", "number"), ("date", "datetime"),
                          ("datetime", "number")):
        if pair == {winner, other}:
            return winner
    return "text"


def infer_kinds(con: duckdb.DuckDBPyConnection, left: str, right: str, columns: list[Column],
                examples: str | None = None, sample_rows: int = SAMPLE_ROWS) -> dict[str, str]:
    """Kind per column (keyed by its left name) for the given columns of two relations. Text
    columns are profiled on the first `sample_rows` rows of each side, plus up to half as many
    rows of `examples` (a relation with columns `l:<left name>` / `r:<right name>`, e.g. the
    values that differ)."""
    kinds: dict[str, str] = {}
    sampled: list[Column] = []
    for c in columns:
        lk, rk = kind_for_type(c.left_type), kind_for_type(c.right_type)
        if lk or rk:
            kinds[c.left] = combine(lk, rk)
        else:
            sampled.append(c)
    if not sampled:
        return kinds
    from sync_platform.engines.profiling import profile_relation

    table = f"_diff_kinds_{uuid.uuid4().hex[:10]}"
    names = {"l": [quote("l:" + c.left) for c in sampled],
             "r": [quote("r:" + c.right) for c in sampled]}

    def side(relation: str, prefix: str) -> str:
        own = [c.left if prefix == "l" else c.right for c in sampled]
        cols = ", ".join(f"{quote(n)} AS {a}" for n, a in zip(own, names[prefix], strict=True))
        head = f"(SELECT {cols} FROM {relation} LIMIT {int(sample_rows)})"
        if examples is None:
            return head
        return (f"({head} UNION ALL (SELECT {', '.join(names[prefix])} FROM {examples} "
                f"LIMIT {int(sample_rows) // 2}))")

    con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {side(left, 'l')} "
                f"POSITIONAL JOIN {side(right, 'r')}")
    try:
        profiles = {p.column_name: p for p in profile_relation(con, table, "diff", table)}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for c in sampled:
        lp, rp = profiles.get("l:" + c.left), profiles.get("r:" + c.right)
        lk = SEMANTIC_KINDS.get(lp.semantic_type) if lp and lp.non_null_count else None
        rk = SEMANTIC_KINDS.get(rp.semantic_type) if rp and rp.non_null_count else None
        kinds[c.left] = combine(lk, rk)
    return kinds
