"""Match before create: is the record already in the target, under another key?

Checked in order, set-based against the target's landed copy (`raw_<target>.<table>`) and the
golden cross-reference, for creates whose target key is unknown:
1. external id: a target row already carries the golden id -> update it;
2. shared identifier (`match_fields`, e.g. email): exactly one target row without an external id
   -> update it by its address field and write the golden id back; several rows, or one owned by
   another golden record -> review;
3. golden xref: the identity resolution linked a target row to this golden record -> update it
   when the link's score is certain (>= `match_accept_score`), else review.
Anything uncertain goes to `ops.push_review` instead of creating a possible duplicate.
Rows the target deleted (landed with `is_deleted`, as reconciliation leaves them out of the live
copy) are no match: a golden record whose target record was deleted there is created again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from sync_platform.engines.connectors.base import normalized
from sync_platform.engines.push.changes import Change
from sync_platform.engines.push.targets import Target
from sync_platform.engines.reconcile.golden import alive
from sync_platform.engines.warehouse import column_types, quote


@dataclass
class Decision:
    operation: str
    key_field: str | None
    target_key: str | None = None
    address_value: Any = None
    review: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    matched_by: str | None = None


def decide(con: duckdb.DuckDBPyConnection, target: Target, table: str, changes: list[Change],
           accept_score: float) -> dict[str, Decision]:
    """A decision per change key for one target table."""
    ext = target.external_id_field(table)
    address = target.address_field(table)
    pk = target.spec(table).primary_key[0]
    out: dict[str, Decision] = {}
    pending: list[Change] = []
    for c in changes:
        if c.operation == "delete":
            out[c.key] = Decision("delete", address or ext or pk, c.target_key)
            continue
        if ext is None:  # the target cannot hold a golden id: only known records are updated
            out[c.key] = Decision("update", address or pk, c.target_key) if (
                c.target_key or c.operation == "update") else Decision(
                c.operation, None, review=f"{target.system_name}.{table} has no external id field: "
                "a create could not be matched later; give the target key")
            continue
        if c.target_key and (c.before or {}).get(ext) == c.golden_id:
            # the target record already holds the golden id: upsert by it (an address such as
            # an email may be the very field this update changes)
            out[c.key] = Decision("update", ext, c.target_key)
        elif c.target_key:
            out[c.key] = Decision("update", address or ext, c.target_key)
        elif c.operation == "update" and not target.spec(table).match_fields:
            out[c.key] = Decision("update", ext)
        else:
            pending.append(c)
    if not pending:
        return out
    schema = f"raw_{target.system_name}"
    types = column_types(con, schema, table)
    columns = set(types)
    n_ext, n_pk = normalized(ext), normalized(pk)
    n_addr = normalized(address) if address else None
    raw = f"{quote(schema)}.{quote(table)}"
    landed = f"(SELECT * FROM {raw} t WHERE {alive(types, 't')})"  # live rows only
    rows = [(c.key, c.golden_id, None, None) for c in pending]
    for c in pending:
        for f in target.spec(table).match_fields:
            value = c.payload.get(f)
            if value not in (None, "") and normalized(f) in columns:
                rows.append((c.key, c.golden_id, normalized(f), str(value).strip().lower()))
    incoming = pa.table({name: pa.array([r[i] for r in rows], pa.string())
                         for i, name in enumerate(("k", "gid", "field", "value"))})
    con.register("push_match_rows", incoming)
    con.execute("CREATE OR REPLACE TEMP TABLE push_match_in AS SELECT * FROM push_match_rows")
    con.unregister("push_match_rows")
    by_ext: dict[str, list[tuple]] = {}
    by_field: dict[str, list[tuple]] = {}
    if n_ext in columns and n_pk in columns:
        addr_sql = quote(n_addr) if n_addr in columns else "NULL"
        for k, key, address_value in con.execute(
                f"SELECT m.k, CAST(t.{quote(n_pk)} AS VARCHAR), CAST(t.{addr_sql} AS VARCHAR) "
                f"FROM push_match_in m JOIN {landed} t ON CAST(t.{quote(n_ext)} AS VARCHAR) = m.gid "
                "WHERE m.field IS NULL").fetchall():
            by_ext.setdefault(k, []).append((key, address_value))
        for f in {r[2] for r in rows if r[2]}:
            for k, key, owner, address_value in con.execute(
                    f"SELECT m.k, CAST(t.{quote(n_pk)} AS VARCHAR), CAST(t.{quote(n_ext)} AS VARCHAR), "
                    f"CAST(t.{addr_sql} AS VARCHAR) FROM push_match_in m JOIN {landed} t "
                    f"ON lower(trim(CAST(t.{quote(f)} AS VARCHAR))) = m.value WHERE m.field = ?",
                    [f]).fetchall():
                by_field.setdefault(k, []).append((f, key, owner, address_value))
    xref: dict[str, list[tuple]] = {}
    entity_tables = {(c.entity) for c in pending}
    for entity in entity_tables:
        if column_types(con, "golden", f"{entity}_xref"):
            for k, key, score in con.execute(
                    f"SELECT m.k, x.source_id, x.match_score FROM push_match_in m "
                    f"JOIN golden.{quote(entity + '_xref')} x ON x.golden_id = m.gid "
                    "WHERE m.field IS NULL AND x.source_system = ? AND x.source_table = ?"
                    + (f" AND NOT EXISTS (SELECT 1 FROM {raw} t WHERE CAST(t.{quote(n_pk)} AS VARCHAR) "
                       f"= x.source_id AND NOT {alive(types, 't')})" if n_pk in columns else ""),
                    [target.system_name, table]).fetchall():
                xref.setdefault(k, []).append((key, float(score or 0)))
    con.execute("DROP TABLE push_match_in")
    for c in pending:
        out[c.key] = _decide_one(c, by_ext.get(c.key, []), by_field.get(c.key, []),
                                 xref.get(c.key, []), ext, address, pk, accept_score)
    return out


def _decide_one(c: Change, ext_rows: list, field_rows: list, xref_rows: list, ext: str,
                address: str | None, pk: str, accept: float) -> Decision:
    if ext_rows:
        return Decision("update", ext, ext_rows[0][0], matched_by="external id")
    free = [r for r in field_rows if r[2] in (None, "", c.golden_id)]
    owned = [r for r in field_rows if r[2] not in (None, "", c.golden_id)]
    if field_rows:
        candidates = [{"target_key": r[1], "matched_on": r[0], "external_id": r[2]} for r in field_rows]
        if len({r[1] for r in field_rows}) > 1:
            return Decision(c.operation, None, review=f"{len(field_rows)} target records share "
                            f"{field_rows[0][0]}", candidates=candidates)
        if owned:
            return Decision(c.operation, None, review=f"the target record with this {owned[0][0]} "
                            f"belongs to golden record {owned[0][2]}", candidates=candidates)
        if address is None:
            return Decision(c.operation, None, review="a target record shares "
                            f"{free[0][0]} but the target cannot be addressed to attach the "
                            "external id", candidates=candidates)
        return Decision("update", address, free[0][1], address_value=free[0][3],
                        matched_by=f"shared identifier {free[0][0]}")
    if xref_rows:
        key, score = max(xref_rows, key=lambda r: r[1])
        candidates = [{"target_key": k, "score": s} for k, s in xref_rows]
        if score < accept or address is None:
            return Decision(c.operation, None, review=f"golden xref candidate with score {score:.2f}"
                            if score < accept else "xref match but the target cannot be addressed",
                            candidates=candidates)
        return Decision("update", address, key, matched_by="golden xref")
    return Decision("create", ext)
