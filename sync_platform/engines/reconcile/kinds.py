"""Which kind of value a compared column holds, when the caller did not say.

Typed columns settle it by their DuckDB type (numbers, dates, timestamps, booleans), without
reading any value. Text columns are sampled on both sides (first rows, plus the values that
differ) and run through the profiler's semantic type detection: the same `run_detection` /
`decide` that `profile_relation` uses, on the sample's distinct values, without the rest of a
profile (min/max, top values, samples), which the kinds do not need. The two sides' answers are
combined (a semantic kind beats plain text; phones beat numbers and epochs, booleans and
dates/datetimes beat numbers, date beats datetime; other disagreements fall back to text).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.profiling.semantic import decide, needs_evidence, run_detection
from sync_platform.engines.reconcile.normalize import kind_for_type
from sync_platform.engines.warehouse import quote

SAMPLE_ROWS = 300  # first rows per side; up to half as many differing values are added
DETECT_DISTINCT = 20_000  # as the profiler: value tests on at most this many distinct values

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
        found = _semantic_kinds(con, table)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for c in sampled:
        kinds[c.left] = combine(found.get("l:" + c.left), found.get("r:" + c.right))
    return kinds


def _semantic_kinds(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str | None]:
    """Kind per column of a sample table, as `profile_relation(con, table, ...)` would decide
    it (its semantic type, when the column has a non-NULL value), in one detection query."""
    columns = [(r[0], r[1]) for r in con.sql(f"DESCRIBE {table}").fetchall()]
    aliases = {f"c{i}": column for i, column in enumerate(columns)}
    detect = [a for a, (_, dtype) in aliases.items() if needs_evidence(dtype)]
    evidence: dict[str, dict] = {}
    if detect:
        texts = ", ".join(f"CAST({quote(aliases[a][0])} AS VARCHAR) AS {a}" for a in detect)
        evidence = run_detection(con, (
            f"(SELECT col, val, count(*) AS cnt FROM (UNPIVOT (SELECT {texts} FROM {table}) "
            f"ON COLUMNS(*) INTO NAME col VALUE val) GROUP BY col, val QUALIFY row_number() OVER "
            f"(PARTITION BY col ORDER BY hash(val), val) <= {DETECT_DISTINCT})"))
    typed = [a for a in aliases if a not in detect]
    non_null: dict[str, int] = {}
    if typed:  # types that settle the semantic type alone: only whether a value is there
        counts = ", ".join(f"count({quote(aliases[a][0])})" for a in typed)
        non_null = dict(zip(typed, con.sql(f"SELECT {counts} FROM {table}").fetchall()[0],
                            strict=True))
    found: dict[str, str | None] = {}
    for alias, (name, dtype) in aliases.items():
        e = evidence.get(alias)
        present = e["n"] if e else non_null.get(alias, 0)
        found[name] = SEMANTIC_KINDS.get(decide(name, dtype, e)[0]) if present else None
    return found
