"""What to send to a target: its reconciliation's pushable differences, filtered by the flow rules.

Input: a fresh `recon.<entity>__<system>` (reconcile.golden) and the target table's plan
(reconcile.ownership: owner and `carried` per column). Output: push Changes in the target's own
field names (its schema as it describes itself), with the lineage of every value and the target's
current values as `before`:
- a golden record the target does not hold -> `create` with every rendered value (not in
  `update_only` flows; matched before create by the push: external id, shared identifier, xref);
- carried fields that differ -> `update` of just those fields plus the golden id written back
  (not in `create_only` flows); fields the target owns are never sent;
- a golden record deleted in every source while the target still has it -> `delete`, only when
  a flow says `propagate_deletes: true` and the deletes stay under `push.max_delete_share` of the
  target's rows (the safety switch: more is held back unless `allow_mass_delete`);
- golden records held for review (over-merge guard) are never pushed.
Targets addressed by a shared identifier (HubSpot-style email) cannot change that identifier in
the same write that attaches the golden id: such a record is attached by its current value first
and its new value follows as a second change (`deferred`), keyed by the golden id.
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
from sync_platform.engines.warehouse import quote


@dataclass
class ChangeSet:
    target: TargetTable
    changes: list[Change] = field(default_factory=list)
    deferred: list[Change] = field(default_factory=list)  # send after `changes` are acknowledged
    skipped: dict[str, int] = field(default_factory=dict)  # why -> records not sent
    skipped_ids: set[str] = field(default_factory=set)

    def count(self, operation: str) -> int:
        return sum(1 for c in self.changes if c.operation == operation)

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
    """golden_id -> canonical field -> where its value came from, for the records in _cs_ids."""
    table = f"golden.{quote(golden_table + '_lineage')}"
    rows = con.execute(f"SELECT l.golden_id, l.field, l.source_system, l.source_table, l.source_id, "
                       f"l.rule FROM {table} l JOIN _cs_ids i USING (golden_id)").fetchall()
    out: dict[str, dict[str, dict]] = {}
    for gid, fld, system, table_name, source_id, rule in rows:
        out.setdefault(gid, {})[fld] = {"source": system, "table": table_name, "source_id": source_id,
                                        "rule": rule}
    return out


def build_change_set(con: duckdb.DuckDBPyConnection, t: TargetTable,
                     native_names: dict[str, str] | None = None, *, max_delete_share: float = 0.05,
                     allow_mass_delete: bool = False) -> ChangeSet:
    """The changes for one target table from its fresh recon table (see the module docstring).
    `native_names`: landed column -> the target's own field name (default: the landed name)."""
    out = ChangeSet(t)
    names = native_names or {}
    recon = f"recon.{quote(t.name)}"
    live, live_cols = live_rows_sql(con, t)
    pk = normalized(t.primary_key[0])
    ext, address = t.external_id_field, _address(t)
    # golden ids with something to send
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _cs_work AS
        SELECT golden_id, target_key, kind, list(field) FILTER (WHERE kind = 'field_mismatch') AS fields
        FROM {recon} WHERE pushable AND golden_id IS NOT NULL GROUP BY ALL""")
    # rendered again only for those (and for deletes), not for every golden record
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cs_golden AS SELECT * FROM "
                f"({rendered_sql(con, t, live_cols, t.create_defaults)}) "
                f"WHERE golden_deleted OR golden_id IN (SELECT golden_id FROM _cs_work)")
    keep = [c for c in live_cols if c != pk]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cs_live AS SELECT CAST({quote(pk)} AS VARCHAR) "
                f"AS target_key, {', '.join(quote(c) for c in keep)} FROM {live}")
    held = con.execute(f"SELECT DISTINCT golden_id FROM golden.{quote(t.golden_table + '_xref')} "
                       "WHERE review_status = 'held'").fetchall()
    held_ids = {r[0] for r in held}
    deletes = _rows(con, "SELECT DISTINCT g.golden_id, g.target_key FROM _cs_golden g "
                    "JOIN _cs_live l USING (target_key) WHERE g.golden_deleted") if t.deletes else []
    con.execute("CREATE OR REPLACE TEMP TABLE _cs_ids AS SELECT DISTINCT golden_id FROM _cs_work "
                "UNION SELECT golden_id FROM _cs_golden WHERE golden_deleted")
    lineage = _lineage(con, t.golden_table)
    columns = {c.column: c for c in t.columns}
    carried = [c.column for c in t.columns if c.carried]
    mode = t.mode
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
               before: dict[str, Any] | None) -> Change:
        cols = [c for c in values if c != ext]
        payload = {native(c): as_target_type(v, live_cols.get(c)) for c, v in values.items() if c != ext}
        seen = {native(c): plain(v) for c, v in (before or {}).items()} or None
        # the version covers what the target held too: the same value sent again after the
        # target drifted away from it is a new write, a retry of the same change is not
        version = payload_hash({"payload": payload, "before": seen, "target_key": target_key})
        return Change(target=t.system, table=t.table, entity=t.golden_table, golden_id=gid, operation=op,
                      payload=payload, version=version, target_key=target_key,
                      lineage=lineage_of(gid, cols), before=seen, priority=t.priority, flow=flow,
                      sensitive=sensitive(cols))

    rendered = [c.column for c in t.columns]
    # creates: golden records the target does not hold
    missing = _rows(con, f"""SELECT DISTINCT w.golden_id, {', '.join(f'g.{quote(c)}' for c in rendered)}
        FROM _cs_work w JOIN _cs_golden g ON g.golden_id = w.golden_id
        WHERE w.kind = 'missing_in_target' ORDER BY w.golden_id""") if rendered else []
    seen: set[str] = set()
    for row in missing:
        gid = row.pop("golden_id")
        if gid in seen:
            continue
        seen.add(gid)
        if gid in held_ids:
            out.skip("held for match review", gid)
        elif mode == "update_only":
            out.skip("update_only flow: not created", gid)
        else:
            out.changes.append(change(gid, "create", {k: v for k, v in row.items() if v is not None},
                                      None, None))
    # updates: carried fields that differ
    work = _rows(con, "SELECT golden_id, target_key, fields FROM _cs_work "
                 "WHERE kind = 'field_mismatch' ORDER BY golden_id, target_key")
    if work:
        cols = sorted({c for w in work for c in (w["fields"] or [])} | ({address} if address else set()))
        golden_rows = {(r["golden_id"], r["target_key"]): r for r in _rows(
            con, f"SELECT golden_id, target_key, {', '.join(f'{quote(c)}' for c in cols)} FROM _cs_golden "
                 f"WHERE target_key IN (SELECT target_key FROM _cs_work WHERE kind = 'field_mismatch')")}
        live_sel = [c for c in [*cols, *([ext] if ext else [])] if c in live_cols]
        live_rows = {r["target_key"]: r for r in _rows(
            con, f"SELECT target_key{''.join(f', {quote(c)}' for c in dict.fromkeys(live_sel))} "
                 f"FROM _cs_live WHERE target_key IN (SELECT target_key FROM _cs_work "
                 f"WHERE kind = 'field_mismatch')")}
        # a golden record held by several target records: only one carries the golden id (the
        # one that already does, else the lowest key); the others are duplicates to merge there
        attached_sql = (f"min(target_key) FILTER (WHERE CAST({quote(ext)} AS VARCHAR) = golden_id)"
                        if ext and ext in live_cols else "NULL")
        primary = dict(con.execute(f"""SELECT g.golden_id, coalesce({attached_sql}, min(target_key))
            FROM (SELECT DISTINCT golden_id, target_key FROM _cs_golden WHERE target_key IS NOT NULL) g
            LEFT JOIN _cs_live USING (target_key) GROUP BY 1 HAVING count(*) > 1""").fetchall())
        shared = dict(con.execute(
            f"SELECT lower(trim(CAST({quote(address)} AS VARCHAR))), count(*) FROM _cs_live "
            f"GROUP BY 1 HAVING count(*) > 1").fetchall()) if address and address in live_cols else {}
        for w in work:
            gid, key = w["golden_id"], w["target_key"]
            if gid in primary and key != primary[gid]:
                # one golden id per target record: the target holds duplicates to merge there
                out.skip("duplicate in target: the golden record is held by several target "
                         "records (merge them in the target)", gid)
                continue
            if gid in held_ids:
                out.skip("held for match review", gid)
                continue
            if mode == "create_only":
                out.skip("create_only flow: not updated", gid)
                continue
            fields = [f for f in (w["fields"] or []) if f in carried or f == ext]
            golden_row, live_row = golden_rows.get((gid, key), {}), live_rows.get(key, {})
            values = {f: golden_row.get(f) for f in fields if f != ext}
            before = {f: live_row.get(f) for f in fields if f != ext and f in live_row}
            attached = bool(ext) and str(live_row.get(ext) or "") == gid
            if ext and attached:
                before[ext] = gid  # the target holds the golden id: the push keys by it
            current = str(live_row.get(address) or "").strip() if address else ""
            if address and not attached and not current:
                out.skip(f"no {address} to address the record by", gid)
                continue
            if address and not attached and shared.get(current.lower(), 0) > 1:
                out.skip(f"its {address} is shared by several target records (merge them in the "
                         "target)", gid)
                continue
            if address and not attached and address in values:
                # attach by the current address value first, change the address after
                later = {address: values.pop(address)}
                out.deferred.append(change(gid, "update", later, key,
                                           {**{address: current}, **({ext: gid} if ext else {})}))
                values[address] = current
            elif address and not attached:
                values[address] = current
            if values or (ext and ext in fields):
                out.changes.append(change(gid, "update", values, key, before))
    # deletes: golden records deleted everywhere, still live in the target
    if deletes:
        total = con.execute("SELECT count(*) FROM _cs_live").fetchall()[0][0] or 1
        if len(deletes) > max_delete_share * total and not allow_mass_delete:
            out.skip(f"deletes held: {len(deletes)} > {max_delete_share:.0%} of {total} target "
                     "rows (approve with allow_mass_delete)", *(r["golden_id"] for r in deletes))
        else:
            for row in deletes:
                out.changes.append(change(row["golden_id"], "delete", {}, row["target_key"], None))
    for temp in ("_cs_golden", "_cs_live", "_cs_work", "_cs_ids"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
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
