"""What to send to a target: its reconciliation's pushable differences, filtered by the flow rules.

Input: a fresh `recon.<entity>__<system>` (reconcile.golden) and the target table's plan
(reconcile.ownership: owner and `carried` per column). Output: push Changes in the target's own
field names (its schema as it describes itself), with the lineage of every value and the target's
current values as `before`:
- a golden record the target does not hold -> `create` with every rendered value (not in
  `update_only` flows; matched before create by the push: external id, shared identifier, xref).
  That includes a record the target deleted while its golden record lives on: the system of record
  wins and it is created again (`propagate_deletes` is about deletes going *to* targets, not from
  them). Such a create's version covers the target record it replaces (`_replaced`), so the ledger
  does not take it for the acknowledged create of the same values before;
- carried fields that differ -> `update` of just those fields plus the golden id written back
  (not in `create_only` flows); fields the target owns are never sent;
- a golden record deleted in every source while the target still has it -> `delete`, only when
  a flow says `propagate_deletes: true` and the deletes stay under `push.max_delete_share` of the
  target's rows (the safety switch: more is held back unless `allow_mass_delete`);
- golden records held for review (over-merge guard) are never pushed.
Targets addressed by a shared identifier (HubSpot-style email) cannot change that identifier in
the same write that attaches the golden id: such a record is attached by its current value first
and its new value follows as a second change (`deferred`), keyed by the golden id.

Every decision (send, skip and why, second pass) is made once, set-based, in one plan query:
`summarize_change_set` counts its rows in SQL for the reconciliation's gates and metadata (no
Python object per record, which at 1M golden records cost over a minute; nor a field list per
record, which cost most of counting), and `build_change_set` stores the same plan as the
`_cs_plan` temp table and turns it into Change objects only when the push needs them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from sync_platform.engines.connectors import normalized
from sync_platform.engines.push.changes import Change, payload_hash
from sync_platform.engines.reconcile.golden import live_rows_sql, rendered_sql
from sync_platform.engines.reconcile.ownership import TargetTable
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import columns_of, quote, table_exists


@dataclass
class ChangeSummary:
    """How many changes a change set holds, by operation, and what it leaves out (and why)."""

    creates: int = 0
    updates: int = 0
    deletes: int = 0
    deferred: int = 0  # second-pass address changes
    data_changes: int = 0  # changes that alter the target's data (a bare golden-id write-back does not)
    skipped: dict[str, int] = field(default_factory=dict)  # why -> records not sent

    @property
    def not_sent(self) -> int:
        return sum(self.skipped.values())


@dataclass
class ChangeSet:
    target: TargetTable
    changes: list[Change] = field(default_factory=list)
    deferred: list[Change] = field(default_factory=list)  # send after `changes` are acknowledged
    skipped: dict[str, int] = field(default_factory=dict)  # why -> records not sent
    skipped_ids: set[str] = field(default_factory=set)

    def count(self, operation: str) -> int:
        return sum(1 for c in self.changes if c.operation == operation)

    def summary(self) -> ChangeSummary:
        every = self.changes + self.deferred
        return ChangeSummary(self.count("create"), self.count("update"), self.count("delete"),
                             len(self.deferred),
                             sum(1 for c in every if c.operation != "update" or c.payload),
                             dict(self.skipped))

    def skip(self, why: str, *golden_ids: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + len(golden_ids)
        self.skipped_ids.update(golden_ids)


def plain(value: Any) -> Any:
    """A DuckDB value as JSON-friendly Python (integral decimals as int, dates as ISO text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT")
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


def as_target_type(value: Any, dtype: str | None) -> Any:
    """`value` as the target's landed column type holds it (a rendered 'true' for an integer
    flag is 1, an integral 5.7e6 for a BIGINT is 5700000); unknown types pass through plain()."""
    value = plain(value)
    if value is None or dtype is None:
        return value
    dtype = dtype.upper()
    text = str(value).strip().lower()
    if dtype == "BOOLEAN":
        return True if text in _TRUE else False if text in _FALSE else value
    numeric = dtype in _INTEGER_TYPES or dtype in ("DOUBLE", "FLOAT", "REAL") or dtype.startswith("DECIMAL")
    if not numeric:
        return value
    if text in _TRUE or text in _FALSE:
        return int(text in _TRUE)
    try:
        number = float(text)
    except ValueError:
        return value
    if dtype in _INTEGER_TYPES or number.is_integer():
        return int(number) if number.is_integer() else value
    return number


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _lineage(con: duckdb.DuckDBPyConnection, golden_table: str) -> dict[str, dict[str, dict]]:
    """golden_id -> canonical field -> where its value came from, for the records sent."""
    table = f"golden.{quote(golden_table + '_lineage')}"
    rows = con.execute(f"SELECT l.golden_id, l.field, l.source_system, l.source_table, l.source_id, "
                       f"l.rule FROM {table} l WHERE l.golden_id IN (SELECT golden_id FROM _cs_plan "
                       f"WHERE operation IS NOT NULL)").fetchall()
    out: dict[str, dict[str, dict]] = {}
    for gid, fld, system, table_name, source_id, rule in rows:
        out.setdefault(gid, {})[fld] = {"source": system, "table": table_name, "source_id": source_id,
                                        "rule": rule}
    return out


def _replaced(con: duckdb.DuckDBPyConnection, t: TargetTable) -> dict[str, str]:
    """golden id -> the target record a planned create replaces: the record the platform last
    wrote the golden record to (its latest acknowledged write in the ledger), when the landed
    target holds it as deleted. Derived from the ledger and the landed target only, so every run
    planning from the same state gives the create the same version: a resumed or overlapping run
    sends it once, and once it is acknowledged (its new record now the latest) the next plan, even
    before the target is landed again, is the acknowledged create it replaced: nothing to send."""
    if not table_exists(con, "ops", "push_ledger"):
        return {}
    pk = quote(normalized(t.primary_key[0]))
    raw = f"{quote('raw_' + t.system)}.{quote(t.table)}"
    return dict(con.execute(f"""
        WITH last AS (
            SELECT golden_id, arg_max(coalesce(target_id, target_key), seq) AS target_key
            FROM ops.push_ledger
            WHERE target = ? AND table_name = ? AND state = 'acknowledged'
              AND coalesce(target_id, target_key) IS NOT NULL
              AND golden_id IN (SELECT golden_id FROM _cs_plan WHERE part = 0 AND operation = 'create')
            GROUP BY 1)
        SELECT golden_id, target_key FROM last
        WHERE EXISTS (SELECT 1 FROM {raw} r WHERE CAST(r.{pk} AS VARCHAR) = last.target_key)
          AND NOT EXISTS (SELECT 1 FROM _cs_live l WHERE l.target_key = last.target_key)""",
                            [t.system, t.table]).fetchall())


SKIP_HELD = "held for match review"
SKIP_DUPLICATE = ("duplicate in target: the golden record is held by several target records "
                  "(merge them in the target)")
_TEMPS = ("_cs_golden", "_cs_live", "_cs_work", "_cs_plan")


def _plan(con: duckdb.DuckDBPyConnection, t: TargetTable, *, max_delete_share: float,
          allow_mass_delete: bool) -> dict[str, str]:
    """Decide, set-based, what happens to every record with something to send: temp table
    `_cs_plan` (golden_id, target_key, kind, operation or NULL, skip_reason, fields, attached,
    current, deferred, data_change), next to `_cs_work`, `_cs_golden` and `_cs_live`.
    Returns the target's landed columns and types."""
    live_cols, plan = _plan_sql(con, t, values=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cs_plan AS {plan}")
    deletes = con.execute("SELECT count(*) FROM _cs_plan WHERE part = 2").fetchall()[0][0]
    if why := _deletes_held(con, deletes, max_delete_share, allow_mass_delete):
        con.execute("UPDATE _cs_plan SET operation = NULL, skip_reason = ? WHERE part = 2", [why])
    return live_cols


def _deletes_held(con: duckdb.DuckDBPyConnection, deletes: int, max_delete_share: float,
                  allow_mass_delete: bool) -> str | None:
    """Why the planned deletes are all held back (the safety share of the target's rows), if
    they are."""
    if not deletes:
        return None
    total = con.execute("SELECT count(*) FROM _cs_live").fetchall()[0][0] or 1
    if deletes > max_delete_share * total and not allow_mass_delete:
        return (f"deletes held: {deletes} > {max_delete_share:.0%} of {total} target rows "
                "(approve with allow_mass_delete)")
    return None


def _plan_sql(con: duckdb.DuckDBPyConnection, t: TargetTable, values: bool) -> tuple[dict[str, str], str]:
    """The plan's query (the rows of `_cs_plan`, before deletes are held) over the temp tables
    `_cs_work`, `_cs_golden` and `_cs_live` it creates, and the target's landed columns and
    types. Counting (summarize_change_set) and building the changes (build_change_set) both
    read this one plan. Without `values` (counting) the golden and live rows keep only what
    the decisions read, so no value is rendered, and a field mismatch keeps, of its fields,
    only whether the carried ones (less the external id) are empty and hold the address: its
    `fields` are NULL."""
    recon = f"recon.{quote(t.name)}"
    raw, golden = (f"raw_{t.system}", t.table), ("golden", t.golden_table)
    types = columns_of(con, [raw, golden])
    live, live_cols = live_rows_sql(con, t, types[raw])
    pk = normalized(t.primary_key[0])
    ext, address = t.external_id_field, _address(t)
    carried = [c.column for c in t.columns if c.carried] + ([ext] if ext else [])
    carried_list = f"[{', '.join(literal(c) for c in carried)}]::VARCHAR[]"
    if values:
        fields = "list(field) FILTER (WHERE kind = 'field_mismatch') AS fields"
    else:  # the lists cost more than every other step of counting
        mismatch = "FILTER (WHERE kind = 'field_mismatch'), false)"
        data = f"list_contains({carried_list}, field)" + (f" AND field <> {literal(ext)}" if ext else "")
        fields = (f"coalesce(bool_or(list_contains({carried_list}, field)) {mismatch} AS any_field, "
                  f"coalesce(bool_or({data}) {mismatch} AS any_data, "
                  f"coalesce(bool_or({data} AND field = {literal(address or '')}) {mismatch} "
                  "AS address_changed")
    # golden ids with something to send
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _cs_work AS
        SELECT golden_id, target_key, kind, {fields}
        FROM {recon} WHERE pushable AND golden_id IS NOT NULL GROUP BY ALL""")
    # rendered again only for those (and for deletes), not for every golden record
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cs_golden AS SELECT "
                f"{'*' if values else 'golden_id, target_key, golden_deleted'} FROM "
                f"({rendered_sql(con, t, live_cols, t.create_defaults, types[golden])}) "
                f"WHERE golden_deleted OR golden_id IN (SELECT golden_id FROM _cs_work)")
    keep = [c for c in live_cols if c != pk and (values or c in (ext, address))]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cs_live AS SELECT CAST({quote(pk)} AS VARCHAR) "
                f"AS target_key{''.join(', ' + quote(c) for c in keep)} FROM {live}")
    held = (f"(SELECT DISTINCT golden_id FROM golden.{quote(t.golden_table + '_xref')} "
            "WHERE review_status = 'held')")
    ext_live = bool(ext) and ext in live_cols
    addr_live = bool(address) and address in live_cols
    attached = f"coalesce(CAST(l.{quote(ext)} AS VARCHAR), '') = w.golden_id" if ext_live else "false"
    current = f"coalesce(trim(CAST(l.{quote(address)} AS VARCHAR)), '')" if addr_live else "''"
    # a golden record held by several target records: only one carries the golden id (the one
    # that already does, else the lowest key); the others are duplicates to merge there
    attached_key = (f"min(target_key) FILTER (WHERE CAST({quote(ext)} AS VARCHAR) = golden_id)"
                    if ext_live else "NULL")
    shared = (f"SELECT lower(trim(CAST({quote(address)} AS VARCHAR))) AS addr, count(*) AS n "
              f"FROM _cs_live GROUP BY 1 HAVING count(*) > 1") if addr_live \
        else "SELECT NULL::VARCHAR AS addr, 0 AS n WHERE false"
    # the write needs an address: the record is not attached to its golden id yet
    needs_address = "NOT u.attached" if address else "false"
    non_ext = f"list_filter(u.fields, lambda f: f <> {literal(ext)})" if ext else "u.fields"
    if values:
        work_fields = (f"list_filter(coalesce(w.fields, []::VARCHAR[]), lambda f: "
                       f"list_contains({carried_list}, f)) AS fields")
        any_field, any_data = "len(u.fields) > 0", f"len({non_ext}) > 0"
        address_changed, plan_fields = f"list_contains({non_ext}, {literal(address or '')})", "u.fields"
    else:
        work_fields = "w.any_field, w.any_data, w.address_changed"
        any_field, any_data, address_changed = "u.any_field", "u.any_data", "u.address_changed"
        plan_fields = "NULL::VARCHAR[]"
    mode = t.mode
    return live_cols, f"""
        WITH creates AS (
            SELECT DISTINCT w.golden_id FROM _cs_work w JOIN _cs_golden g USING (golden_id)
            WHERE w.kind = 'missing_in_target'),
        primary_key AS (
            SELECT g.golden_id, coalesce({attached_key}, min(target_key)) AS primary_key
            FROM (SELECT DISTINCT golden_id, target_key FROM _cs_golden WHERE target_key IS NOT NULL) g
            LEFT JOIN _cs_live USING (target_key) GROUP BY 1 HAVING count(*) > 1),
        shared AS ({shared}),
        updates AS (
            SELECT w.golden_id, w.target_key, {work_fields},
                   {attached} AS attached, {current} AS current, p.primary_key
            FROM _cs_work w LEFT JOIN _cs_live l USING (target_key)
            LEFT JOIN primary_key p USING (golden_id)
            WHERE w.kind = 'field_mismatch'),
        decided AS (
            SELECT u.*, CASE
                WHEN u.primary_key IS NOT NULL AND u.target_key IS DISTINCT FROM u.primary_key
                    THEN {literal(SKIP_DUPLICATE)}
                WHEN u.golden_id IN {held} THEN {literal(SKIP_HELD)}
                WHEN {literal(mode)} = 'create_only' THEN 'create_only flow: not updated'
                WHEN {needs_address} AND u.current = ''
                    THEN {literal(f'no {address} to address the record by')}
                WHEN {needs_address} AND lower(u.current) IN (SELECT addr FROM shared)
                    THEN {literal(f'its {address} is shared by several target records (merge them in the target)')}
                END AS skip_reason
            FROM updates u)
        SELECT 0 AS part, golden_id, NULL::VARCHAR AS target_key, 'missing_in_target' AS kind,
               CASE WHEN golden_id IN {held} OR {literal(mode)} = 'update_only' THEN NULL
                    ELSE 'create' END AS operation,
               CASE WHEN golden_id IN {held} THEN {literal(SKIP_HELD)}
                    WHEN {literal(mode)} = 'update_only' THEN 'update_only flow: not created' END
                   AS skip_reason,
               NULL::VARCHAR[] AS fields, false AS attached, '' AS current, false AS deferred,
               true AS data_change
        FROM creates
        UNION ALL
        SELECT 1, u.golden_id, u.target_key, 'field_mismatch',
               CASE WHEN u.skip_reason IS NULL AND ({any_field} OR {needs_address})
                    THEN 'update' END,
               u.skip_reason, {plan_fields}, u.attached, u.current,
               u.skip_reason IS NULL AND {needs_address} AND {address_changed},
               {any_data} OR {needs_address}
        FROM decided u
        UNION ALL
        SELECT DISTINCT 2, g.golden_id, g.target_key, 'deleted', 'delete', NULL, NULL, false, '',
               false, true
        FROM _cs_golden g JOIN _cs_live l USING (target_key)
        WHERE g.golden_deleted AND {'true' if t.deletes else 'false'}"""


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    for temp in _TEMPS:
        con.execute(f"DROP TABLE IF EXISTS {temp}")


def summarize_change_set(con: duckdb.DuckDBPyConnection, t: TargetTable, *,
                         max_delete_share: float = 0.05, allow_mass_delete: bool = False
                         ) -> ChangeSummary:
    """What build_change_set would send, counted in SQL without building a single change (the
    reconciliation's gates and counts need only this; the push builds the changes): the plan's
    rows are counted by decision, not stored."""
    _, plan = _plan_sql(con, t, values=False)
    counted = con.execute(f"SELECT part, operation, skip_reason, coalesce(deferred, false), "
                          f"coalesce(data_change, false), count(*) FROM ({plan}) GROUP BY ALL").fetchall()
    held = _deletes_held(con, sum(n for part, *_, n in counted if part == 2), max_delete_share,
                         allow_mass_delete)
    ops: dict[str, int] = {}
    skipped: dict[str, int] = {}
    deferred = data = 0
    for part, operation, why, is_deferred, data_change, n in counted:
        if part == 2 and held:
            operation, why = None, held
        if operation:
            ops[operation] = ops.get(operation, 0) + n
            data += n if operation != "update" or data_change else 0
        if why is not None:
            skipped[why] = skipped.get(why, 0) + n
        deferred += n if is_deferred else 0
    _drop_temps(con)
    return ChangeSummary(ops.get("create", 0), ops.get("update", 0), ops.get("delete", 0), deferred,
                         deferred + data, dict(sorted(skipped.items())))


def build_change_set(con: duckdb.DuckDBPyConnection, t: TargetTable,
                     native_names: dict[str, str] | None = None, *, max_delete_share: float = 0.05,
                     allow_mass_delete: bool = False) -> ChangeSet:
    """The changes for one target table from its fresh recon table (see the module docstring).
    `native_names`: landed column -> the target's own field name (default: the landed name)."""
    out = ChangeSet(t)
    names = native_names or {}
    live_cols = _plan(con, t, max_delete_share=max_delete_share, allow_mass_delete=allow_mass_delete)
    ext, address = t.external_id_field, _address(t)
    for why, gid in con.execute("SELECT skip_reason, golden_id FROM _cs_plan WHERE skip_reason IS NOT "
                                "NULL ORDER BY part, golden_id").fetchall():
        out.skip(why, gid)
    lineage = _lineage(con, t.golden_table)
    columns = {c.column: c for c in t.columns}
    flow = t.flows[0].name if t.flows else None

    def native(column: str) -> str:
        return names.get(column, column)

    def lineage_of(gid: str, cols: list[str]) -> dict[str, Any]:
        found = lineage.get(gid, {})
        return {native(c): found[f] for c in cols if c in columns
                for f in columns[c].fields if f in found}

    def sensitive(cols: list[str]) -> list[str]:
        return [native(c) for c in cols if c in columns and columns[c].pii]

    def change(gid: str, op: str, values: dict[str, Any], target_key: str | None,
               before: dict[str, Any] | None, replaces: str | None = None) -> Change:
        cols = [c for c in values if c != ext]
        payload = {native(c): as_target_type(v, live_cols.get(c)) for c, v in values.items() if c != ext}
        seen = {native(c): plain(v) for c, v in (before or {}).items()} or None
        # the version covers what the target held too: the same value sent again after the
        # target drifted away from it (or deleted the record) is a new write, a retry of the
        # same change is not
        version = payload_hash({"payload": payload, "before": seen, "target_key": target_key,
                                **({"replaces": replaces} if replaces else {})})
        return Change(target=t.system, table=t.table, entity=t.golden_table, golden_id=gid, operation=op,
                      payload=payload, version=version, target_key=target_key,
                      lineage=lineage_of(gid, cols), before=seen, priority=t.priority, flow=flow,
                      sensitive=sensitive(cols))

    rendered = [c.column for c in t.columns]
    # creates: golden records the target does not hold, with every rendered value
    replaced = _replaced(con, t) if rendered else {}
    if rendered:
        for row in _rows(con, f"""SELECT DISTINCT ON (p.golden_id) p.golden_id,
                {', '.join(f'g.{quote(c)}' for c in rendered)}
                FROM _cs_plan p JOIN _cs_golden g USING (golden_id)
                WHERE p.part = 0 AND p.operation = 'create' ORDER BY p.golden_id"""):
            gid = row.pop("golden_id")
            out.changes.append(change(gid, "create", {k: v for k, v in row.items() if v is not None},
                                      None, None, replaced.get(gid)))
    # updates: carried fields that differ (plus the address a not yet attached record is found by)
    work = _rows(con, "SELECT golden_id, target_key, fields, attached, current, deferred FROM _cs_plan "
                 "WHERE part = 1 AND operation = 'update' ORDER BY golden_id, target_key")
    if work:
        cols = sorted({c for w in work for c in (w["fields"] or [])} | ({address} if address else set()))
        keys = "(SELECT target_key FROM _cs_plan WHERE part = 1 AND operation = 'update')"
        golden_rows = {(r["golden_id"], r["target_key"]): r for r in _rows(
            con, f"SELECT golden_id, target_key, {', '.join(quote(c) for c in cols)} FROM _cs_golden "
                 f"WHERE target_key IN {keys}")}
        live_sel = [c for c in [*cols, *([ext] if ext else [])] if c in live_cols]
        live_rows = {r["target_key"]: r for r in _rows(
            con, f"SELECT target_key{''.join(f', {quote(c)}' for c in dict.fromkeys(live_sel))} "
                 f"FROM _cs_live WHERE target_key IN {keys}")}
        for w in work:
            gid, key, fields = w["golden_id"], w["target_key"], w["fields"] or []
            golden_row, live_row = golden_rows.get((gid, key), {}), live_rows.get(key, {})
            values = {f: golden_row.get(f) for f in fields if f != ext}
            before = {f: live_row.get(f) for f in fields if f != ext and f in live_row}
            if ext and w["attached"]:
                before[ext] = gid  # the target holds the golden id: the push keys by it
            if address and not w["attached"]:
                if w["deferred"]:
                    # attach by the current address value first, change the address after
                    out.deferred.append(change(gid, "update", {address: values.pop(address)}, key,
                                               {address: w["current"], **({ext: gid} if ext else {})}))
                values[address] = w["current"]
            out.changes.append(change(gid, "update", values, key, before))
    # deletes: golden records deleted everywhere, still live in the target
    for row in _rows(con, "SELECT golden_id, target_key FROM _cs_plan WHERE part = 2 AND "
                     "operation = 'delete' ORDER BY golden_id, target_key"):
        out.changes.append(change(row["golden_id"], "delete", {}, row["target_key"], None))
    _drop_temps(con)
    return out


def _address(t: TargetTable) -> str | None:
    """The landed column a target addresses records by when it lacks the golden id (not its pk)."""
    return t.address_field if t.address_field and t.address_field != normalized(t.primary_key[0]) \
        else None


def render_payload(con: duckdb.DuckDBPyConnection, t: TargetTable, golden_id: str,
                   native_names: dict[str, str] | None = None,
                   fields: list[str] | None = None) -> dict[str, Any] | None:
    """The current golden record as a payload for target table `t` (None: the golden record is
    gone or deleted): every rendered value, or only the target's own field names in `fields`."""
    names = native_names or {}
    _, live_cols = live_rows_sql(con, t)
    rows = _rows(con, f"SELECT * FROM ({rendered_sql(con, t, live_cols)}) WHERE golden_id = ? "
                      "AND NOT golden_deleted LIMIT 1", [golden_id])
    if not rows:
        return None
    wanted = set(fields) if fields else None
    payload = {}
    for c in t.columns:
        name = names.get(c.column, c.column)
        value = rows[0].get(c.column)
        if (wanted is None and value is not None) or (wanted is not None and name in wanted):
            payload[name] = as_target_type(value, live_cols.get(c.column))
    return payload
