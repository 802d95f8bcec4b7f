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

Incremental: every run renders all golden records and reads all live rows (cheap SQL), hashes
each row's compared columns (golden rows: and the deleted flag) and compares the hashes with the
last run's, kept in `recon._state_<entity>__<system>__golden` (golden_id, target_key, h) and
`..__live` (target_key, h); `recon._state_<entity>__<system>` holds a fingerprint of everything
else the result depends on (rendered and live SQL, column types, comparison kinds, strictness,
owners / carried / pii per column, external id field, primary key). The recon rows of a target
key depend only on the golden and live rows holding that key, those without a target key
(`missing_in_target`, target_key NULL) only on that golden id's rows: so only the target keys
of changed rows (a golden row that moved keys: both keys) and the golden ids of changed golden
rows are diffed again (the `null_key` row when the live rows without a key changed), their
recon rows replaced, in one transaction with the state; rows not recomputed keep their
reconciled_at. A run expected to be incremental (state and recon table present) keeps only the
keys and hashes of every row; the rows of the affected keys, and the kind detection's sample, are
rendered again from the same queries (rendering is deterministic), whole only when it turns
full. The counts are taken over the whole recon table, as after a full run (`matched`:
live rows with a key, less the extra ones and the rows of duplicated keys). A full rebuild runs
when there is no state, the fingerprint changed, the recon table is missing, its columns changed
or its row count is not the one the state recorded, or `full=True`. The full read of both sides
stays: at 1M records it is most of what an incremental run costs (benchmarks/recon_throughput.py
--incremental).

Deterministic kinds: `diff_relations` infers the kind of a column nobody declared from a sample
(first rows plus differing values), so a row's outcome could depend on other rows, and on
which rows a run compares. Here the kinds are settled before diffing, for every compared
column: declared, else by the column types, else detected on the SAMPLE_ROWS rows of each side
with the smallest key hash; they are passed to `diff_relations` explicitly (full and
incremental alike) and are part of the fingerprint: a run whose sample gives other kinds than
the state's is full. The session time zone is set to UTC first (date and phone comparisons need it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import duckdb

from sync_platform.engines.reconcile.diff import DiffResult, diff_relations
from sync_platform.engines.reconcile.kinds import SAMPLE_ROWS, Column, infer_kinds
from sync_platform.engines.reconcile.normalize import kind_for_type
from sync_platform.engines.reconcile.ownership import TargetTable
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import column_types, columns_of, compact_when_needed, quote

SCHEMA = "recon"
KIND_NAMES = {"missing_in_right": "missing_in_target", "missing_in_left": "extra_in_target"}
PII_MASK_SQL = "'***pii:' || left(sha256(CAST({v} AS VARCHAR)), 8)"
RECON_COLUMNS = ("golden_id", "target_key", "kind", "field", "golden_value", "target_value", "owner",
                 "pushable", "reconciled_at")
STATE_PREFIX = "_state_"  # recon._state_<name>[__golden|__live]: not for analysts (publish.py)
STATE_VERSION = 1  # part of the fingerprint: a change of what the state means forces a full run
STATE_META_COLUMNS = ("parts VARCHAR", "recon_rows BIGINT", "recon_columns VARCHAR",
                      "updated_at TIMESTAMPTZ")
ROW_HASH = "_recon_row_hash"
WORK_TABLES = ("_recon_golden", "_recon_live", "_recon_gchg", "_recon_lchg", "_recon_keys",
               "_recon_gids", "_recon_left", "_recon_right", "_recon_types")
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
    mode: str = "full"  # full | incremental
    reason: str = ""  # why a run was full
    affected_keys: int = 0  # target keys whose differences were recomputed (full: all)
    affected_golden_ids: int = 0  # golden ids whose "no target key" row was recomputed (full: all)

    @property
    def differences(self) -> int:
        return self.missing_in_target + self.extra_in_target + sum(self.field_mismatches.values())


def live_rows_sql(con: duckdb.DuckDBPyConnection, t: TargetTable,
                  cols: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The target's live copy (deleted rows left out) and its columns (`cols`: the landed
    table's column types, when already read); raises LookupError when the target was never
    landed."""
    schema = f"raw_{t.system}"
    cols = column_types(con, schema, t.table) if cols is None else cols
    if not cols:
        raise LookupError(f"{t.system}.{t.table} has not been landed yet (no {schema}.{t.table})")
    return f"{quote(schema)}.{quote(t.table)} WHERE {alive(cols)}", cols


def alive(cols: dict[str, str], alias: str = "") -> str:
    """Condition: a landed row (`alias`, if given) the target has not deleted; `cols`: the
    landed table's column types. The one rule of what counts as the target's live copy."""
    column = f"{alias}.is_deleted" if alias else "is_deleted"
    return f"coalesce({column}, false) = false" if cols.get("is_deleted") == "BOOLEAN" else "true"


def _in_target(t: TargetTable, alias: str) -> str:
    """Condition: an xref row (as `alias`) of this target table."""
    return (f"{alias}.source_system = {literal(t.system)} "
            f"AND {alias}.source_table = {literal(t.table)}")


def rendered_sql(con: duckdb.DuckDBPyConnection, t: TargetTable, live_cols: dict[str, str],
                 defaults: dict[str, object] | None = None,
                 known: dict[str, str] | None = None) -> str:
    """Golden records as target rows: golden_id, target_key (xref row, else the live row holding
    the golden id in the external id field), is_deleted, then every rendered column.
    `defaults`: canonical field -> value used where the golden record has none; `known`: the
    golden table's column types, when already read."""
    from sync_platform.engines.connectors import normalized

    pk = normalized(t.primary_key[0])
    live = f"{quote('raw_' + t.system)}.{quote(t.table)}"
    golden, xref = f"golden.{quote(t.golden_table)}", f"golden.{quote(t.golden_table + '_xref')}"
    known = column_types(con, "golden", t.golden_table) if known is None else known
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
    key = "x.source_id"
    if ext and ext in live_cols:
        # A golden record the xref does not place in the target yet is found by the golden id
        # the platform wrote back (a live row first: a record deleted in the target and created
        # again by the push holds it twice). So is one whose xref rows were all deleted in the
        # target while another live row, linked to no golden record yet, holds its golden id
        # (the push created it again): that row is the record now (its first xref row points
        # there).
        target_key = f"CAST({quote(pk)} AS VARCHAR)"
        by_ext = (f"LEFT JOIN (SELECT CAST({quote(ext)} AS VARCHAR) AS gid, "
                  f"coalesce(min({target_key}) FILTER (WHERE {alive(live_cols)}), "
                  f"min({target_key})) AS k, min({target_key}) FILTER (WHERE {alive(live_cols)} "
                  f"AND {target_key} NOT IN (SELECT source_id FROM {xref} xl WHERE "
                  f"{_in_target(t, 'xl')} AND source_id IS NOT NULL)) AS unlinked "
                  f"FROM {live} WHERE {quote(ext)} IS NOT NULL GROUP BY 1) e ON e.gid = g.golden_id "
                  f"LEFT JOIN (SELECT x2.golden_id, min(x2.source_id) AS first_id, "
                  f"bool_or(l2.k IS NOT NULL) AS any_live FROM {xref} x2 LEFT JOIN "
                  f"(SELECT {target_key} AS k FROM {live} WHERE {alive(live_cols)}) l2 "
                  f"ON l2.k = x2.source_id WHERE {_in_target(t, 'x2')} "
                  f"GROUP BY 1) xs ON xs.golden_id = g.golden_id ")
        key = ("CASE WHEN x.source_id IS NULL THEN e.k WHEN NOT xs.any_live AND x.source_id = "
               "xs.first_id AND e.unlinked IS NOT NULL THEN e.unlinked ELSE x.source_id END")
    return (f"SELECT g.golden_id, {key} AS target_key, {deleted} AS golden_deleted, "
            f"{', '.join(exprs)} FROM {golden} g "
            f"LEFT JOIN {xref} x ON x.golden_id = g.golden_id AND {_in_target(t, 'x')} "
            f"{by_ext}")


def compared_columns(t: TargetTable) -> list[str]:
    names = [c.column for c in t.outbound.columns]
    if t.external_id_field and t.external_id_field not in names:
        names.append(t.external_id_field)
    return names


@dataclass
class _State:
    """The last reconciliation's bookkeeping for one target table (recon._state_<name>)."""

    parts: dict
    recon_rows: int
    recon_columns: list


def _state_names(t: TargetTable) -> tuple[str, str, str]:
    """The state tables (meta, golden row hashes, live row hashes), unquoted."""
    base = f"{STATE_PREFIX}{t.name}"
    return base, f"{base}__golden", f"{base}__live"


def _table_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[list[str]]:
    return [[r[0], r[1]] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _load_state(con: duckdb.DuckDBPyConnection, t: TargetTable,
                types: dict[tuple[str, str], dict[str, str]]) -> _State | None:
    """`types`: columns_of the state tables (and more)."""
    meta, golden, live = _state_names(t)
    if list(types[(SCHEMA, meta)]) != [c.split()[0] for c in STATE_META_COLUMNS] or not (
            types[(SCHEMA, golden)] and types[(SCHEMA, live)]):
        return None
    rows = con.execute(f"SELECT parts, recon_rows, recon_columns FROM {SCHEMA}.{quote(meta)}").fetchall()
    if len(rows) != 1:
        return None
    try:
        return _State(json.loads(rows[0][0]), rows[0][1], json.loads(rows[0][2]))
    except (TypeError, ValueError):
        return None


def _detected_kinds(con: duckdb.DuckDBPyConnection, t: TargetTable, columns: list[str],
                    sides: _Sides) -> dict[str, str]:
    """The comparison kind of every compared column: declared (TargetColumn.kind, from the
    canonical field's type; the external id column holds golden ids: text), else settled
    by the two sides' column types, else detected on a deterministic sample: the SAMPLE_ROWS
    rows of each side with the smallest hash of their key (not the first rows, not the
    differing values, as `diff_relations` would take: both depend on more than the data)."""
    kinds = {c.column: c.kind for c in t.columns if c.kind and c.column in columns}
    if t.external_id_field in columns and t.external_id_field not in kinds:
        kinds[t.external_id_field] = "text"  # it holds golden ids
    left, right = dict(sides.golden_types), dict(sides.live_types)
    rest = [Column(c, c, left[c], right[c]) for c in columns if c not in kinds]
    if any(not kind_for_type(c.left_type) and not kind_for_type(c.right_type) for c in rest):
        order_l = f"hash(golden_id, target_key), golden_id, target_key, {ROW_HASH}"
        order_r = f"hash(target_key), target_key, {ROW_HASH}"
        first_l = (f"SELECT golden_id FROM _recon_golden WHERE target_key IS NOT NULL "
                   f"ORDER BY {order_l} LIMIT {SAMPLE_ROWS}")
        first_r = f"SELECT target_key FROM _recon_live ORDER BY {order_r} LIMIT {SAMPLE_ROWS}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_sample_l AS "
                    f"{sides.golden_rows(f'target_key IS NOT NULL AND golden_id IN ({first_l})')} "
                    f"ORDER BY {order_l} LIMIT {SAMPLE_ROWS}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_sample_r AS "
                    f"{sides.live_rows(f'target_key IN ({first_r})')} ORDER BY {order_r} "
                    f"LIMIT {SAMPLE_ROWS}")
        try:
            kinds.update(infer_kinds(con, "_recon_sample_l", "_recon_sample_r", rest,
                                     sample_rows=SAMPLE_ROWS))
        finally:
            con.execute("DROP TABLE IF EXISTS _recon_sample_l; DROP TABLE IF EXISTS _recon_sample_r")
    elif rest:
        kinds.update(infer_kinds(con, "_recon_golden", "_recon_live", rest))  # types only
    return {c: kinds[c] for c in columns}


@dataclass
class _Sides:
    """This run's rendered golden rows and live rows: the queries of their rows (golden_id,
    target_key, golden_deleted / target_key, every compared column, ROW_HASH) with their column
    types, as temp tables `_recon_golden` / `_recon_live`. Those hold every column (`whole`)
    or, when the run is expected to be incremental, only the keys, golden_deleted and ROW_HASH:
    the few rows a diff needs are rendered again (the same rows: rendering is deterministic)."""

    golden: str
    live: str
    whole: bool
    golden_types: list = field(default_factory=list)
    live_types: list = field(default_factory=list)

    def golden_rows(self, where: str) -> str:
        """Every column of the golden rows meeting `where` (on golden_id, target_key)."""
        if self.whole:
            return f"SELECT * FROM _recon_golden WHERE {where}"
        # the golden ids first: a filter on them reaches the golden table's scan
        return (f"SELECT * FROM ({self.golden}) WHERE golden_id IN (SELECT golden_id FROM "
                f"_recon_golden WHERE {where}) AND ({where})")

    def live_rows(self, where: str) -> str:
        """Every column of the live rows meeting `where` (on target_key)."""
        return f"SELECT * FROM {'_recon_live' if self.whole else f'({self.live})'} WHERE {where}"


def _render(con: duckdb.DuckDBPyConnection, golden: str, live: str, whole: bool) -> _Sides:
    """_recon_golden and _recon_live from the two sides' row queries (see _Sides)."""
    sides = _Sides(golden, live, whole)
    for table, sql, keys in (("_recon_golden", golden, f"golden_id, target_key, golden_deleted, {ROW_HASH}"),
                             ("_recon_live", live, f"target_key, {ROW_HASH}")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_types AS {sql} LIMIT 0")  # as stored
        types = _table_columns(con, "_recon_types")
        if table == "_recon_golden":
            sides.golden_types = types
        else:
            sides.live_types = types
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {'*' if whole else keys} FROM ({sql})")
    return sides


def _changed_rows(con: duckdb.DuckDBPyConnection, out: str, new: str, old: str,
                  keys: list[str]) -> bool:
    """Rows of `new` (temp table: `keys` and ROW_HASH) and `old` (state table: `keys` and h)
    that are not on the other side, as `out` (keys, h, n_new, n_old: how many times each side
    holds that row). A full outer join on keys and hash, whose equal pairs are counted, not
    kept; when the counts show a repeated row (a join of repeated rows is no multiset
    difference) it falls back to an aggregate of both sides. Returns whether `old` can be
    brought to `new` row by row (no row repeated among the changes)."""
    same = " AND ".join([f"n.{quote(k)} IS NOT DISTINCT FROM o.{quote(k)}" for k in keys]
                        + [f"n.{ROW_HASH} = o.h"])
    changed = f"(n.{ROW_HASH} IS NULL OR o.h IS NULL)"  # hash() is never NULL
    picked = ", ".join(f"CASE WHEN {changed} THEN coalesce(n.{quote(k)}, o.{quote(k)}) END "
                       f"AS {quote(k)}" for k in keys)
    names = ", ".join(quote(k) for k in keys)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT changed, {names}, h, count(nh) AS n_new, "
        f"count(oh) AS n_old FROM (SELECT {changed} AS changed, {picked}, CASE WHEN {changed} "
        f"THEN coalesce(n.{ROW_HASH}, o.h) END AS h, n.{ROW_HASH} AS nh, o.h AS oh "
        f"FROM {new} n FULL OUTER JOIN {old} o ON {same}) GROUP BY ALL")
    rows_new = con.execute(f"SELECT count(*) FROM {new}").fetchall()[0][0]
    rows_old = con.execute(f"SELECT count(*) FROM {old}").fetchall()[0][0]
    pairs, only_new, only_old, most = con.execute(
        f"SELECT coalesce(sum(n_new) FILTER (WHERE NOT changed), 0), "
        f"coalesce(sum(n_new) FILTER (WHERE changed), 0), coalesce(sum(n_old) FILTER (WHERE changed), 0), "
        f"coalesce(max(greatest(n_new, n_old)) FILTER (WHERE changed), 0) FROM {out}").fetchall()[0]
    if (pairs + only_new, pairs + only_old) == (rows_new, rows_old):
        con.execute(f"DELETE FROM {out} WHERE NOT changed")
        return most <= 1
    con.execute(  # a repeated row: count each side's copies per row
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT true AS changed, {names}, h, "
        f"count(*) FILTER (WHERE w = 1) AS n_new, count(*) FILTER (WHERE w = -1) AS n_old "
        f"FROM (SELECT {names}, {ROW_HASH} AS h, 1 AS w FROM {new} UNION ALL "
        f"SELECT {names}, h, -1 FROM {old}) GROUP BY ALL HAVING n_new != n_old")
    return False


def _recon_rows_sql(t: TargetTable, diff: DiffResult | None, incremental: bool) -> str:
    """The recon table's rows: the differences of `diff` (with the golden ids holding their
    target key), then the golden records no target key was found for. `incremental`: only the
    keys in _recon_keys and golden ids in _recon_gids."""
    pii = [c.column for c in t.columns if c.pii]
    ext = t.external_id_field
    whens = " ".join(f"WHEN {literal(c.column)} THEN {literal(c.owner)}" for c in t.columns)
    owner = f"CASE d.field {whens} {f'WHEN {literal(ext)} THEN {literal(t.system)}' if ext else ''} END"
    # a value the golden record lacks is never pushed over the target's (no blanking)
    carried = ", ".join(literal(c) for c in [c.column for c in t.columns if c.carried]
                        + ([ext] if ext else [])) or "NULL"
    pushable = f"(d.kind = 'missing_in_right' OR (d.field IN ({carried}) AND d.left_value IS NOT NULL))"

    def value(side: str) -> str:
        if not pii:
            return f"d.{side}"
        listed = ", ".join(literal(c) for c in pii)
        return (f"CASE WHEN d.field IN ({listed}) AND d.{side} IS NOT NULL "
                f"THEN {PII_MASK_SQL.format(v='d.' + side)} ELSE d.{side} END")

    only_keys = " AND target_key IN (SELECT target_key FROM _recon_keys)" if incremental else ""
    only_gids = " AND golden_id IN (SELECT golden_id FROM _recon_gids)" if incremental else ""
    # a golden record deleted everywhere is not expected in the target (delete propagation
    # handles live rows it still has)
    missing = (f"SELECT golden_id, NULL AS target_key, 'missing_in_target' AS kind, NULL AS field, "
               f"NULL AS golden_value, NULL AS target_value, NULL AS owner, true AS pushable, "
               f"now() AS reconciled_at FROM _recon_golden WHERE target_key IS NULL AND NOT "
               f"golden_deleted{only_gids} AND golden_id NOT IN (SELECT golden_id FROM _recon_golden "
               f"WHERE target_key IS NOT NULL{only_gids})")
    if diff is None:
        return missing
    key_col = quote(diff.key_columns[0])
    return f"""
        SELECT g.golden_id, d.{key_col} AS target_key,
               CASE d.kind WHEN 'missing_in_right' THEN 'missing_in_target'
                           WHEN 'missing_in_left' THEN 'extra_in_target' ELSE d.kind END AS kind,
               d.field, {value('left_value')} AS golden_value, {value('right_value')} AS target_value,
               {owner} AS owner,
               CASE WHEN d.kind = 'missing_in_left' THEN false ELSE {pushable} END AS pushable,
               now() AS reconciled_at
        FROM {diff.table} d LEFT JOIN (SELECT DISTINCT golden_id, target_key FROM _recon_golden
                                       WHERE target_key IS NOT NULL{only_keys}) g
          ON g.target_key = d.{key_col}
        UNION ALL {missing}"""


def reconcile_target(con: duckdb.DuckDBPyConnection, t: TargetTable,
                     strictness: str = "normalized", full: bool = False) -> ReconResult:
    """Write recon.<entity>__<system> for one target table and return the counts.

    Incremental unless `full` (see the module docstring): the differences are recomputed only
    for the target keys and golden ids whose rendered golden rows or live rows changed since
    the last reconciliation; a full rebuild runs when there is no state, anything else the
    result depends on changed (the fingerprint), or the recon table is missing or was changed.
    Both give the same recon table, recon.summary and counts."""
    from sync_platform.engines.connectors import normalized

    started = time.perf_counter()
    con.execute(DDL)
    con.execute("SET TimeZone = 'UTC'")  # rendering and comparing dates: never the host's zone
    raw, golden_table, names = (f"raw_{t.system}", t.table), ("golden", t.golden_table), _state_names(t)
    types = columns_of(con, [raw, golden_table, *((SCHEMA, n) for n in (*names, t.name))])
    live, live_cols = live_rows_sql(con, t, types[raw])
    pk = normalized(t.primary_key[0])
    columns = compared_columns(t)
    rendered = rendered_sql(con, t, live_cols, known=types[golden_table])
    hashed = ", ".join(f"r.{quote(c)}" for c in columns)
    right_cols = ", ".join(quote(c) if c in live_cols else f"CAST(NULL AS VARCHAR) AS {quote(c)}"
                           for c in columns)
    live_select = f"SELECT CAST({quote(pk)} AS VARCHAR) AS target_key, {right_cols} FROM {live}"
    state = None if full else _load_state(con, t, types)
    out = f"{SCHEMA}.{quote(t.name)}"
    recon_columns = [[n, ty] for n, ty in types[(SCHEMA, t.name)].items()]
    sides = _render(con, f"SELECT r.*, hash({hashed}, r.golden_deleted) AS {ROW_HASH} FROM ({rendered}) r",
                    f"SELECT r.*, hash({hashed}) AS {ROW_HASH} FROM ({live_select}) r",
                    whole=state is None or not recon_columns)
    kinds = _detected_kinds(con, t, columns, sides)
    parts = {
        "version": STATE_VERSION, "duckdb": duckdb.__version__,  # its hash() makes the state
        "rendered_sql": rendered, "live_sql": live_select,
        "compared": columns, "golden_types": sides.golden_types,
        "live_types": sides.live_types, "kinds": kinds,
        "strictness": strictness, "system": t.system, "primary_key": t.primary_key,
        "external_id_field": t.external_id_field, "pii_mask": PII_MASK_SQL,
        "columns": [[c.column, c.owner, c.carried, c.pii, c.kind] for c in t.columns]}
    parts = json.loads(json.dumps(parts, default=str))  # as it reads back from the state
    meta, golden_state, live_state = (f"{SCHEMA}.{quote(n)}" for n in names)
    reason = ""
    if full:
        reason = "full=True: a full reconciliation was asked for"
    elif state is None:
        reason = "no state: first reconciliation (or its state was dropped)"
    elif not recon_columns:
        reason = f"{out} is missing"
    elif recon_columns != state.recon_columns or [c[0] for c in recon_columns] != list(RECON_COLUMNS):
        reason = f"the columns of {out} changed"
    elif (changed := sorted(k for k in parts.keys() | state.parts.keys()
                            if parts.get(k) != state.parts.get(k))):
        reason = f"fingerprint changed: {', '.join(changed)}"
    elif con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0] != state.recon_rows:
        reason = f"{out} was changed since the last reconciliation"
    began, diff_table = False, None
    try:
        if reason:
            mode = "full"
            diff = _rebuild_diff(con, sides, columns, kinds, strictness)
            diff_table = diff.table
            con.execute("BEGIN TRANSACTION")
            began = True
            matched, affected_keys, affected_gids = _rebuild(con, t, diff, out, golden_state, live_state)
        else:
            mode = "incremental"
            diff, affected_keys, affected_gids, null_keys, deltas = _changed_diff(
                con, sides, columns, kinds, strictness, golden_state, live_state)
            diff_table = diff.table if diff else None
            con.execute("BEGIN TRANSACTION")
            began = True
            matched = _update(con, t, diff, out, golden_state, live_state, deltas,
                              bool(affected_keys or affected_gids or null_keys), null_keys)
        result = _finish(con, t, out, strictness, matched, started)
        result.mode, result.reason = mode, reason
        result.affected_keys = affected_keys
        result.affected_golden_ids = result.golden_records if affected_gids is None else affected_gids
        recon_rows = con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0]
        con.execute(f"CREATE OR REPLACE TABLE {meta} ({', '.join(STATE_META_COLUMNS)})")
        con.execute(f"INSERT INTO {meta} VALUES (?, ?, ?, now())",
                    [json.dumps(parts), recon_rows, json.dumps(  # rows changed, columns did not
                        recon_columns if mode == "incremental"
                        else [[n, ty] for n, ty in column_types(con, SCHEMA, t.name).items()])])
        con.execute("COMMIT")
        began = False
        if mode == "incremental":
            compact_when_needed(con, [out, golden_state, live_state, f"{SCHEMA}.summary"])
    except BaseException:
        if began:
            con.execute("ROLLBACK")
        raise
    finally:
        for table in [*WORK_TABLES, *([diff_table] if diff_table else [])]:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _rebuild_diff(con: duckdb.DuckDBPyConnection, sides: _Sides, columns: list[str],
                  kinds: dict[str, str], strictness: str) -> DiffResult:
    """Every rendered golden row with a target key against every live row."""
    if sides.whole:
        left = f"SELECT * EXCLUDE (golden_deleted, {ROW_HASH}) FROM _recon_golden WHERE target_key IS NOT NULL"
        right = f"SELECT * EXCLUDE ({ROW_HASH}) FROM _recon_live"
    else:  # rendered again whole, once
        con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_left AS SELECT * EXCLUDE (golden_deleted, "
                    f"{ROW_HASH}) FROM ({sides.golden}) WHERE target_key IS NOT NULL")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_right AS SELECT * EXCLUDE ({ROW_HASH}) "
                    f"FROM ({sides.live})")
        left, right = "_recon_left", "_recon_right"
    return diff_relations(con, left, right, "target_key", columns=columns, kinds=kinds,
                          strictness=strictness)


def _rebuild(con: duckdb.DuckDBPyConnection, t: TargetTable, diff: DiffResult, out: str,
             golden_state: str, live_state: str) -> tuple[int, int, None]:
    """The recon table and the state tables from scratch: matched, affected keys (all) and
    golden ids (None: all)."""
    con.execute(f"CREATE OR REPLACE TABLE {out} AS {_recon_rows_sql(t, diff, False)}")
    con.execute(f"CREATE OR REPLACE TABLE {golden_state} AS SELECT golden_id, target_key, "
                f"{ROW_HASH} AS h FROM _recon_golden")
    con.execute(f"CREATE OR REPLACE TABLE {live_state} AS SELECT target_key, {ROW_HASH} AS h "
                "FROM _recon_live")
    keys = diff.matched + diff.missing_in_left + diff.missing_in_right + diff.duplicate_keys
    return diff.matched, keys, None


def _changed_diff(con: duckdb.DuckDBPyConnection, sides: _Sides, columns: list[str],
                  kinds: dict[str, str], strictness: str, golden_state: str, live_state: str
                  ) -> tuple[DiffResult | None, int, int, bool, tuple[bool, bool]]:
    """What changed since the state: _recon_gchg / _recon_lchg (changed golden / live rows),
    _recon_keys (their target keys), _recon_gids (the changed golden rows' golden ids), and the
    diff of the affected keys (None when none). Returns the diff, the numbers of affected keys
    and golden ids, whether the NULL-key live rows changed, and whether each state table can
    be updated row by row."""
    deltas = (_changed_rows(con, "_recon_gchg", "_recon_golden", golden_state,
                            ["golden_id", "target_key"]),
              _changed_rows(con, "_recon_lchg", "_recon_live", live_state, ["target_key"]))
    con.execute("CREATE OR REPLACE TEMP TABLE _recon_keys AS SELECT DISTINCT target_key FROM "
                "(SELECT target_key FROM _recon_gchg UNION ALL SELECT target_key FROM _recon_lchg) "
                "WHERE target_key IS NOT NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE _recon_gids AS SELECT DISTINCT golden_id "
                "FROM _recon_gchg WHERE golden_id IS NOT NULL")
    keys, gids, null_keys = con.execute(
        "SELECT (SELECT count(*) FROM _recon_keys), (SELECT count(*) FROM _recon_gids), "
        "(SELECT count(*) FROM _recon_lchg WHERE target_key IS NULL) > 0").fetchall()[0]
    if not (keys or null_keys):
        return None, keys, gids, null_keys, deltas
    # NULL keys match nothing: their one `null_key` row is redone when they changed
    nulls = " OR target_key IS NULL" if null_keys else ""
    affected = "target_key IN (SELECT target_key FROM _recon_keys)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_left AS SELECT * EXCLUDE (golden_deleted, "
                f"{ROW_HASH}) FROM ({sides.golden_rows(affected)})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _recon_right AS SELECT * EXCLUDE ({ROW_HASH}) "
                f"FROM ({sides.live_rows(affected + nulls)})")
    diff = diff_relations(con, "_recon_left", "_recon_right", "target_key", columns=columns,
                          kinds=kinds, strictness=strictness)
    return diff, keys, gids, null_keys, deltas


def _update(con: duckdb.DuckDBPyConnection, t: TargetTable, diff: DiffResult | None, out: str,
            golden_state: str, live_state: str, deltas: tuple[bool, bool], changed: bool,
            null_keys: bool) -> int:
    """Replace the recon rows of the affected keys and golden ids, bring the state tables to
    the current rows; returns `matched` for the whole table."""
    if changed:
        con.execute(f"DELETE FROM {out} WHERE target_key IN (SELECT target_key FROM _recon_keys) "
                    f"OR (target_key IS NULL AND golden_id IN (SELECT golden_id FROM _recon_gids))"
                    + (" OR (target_key IS NULL AND golden_id IS NULL)" if null_keys else ""))
        con.execute(f"INSERT INTO {out} {_recon_rows_sql(t, diff, True)}")
    for state_table, delta, chg, source, keys in (
            (golden_state, deltas[0], "_recon_gchg", "_recon_golden", ["golden_id", "target_key"]),
            (live_state, deltas[1], "_recon_lchg", "_recon_live", ["target_key"])):
        names = ", ".join(keys)
        if not delta:  # a repeated row: rewritten whole
            con.execute(f"CREATE OR REPLACE TABLE {state_table} AS SELECT {names}, {ROW_HASH} AS h "
                        f"FROM {source}")
            continue
        same = " AND ".join(f"s.{k} IS NOT DISTINCT FROM c.{k}" for k in keys)
        con.execute(f"DELETE FROM {state_table} s USING {chg} c WHERE c.n_old > 0 AND {same} "
                    f"AND s.h = c.h")
        con.execute(f"INSERT INTO {state_table} SELECT {names}, h FROM {chg} WHERE n_new > 0")
    # keys held once on each side (as diff_relations counts them): every live row with a key,
    # less the extra ones and the rows of duplicated keys (their count is the target_value)
    return con.execute(
        f"SELECT (SELECT count(*) FROM _recon_live WHERE target_key IS NOT NULL) "
        f"- (SELECT count(DISTINCT target_key) FROM {out} WHERE kind = 'extra_in_target') "
        f"- (SELECT coalesce(sum(CAST(target_value AS BIGINT)), 0) FROM (SELECT DISTINCT "
        f"target_key, target_value FROM {out} WHERE kind = 'duplicate_key'))").fetchall()[0][0]


def _finish(con: duckdb.DuckDBPyConnection, t: TargetTable, out: str, strictness: str,
            matched: int, started: float) -> ReconResult:
    """The counts over the whole recon table, recon.summary and a recon.runs row."""
    counts = dict(con.execute(f"SELECT kind, count(DISTINCT coalesce(target_key, golden_id)) "
                              f"FROM {out} GROUP BY 1").fetchall())
    by_field = dict(con.execute(f"SELECT field, count(*) FROM {out} WHERE kind = 'field_mismatch' "
                                f"GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
    pushable = con.execute(f"SELECT count(*) FROM {out} WHERE pushable").fetchall()[0][0]
    golden_records = con.execute(f"SELECT count(*) FROM golden.{quote(t.golden_table)}").fetchall()[0][0]
    target_rows = con.execute("SELECT count(*) FROM _recon_live").fetchall()[0][0]
    previous = con.execute(f"SELECT target_rows FROM {SCHEMA}.runs WHERE system = ? AND entity = ? "
                           "AND target_table = ? ORDER BY reconciled_at DESC LIMIT 1",
                           [t.system, t.entity, t.table]).fetchall()
    result = ReconResult(
        t, out, golden_records, target_rows, matched, counts.get("missing_in_target", 0),
        counts.get("extra_in_target", 0),
        con.execute(f"SELECT count(DISTINCT target_key) FROM {out} WHERE kind = 'field_mismatch'")
        .fetchall()[0][0], by_field, pushable, previous[0][0] if previous else None, strictness,
        time.perf_counter() - started)
    con.execute(f"DELETE FROM {SCHEMA}.summary WHERE system = ? AND entity = ? AND target_table = ?",
                [t.system, t.entity, t.table])
    con.execute(f"INSERT INTO {SCHEMA}.summary SELECT ?, ?, ?, kind, field, owner, pushable, count(*), "
                f"now() FROM {out} GROUP BY kind, field, owner, pushable", [t.system, t.entity, t.table])
    con.execute(f"INSERT INTO {SCHEMA}.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [t.system, t.entity, t.table, golden_records, target_rows, result.matched,
                 result.missing_in_target, result.extra_in_target, result.mismatched_records,
                 sum(by_field.values()), pushable, strictness, result.seconds])
    return result
