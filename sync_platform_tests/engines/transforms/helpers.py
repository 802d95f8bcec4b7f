"""Run one FieldRule over a few literal values in an in-memory DuckDB."""

from __future__ import annotations

import duckdb

from sync_platform.engines.canonical import FieldRule, TransformStep
from sync_platform.engines.transforms import compile_rule, layered_select, register_udfs
from sync_platform.engines.warehouse import quote


def rule(sources, targets, *steps) -> FieldRule:
    return FieldRule(sources=list(sources), targets=list(targets), confidence=1.0,
                     status="approved",
                     transform=[TransformStep(kind=k, params=p) for k, p in steps])


def run(the_rule: FieldRule, rows: list[tuple]) -> list[dict]:
    """Each row (one value per source) -> {target: value, ..., 'errors': [reasons]}."""
    con = duckdb.connect()
    try:
        register_udfs(con)
        cols = ", ".join(f"{quote(s)} VARCHAR" for s in the_rule.sources)
        con.execute(f"CREATE TABLE t (__i INTEGER, {cols})")
        marks = ", ".join("?" for _ in range(len(the_rule.sources) + 1))
        con.executemany(f"INSERT INTO t VALUES ({marks})", [(i, *r) for i, r in enumerate(rows)])
        compiled = compile_rule(the_rule, {s: quote(s) for s in the_rule.sources})
        columns = ["__i"] + [f"{expr} AS {quote(t)}" for t, expr in compiled.outputs.items()]
        errors = ", ".join(f"CASE WHEN {c.condition} THEN '{c.reason}' END" for c in compiled.checks)
        columns.append(f"list_filter([{errors}], lambda x: x IS NOT NULL) AS errors")
        sql = layered_select("t", [compiled], columns) + " ORDER BY __i"
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def one(kind: str, values: list, params: dict | None = None, targets=("out",)) -> list[dict]:
    return run(rule(["v"], targets, (kind, params or {})), [(v,) for v in values])
