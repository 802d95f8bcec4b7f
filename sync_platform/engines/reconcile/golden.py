"""Reconcile golden records against each target system's live copy, as last landed.

For one target table (ownership.TargetTable) the golden records are rendered into the target's
columns through its outbound mapping and compared, normalisation-aware, with `raw_<system>.<table>`
(rows the target deleted left out). A golden record finds its target row by the golden xref, or
else by the golden id the platform wrote back to the target's external id field, so a record
the push just created reconciles before the next resolve. Differences go to
`recon.<entity>__<system>`:

    golden_id, target_key, kind, field, golden_value, target_value, owner, pushable, reconciled_at

kind: `missing_in_target` (no live target row; target_key set when the xref names a row the
target no longer has), `extra_in_target` (a live row no golden record claims), `field_mismatch`;
`owner` is the system that owns the field (ownership.py), `pushable` whether a flow carries it
to this target. Personal data (`pii: true` fields) is shown as a mask with a short hash.
`recon.summary` holds counts by system, entity, kind, field and owner; `recon.runs` one row per
reconciliation (rows on each side, so the gates can see volume drops).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb

from sync_platform.engines.reconcile.diff import diff_relations
from sync_platform.engines.reconcile.ownership import TargetTable
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import quote

SCHEMA = "recon"
KIND_NAMES = {"missing_in_right": "missing_in_target", "missing_in_left": "extra_in_target"}
PII_MASK_SQL = "'***pii:' || left(sha256(CAST({v} AS VARCHAR)), 8)"
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.summary (
    system VARCHAR, entity VARCHAR, target_table VARCHAR, kind VARCHAR, field VARCHAR,
    owner VARCHAR, pushable BOOLEAN, differences BIGINT, reconciled_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
    system VARCHAR, entity VARCHAR, target_table VARCHAR, golden_records BIGINT,
    target_rows BIGINT, matched BIGINT, missing_in_target BIGINT, extra_in_target BIGINT,
    mismatched_records BIGINT, field_mismatches BIGINT, pushable_differences BIGINT,
    strictness VARCHAR, seconds DOUBLE, reconciled_at TIMESTAMPTZ);
"""


@dataclass
class ReconResult:
    """What one reconciliation found."""

    target: TargetTable
    table: str  # recon.<entity>__<system>
    golden_records: int
    target_rows: int
    matched: int
    missing_in_target: int
    extra_in_target: int
    mismatched_records: int
    field_mismatches: dict[str, int] = field(default_factory=dict)  # target column -> records
    pushable: int = 0  # differences a flow would push
    previous_target_rows: int | None = None  # the last reconciliation's count
    strictness: str = "normalized"
    seconds: float = 0.0

    @property
    def differences(self) -> int:
        return self.missing_in_target + self.extra_in_target + sum(self.field_mismatches.values())


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                       [schema, table]).fetchall()
    return dict(rows)


def live_rows_sql(con: duckdb.DuckDBPyConnection, t: TargetTable) -> tuple[str, dict[str, str]]:
    """The target's live copy (deleted rows left out) and its columns; raises LookupError when
    the target was never landed."""
    schema = f"raw_{t.system}"
    cols = _columns(con, schema, t.table)
    if not cols:
        raise LookupError(f"{t.system}.{t.table} has not been landed yet (no {schema}.{t.table})")
    where = " WHERE coalesce(is_deleted, false) = false" if cols.get("is_deleted") == "BOOLEAN" else ""
    return f"{quote(schema)}.{quote(t.table)}{where}", cols


def rendered_sql(con: duckdb.DuckDBPyConnection, t: TargetTable, live_cols: dict[str, str],
                 defaults: dict[str, object] | None = None) -> str:
    """Golden records as target rows: golden_id, target_key (xref row, else the live row holding
    the golden id in the external id field), is_deleted, then every rendered column.
    `defaults`: canonical field -> value used where the golden record has none."""
    from sync_platform.engines.connectors import normalized

    pk = normalized(t.primary_key[0])
    live = f"{quote('raw_' + t.system)}.{quote(t.table)}"
    golden, xref = f"golden.{quote(t.golden_table)}", f"golden.{quote(t.golden_table + '_xref')}"
    known = _columns(con, "golden", t.golden_table)
    filled = {f: v for f, v in (defaults or {}).items() if f in known}
    if filled:
        replaced = ", ".join(f"coalesce({quote(f)}, CAST({literal(v)} AS {known[f]})) AS {quote(f)}"
                             for f, v in filled.items())
        golden = f"(SELECT * REPLACE ({replaced}) FROM {golden})"
    exprs = [f"{c.sql} AS {quote(c.column)}" for c in t.outbound.columns]
    ext = t.external_id_field
    if ext and ext not in {c.column for c in t.outbound.columns}:
        exprs.append(f"g.golden_id AS {quote(ext)}")
    deleted = "coalesce(g.is_deleted, false)" if "is_deleted" in known else "false"
    by_ext = ""
    if ext and ext in live_cols:
        by_ext = (f"LEFT JOIN (SELECT CAST({quote(ext)} AS VARCHAR) AS gid, "
                  f"min(CAST({quote(pk)} AS VARCHAR)) AS k FROM {live} WHERE {quote(ext)} IS NOT NULL "
                  f"GROUP BY 1) e ON e.gid = g.golden_id AND x.source_id IS NULL ")
    key = "coalesce(x.source_id, e.k)" if by_ext else "x.source_id"
    return (f"SELECT g.golden_id, {key} AS target_key, {deleted} AS golden_deleted, "
            f"{', '.join(exprs)} FROM {golden} g "
            f"LEFT JOIN {xref} x ON x.golden_id = g.golden_id "
            f"AND x.source_system = {literal(t.system)} AND x.source_table = {literal(t.table)} "
            f"{by_ext}")


def compared_columns(t: TargetTable) -> list[str]:
    names = [c.column for c in t.outbound.columns]
    if t.external_id_field and t.external_id_field not in names:
        names.append(t.external_id_field)
    return names


def reconcile_target(con: duckdb.DuckDBPyConnection, t: TargetTable,
                     strictness: str = "normalized") -> ReconResult:
    """Write recon.<entity>__<system> for one target table and return the counts."""
    from sync_platform.engines.connectors import normalized

    started = time.perf_counter()
    con.execute(DDL)
    live, live_cols = live_rows_sql(con, t)
    pk = normalized(t.primary_key[0])
    columns = compared_columns(t)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_golden AS {rendered_sql(con, t, live_cols)}")
    right_cols = ", ".join(quote(c) if c in live_cols else f"CAST(NULL AS VARCHAR) AS {quote(c)}"
                           for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_live AS SELECT CAST({quote(pk)} AS VARCHAR) "
                f"AS target_key, {right_cols} FROM {live}")
    # a golden record deleted everywhere is not expected in the target (delete propagation
    # handles live rows it still has)
    left = "SELECT * EXCLUDE (golden_deleted) FROM _recon_golden WHERE target_key IS NOT NULL"
    kinds = {c.column: c.kind for c in t.columns if c.kind}
    diff = diff_relations(con, left, "_recon_live", "target_key", columns=columns, kinds=kinds,
                          strictness=strictness)
    pii = [c.column for c in t.columns if c.pii]
    ext = t.external_id_field

    def owner_sql() -> str:
        whens = " ".join(f"WHEN {literal(c.column)} THEN {literal(c.owner)}" for c in t.columns)
        return f"CASE d.field {whens} {f'WHEN {literal(ext)} THEN {literal(t.system)}' if ext else ''} END"

    def pushable_sql() -> str:
        # a value the golden record lacks is never pushed over the target's (no blanking)
        carried = [c.column for c in t.columns if c.carried] + ([ext] if ext else [])
        listed = ", ".join(literal(c) for c in carried) or "NULL"
        return f"(d.kind = 'missing_in_right' OR (d.field IN ({listed}) AND d.left_value IS NOT NULL))"

    def value(side: str) -> str:
        if not pii:
            return f"d.{side}"
        listed = ", ".join(literal(c) for c in pii)
        return (f"CASE WHEN d.field IN ({listed}) AND d.{side} IS NOT NULL "
                f"THEN {PII_MASK_SQL.format(v='d.' + side)} ELSE d.{side} END")

    out = f"{SCHEMA}.{quote(t.name)}"
    key_col = quote(diff.key_columns[0])
    con.execute(f"""
        CREATE OR REPLACE TABLE {out} AS
        SELECT g.golden_id, d.{key_col} AS target_key,
               CASE d.kind WHEN 'missing_in_right' THEN 'missing_in_target'
                           WHEN 'missing_in_left' THEN 'extra_in_target' ELSE d.kind END AS kind,
               d.field, {value('left_value')} AS golden_value, {value('right_value')} AS target_value,
               {owner_sql()} AS owner,
               CASE WHEN d.kind = 'missing_in_left' THEN false ELSE {pushable_sql()} END AS pushable,
               now() AS reconciled_at
        FROM {diff.table} d LEFT JOIN (SELECT DISTINCT golden_id, target_key FROM _recon_golden
                                       WHERE target_key IS NOT NULL) g
          ON g.target_key = d.{key_col}
        UNION ALL
        SELECT golden_id, NULL, 'missing_in_target', NULL, NULL, NULL, NULL, true, now()
        FROM _recon_golden WHERE target_key IS NULL AND NOT golden_deleted
          AND golden_id NOT IN (SELECT golden_id FROM _recon_golden WHERE target_key IS NOT NULL)
    """)
    con.execute(f"DROP TABLE IF EXISTS {diff.table}")
    counts = dict(con.execute(f"SELECT kind, count(DISTINCT coalesce(target_key, golden_id)) "
                              f"FROM {out} GROUP BY 1").fetchall())
    by_field = dict(con.execute(f"SELECT field, count(*) FROM {out} WHERE kind = 'field_mismatch' "
                                f"GROUP BY 1 ORDER BY 2 DESC").fetchall())
    pushable = con.execute(f"SELECT count(*) FROM {out} WHERE pushable").fetchall()[0][0]
    golden_records = con.execute(f"SELECT count(*) FROM golden.{quote(t.golden_table)}").fetchall()[0][0]
    target_rows = con.execute("SELECT count(*) FROM _recon_live").fetchall()[0][0]
    previous = con.execute(f"SELECT target_rows FROM {SCHEMA}.runs WHERE system = ? AND entity = ? "
                           "AND target_table = ? ORDER BY reconciled_at DESC LIMIT 1",
                           [t.system, t.entity, t.table]).fetchall()
    result = ReconResult(
        t, out, golden_records, target_rows, diff.matched, counts.get("missing_in_target", 0),
        counts.get("extra_in_target", 0),
        con.execute(f"SELECT count(DISTINCT target_key) FROM {out} WHERE kind = 'field_mismatch'")
        .fetchall()[0][0], by_field, pushable, previous[0][0] if previous else None, strictness,
        time.perf_counter() - started)
    con.execute(f"DELETE FROM {SCHEMA}.summary WHERE system = ? AND entity = ? AND target_table = ?",
                [t.system, t.entity, t.table])
    con.execute(f"INSERT INTO {SCHEMA}.summary SELECT ?, ?, ?, kind, field, owner, pushable, count(*), "
                f"max(reconciled_at) FROM {out} GROUP BY ALL", [t.system, t.entity, t.table])
    con.execute(f"INSERT INTO {SCHEMA}.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [t.system, t.entity, t.table, golden_records, target_rows, result.matched,
                 result.missing_in_target, result.extra_in_target, result.mismatched_records,
                 sum(by_field.values()), pushable, strictness, result.seconds])
    return result
