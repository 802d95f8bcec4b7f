"""Golden records rolled up to a target's coarser grain (a flow's `rollup` in systems.yaml).

The warehouse counts stock per SKU and location; the shop keeps one figure per SKU, the stock it
may sell. `rollup: {by: [sku], sum: [on_hand]}` gives `golden.<entity>_by_<by>`: one record per
`by` key (trimmed, case-insensitive), the `sum` fields added up over the live golden records,
`modified_at` the latest, identifier fields finer than the grain left out, any other field the
most recently modified value. It has the tables a golden entity has, so reconciliation and push
treat it like one:
- `_xref`: the member records of the grain's golden records, and every staged record that is
  itself at the grain (the whole `by` key, not the entity's whole key: the shop's variants);
- `_lineage`: per value the rule (`sum of N records`) and the records it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.catalog.models import Rollup
from sync_platform.engines.identity.keyed import key_sql
from sync_platform.engines.transforms import SQL_TYPES
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import connect, quote

COMPUTED = {"modified_at", "is_deleted"}


@dataclass(frozen=True)
class RollupResult:
    table: str  # golden.<name>
    golden_records: int
    at_grain_records: int  # staged records at the grain itself (e.g. shop variants)


def rollup_name(entity: str, rollup: Rollup) -> str:
    """`inventory` by [sku] -> `inventory_by_sku` (its golden table's name)."""
    return f"{entity}_by_{'_'.join(rollup.by)}"


def rollup_problems(entity: CanonicalEntity, rollup: Rollup) -> list[str]:
    known = set(entity.field_names)
    problems = [f"by: unknown field {f!r} of entity {entity.entity!r}" for f in rollup.by if f not in known]
    problems += [f"sum: unknown field {f!r} of entity {entity.entity!r}" for f in rollup.sum if f not in known]
    problems += [f"sum: {f!r} is not a number (type {entity.field(f).type})" for f in rollup.sum
                 if f in known and entity.field(f).type not in ("integer", "decimal")]
    return problems


def build_rollup(warehouse: Path | str, entity: CanonicalEntity, rollup: Rollup,
                 now: datetime | None = None) -> RollupResult:
    """Write golden.<entity>_by_<by>, its _xref and _lineage from golden.<entity> (see module)."""
    if problems := rollup_problems(entity, rollup):
        raise ValueError(f"rollup of {entity.entity}: {'; '.join(problems)}")
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    e, name = entity.entity, rollup_name(entity.entity, rollup)
    golden, xref, lineage = (f"golden.{quote(n)}" for n in (name, name + "_xref", name + "_lineage"))
    grain_key, _ = key_sql(rollup.by, "g")
    staged_grain, staged_present = key_sql(rollup.by, "s")
    _, whole_key = key_sql(list(entity.identifiers[0]), "s")
    prefix = literal(e + ":")
    finer = {f for group in entity.identifiers for f in group} - set(rollup.by)
    exprs = []
    for f in entity.field_names:
        sql_type = SQL_TYPES[entity.field(f).type]
        if f in rollup.sum:
            exprs.append(f"CAST(sum({quote(f)}) FILTER (WHERE NOT _deleted) AS {sql_type}) AS {quote(f)}")
        elif f == "modified_at":
            exprs.append(f"max({quote(f)}) AS {quote(f)}")
        elif f == "is_deleted":
            continue
        elif f in finer:
            exprs.append(f"CAST(NULL AS {sql_type}) AS {quote(f)}")
        else:
            exprs.append(f"arg_max({quote(f)}, coalesce(modified_at, TIMESTAMP '1970-01-01')) "
                         f"FILTER (WHERE {quote(f)} IS NOT NULL) AS {quote(f)}")
    deleted = "coalesce(g.is_deleted, false)"  # survivorship writes it for every entity
    with connect(warehouse) as con:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _rollup_members AS
            SELECT {prefix} || {grain_key} AS rollup_id, g.*, {deleted} AS _deleted
            FROM golden.{quote(e)} g""")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"""CREATE OR REPLACE TABLE {golden} AS
                SELECT rollup_id AS golden_id, {', '.join(exprs)}, bool_and(_deleted) AS is_deleted,
                       CAST(? AS TIMESTAMP) AS updated_at, count(*) AS source_count
                FROM _rollup_members GROUP BY rollup_id ORDER BY rollup_id""", [now])
            con.execute(f"""CREATE OR REPLACE TABLE {xref} AS
                SELECT m.rollup_id AS golden_id, x.source_system, x.source_table, x.source_id,
                       x.match_score, x.evidence, x.resolved_at, x.review_status
                FROM golden.{quote(e + '_xref')} x JOIN _rollup_members m USING (golden_id)
                UNION ALL
                SELECT {prefix} || {staged_grain}, s.source_system, s.source_table, s.source_id, 1.0,
                       {literal('key: ' + ', '.join(rollup.by))}, CAST(? AS TIMESTAMP), 'accepted'
                FROM staged.{quote(e)} s WHERE {staged_present} AND NOT ({whole_key})""", [now])
            sums = list(rollup.sum)
            by_rule = " UNION ALL ".join(
                f"SELECT m.rollup_id AS golden_id, {literal(f)} AS field, "
                f"CAST(sum(m.{quote(f)}) FILTER (WHERE NOT m._deleted) AS VARCHAR) AS value, "
                f"string_agg(DISTINCT l.source_system, ',') AS source_system, "
                f"string_agg(DISTINCT l.source_table, ',') AS source_table, "
                f"string_agg(l.source_id, ',' ORDER BY l.source_id) AS source_id, "
                f"'sum of ' || count(*) FILTER (WHERE NOT m._deleted) || ' records (rollup by "
                f"{', '.join(rollup.by)})' AS rule, max(m.modified_at) AS modified_at "
                f"FROM _rollup_members m LEFT JOIN golden.{quote(e + '_lineage')} l "
                f"ON l.golden_id = m.golden_id AND l.field = {literal(f)} GROUP BY m.rollup_id"
                for f in sums)
            others = [f for f in entity.field_names if f not in set(sums) | finer | COMPUTED]
            at = "coalesce(m.modified_at, TIMESTAMP '1970-01-01')"
            latest = (f"""SELECT m.rollup_id AS golden_id, l.field, arg_max(l.value, {at}) AS value,
                              arg_max(l.source_system, {at}) AS source_system,
                              arg_max(l.source_table, {at}) AS source_table,
                              arg_max(l.source_id, {at}) AS source_id,
                              'rollup: latest of ' || count(*) || ' records' AS rule,
                              max(m.modified_at) AS modified_at
                          FROM _rollup_members m JOIN golden.{quote(e + '_lineage')} l
                            ON l.golden_id = m.golden_id
                          WHERE l.field IN ({', '.join(literal(f) for f in others)}) GROUP BY ALL"""
                      if others else "")
            parts = [p for p in (by_rule, latest) if p]
            con.execute(f"CREATE OR REPLACE TABLE {lineage} AS {' UNION ALL '.join(parts)}"
                        if parts else f"CREATE OR REPLACE TABLE {lineage} AS SELECT * FROM "
                        f"golden.{quote(e + '_lineage')} LIMIT 0")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        n_golden = con.execute(f"SELECT count(*) FROM {golden}").fetchall()[0][0]
        at_grain = con.execute(f"SELECT count(*) FROM {xref} WHERE evidence = "
                               f"{literal('key: ' + ', '.join(rollup.by))}").fetchall()[0][0]
    return RollupResult(f"golden.{name}", n_golden, at_grain)
