"""Quality gates of golden records, computed in SQL: the facts the blocking checks judge.

ids unique; every staged record in exactly one cluster; no cluster above the size limit unless
it was sent to review; required fields present; email and phone validity above thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.identity.keyed import key_sql
from sync_platform.engines.warehouse import connect, quote

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    description: str


def golden_gates(warehouse: Path, entity: CanonicalEntity, *, max_cluster_size: int,
                 reviewed_clusters: set[str], min_validity: float = 0.95,
                 keyed: bool = False) -> list[Gate]:
    """`keyed`: golden ids come from the entity's key (identity/keyed.py), so only records
    with the whole key belong to one; the others reach targets through a rollup."""
    e = entity.entity
    golden, xref, staged = f"golden.{quote(e)}", f"golden.{quote(e + '_xref')}", f"staged.{quote(e)}"
    gates: list[Gate] = []
    with connect(warehouse, read_only=True) as con:
        rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT golden_id) FROM {golden}").fetchall()[0]
        gates.append(Gate("golden_ids_unique", rows == distinct, f"{rows} golden rows, {distinct} distinct ids"))

        # identity resolution clusters live records; deleted ones leave the golden set (counted)
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staged' "
            "AND table_name = ?", [e]).fetchall()}
        conditions = ["NOT coalesce(is_deleted, false)"] if "is_deleted" in columns else []
        if keyed:
            conditions.append(key_sql(list(entity.identifiers[0]))[1])
        live_staged = f"(SELECT * FROM {staged} WHERE {' AND '.join(conditions)})" if conditions else staged
        staged_n, deleted_n, xref_n, unique_n, missing = con.execute(f"""
            SELECT (SELECT count(*) FROM {live_staged}),
                   (SELECT count(*) FROM {staged}) - (SELECT count(*) FROM {live_staged}),
                   (SELECT count(*) FROM {xref}),
                   (SELECT count(DISTINCT (source_system, source_table, source_id)) FROM {xref}),
                   (SELECT count(*) FROM {live_staged} s ANTI JOIN {xref} x
                      USING (source_system, source_table, source_id))""").fetchall()[0]
        gates.append(Gate("records_in_one_cluster", missing == 0 and xref_n == unique_n,
                          f"{staged_n} live staged records, {xref_n} in xref "
                          f"({xref_n - unique_n} duplicated), {missing} in no cluster; "
                          f"{deleted_n} {'deleted or partly keyed' if keyed else 'deleted'} "
                          "records left out"))

        oversized = [gid for (gid,) in con.execute(
            f"SELECT golden_id FROM {xref} GROUP BY golden_id HAVING count(*) > ?", [max_cluster_size]
        ).fetchall()]
        unreviewed = sorted(set(oversized) - reviewed_clusters)
        gates.append(Gate("cluster_size_limit", not unreviewed,
                          f"{len(oversized)} clusters above {max_cluster_size} records, "
                          f"{len(unreviewed)} of them not sent to review"))

        live = f"FROM {golden} WHERE NOT coalesce(is_deleted, false)"
        missing_required = {
            f.name: con.execute(f"SELECT count(*) {live} AND {quote(f.name)} IS NULL").fetchall()[0][0]
            for f in entity.fields if f.required and f.name != "is_deleted"
        }
        bad = {k: v for k, v in missing_required.items() if v}
        gates.append(Gate("required_fields_present", not bad,
                          f"missing values: {bad}" if bad else "every required field present"))

        rates = []
        for field in entity.fields:
            pattern = {"email": EMAIL_PATTERN, "phone": E164_PATTERN}.get(str(field.semantic_type))
            if pattern is None:
                continue
            total, valid = con.execute(
                f"SELECT count({quote(field.name)}), count_if(regexp_full_match(CAST({quote(field.name)} "
                f"AS VARCHAR), ?)) {live}", [pattern]).fetchall()[0]
            if total:
                rates.append((field.name, valid / total))
        low = [(name, rate) for name, rate in rates if rate < min_validity]
        gates.append(Gate("validity_rates", not low, ", ".join(f"{n} {r:.1%} valid" for n, r in rates)
                          + (f"; below {min_validity:.0%}: {[n for n, _ in low]}" if low else "")))
    return gates
