"""Stable golden ids: clusters inherit the id most of their records held before.

A cluster takes the previous golden id held by most of its records (ties: the oldest id, then the
smallest); each previous id goes to one cluster only. Clusters left without an id get a new one,
uuid5 of the entity and the smallest member key. An id whose records all joined another id's
cluster is logged as a merge; records of an id that landed in other clusters are logged as a split.

Set-based in DuckDB: only the votes that compete for a cluster or an id (a cluster whose records
held several ids, an id whose records are in several clusters) are settled in Python, greedily in
vote order; new ids are computed in SQL (uuid5 = SHA-1 of namespace bytes + name).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import pandas as pd

NAMESPACE = uuid.UUID("6f1c35a0-4d7e-5b8a-9a37-9c1e2f3d4b50")


@dataclass
class IdSummary:
    new_ids: int
    merges: int
    splits: int


def new_golden_id(entity: str, smallest_key: str, taken: set[str]) -> str:
    salt = 0
    while True:
        name = f"{entity}:{smallest_key}" + (f"#{salt}" if salt else "")
        gid = str(uuid.uuid5(NAMESPACE, name))
        if gid not in taken:
            return gid
        salt += 1


def uuid5_sql(name_expr: str) -> str:
    """SQL for str(uuid.uuid5(NAMESPACE, name)) of a VARCHAR expression."""
    h = f"sha1(unhex('{NAMESPACE.hex}') || encode({name_expr}))"
    variant = "['8', '9', 'a', 'b'][((instr('0123456789abcdef', substr(h, 17, 1)) - 1) & 3) + 1]"
    return (f"(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-5' || substr(h, 14, 3) || '-'"
            f" || {variant} || substr(h, 18, 3) || '-' || substr(h, 21, 12) FROM (SELECT {h} AS h))")


def _settle(votes: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Greedy in vote order: a vote wins unless its cluster or its id is already taken."""
    won: list[tuple[int, str]] = []
    clusters: set[int] = set()
    ids: set[str] = set()
    for cid, gid in votes:
        if cid not in clusters and gid not in ids:
            won.append((cid, gid))
            clusters.add(cid)
            ids.add(gid)
    return won


def assign_ids(con: duckdb.DuckDBPyConnection, entity: str, previous: str | None,
               created: str | None) -> IdSummary:
    """Give every cluster of `id_assign(rid, cid)` a golden id, reusing previous ids.

    `previous` is a query of (rec_key, gid) from the last run's xref, `created` one of
    (golden_id, created_at) (None: first run). Creates `id_gid(cid, golden_id)`,
    `id_gid_new(golden_id)` (ids minted now) and `id_log_new(old_id, new_id, kind)`.
    """
    con.execute("""CREATE OR REPLACE TEMP TABLE id_members AS
        SELECT a.cid, r.rec_key FROM id_assign a JOIN id_recs r USING (rid)""")
    con.execute("CREATE OR REPLACE TEMP TABLE id_prev AS " + (
        previous or "SELECT NULL::VARCHAR AS rec_key, NULL::VARCHAR AS gid WHERE FALSE"))
    con.execute("CREATE OR REPLACE TEMP TABLE id_created AS " + (
        created or "SELECT NULL::VARCHAR AS golden_id, NULL::TIMESTAMP AS created_at WHERE FALSE"))
    con.execute("""CREATE OR REPLACE TEMP TABLE id_votes AS
        SELECT m.cid, p.gid, count(*) AS n,
               count(*) OVER (PARTITION BY m.cid) AS per_cluster,
               count(*) OVER (PARTITION BY p.gid) AS per_id
        FROM id_members m JOIN id_prev p USING (rec_key) GROUP BY m.cid, p.gid""")
    contested = con.execute("""
        SELECT v.cid, v.gid FROM id_votes v
        LEFT JOIN (SELECT golden_id, min(created_at) AS at FROM id_created GROUP BY golden_id) c
            ON c.golden_id = v.gid
        WHERE v.per_cluster > 1 OR v.per_id > 1
        ORDER BY v.n DESC, c.at NULLS LAST, v.gid, v.cid""").fetchall()
    won = pd.DataFrame(_settle([(int(c), str(g)) for c, g in contested]),
                       columns=["cid", "golden_id"]).astype({"cid": "int64", "golden_id": "str"})
    con.register("id_won_df", won)
    con.execute("""CREATE OR REPLACE TEMP TABLE id_gid_prev AS
        SELECT cid, gid AS golden_id FROM id_votes WHERE per_cluster = 1 AND per_id = 1
        UNION ALL SELECT cid, golden_id FROM id_won_df""")
    con.unregister("id_won_df")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_gid_new AS
        SELECT cid, k, {uuid5_sql(f"'{entity}:' || k")} AS golden_id FROM (
            SELECT cid, min(rec_key) AS k FROM id_members
            WHERE cid NOT IN (SELECT cid FROM id_gid_prev) GROUP BY cid)""")
    _resalt_collisions(con, entity)
    con.execute("""CREATE OR REPLACE TEMP TABLE id_gid AS
        SELECT cid, golden_id FROM id_gid_prev UNION ALL SELECT cid, golden_id FROM id_gid_new""")
    # merges and splits: where did each previous id's records go?
    con.execute("""CREATE OR REPLACE TEMP TABLE id_log_new AS
        SELECT DISTINCT p.gid AS old_id, g.golden_id AS new_id,
               CASE WHEN p.gid IN (SELECT golden_id FROM id_gid_prev) THEN 'split'
                    ELSE 'merge' END AS kind
        FROM id_prev p JOIN id_members m USING (rec_key) JOIN id_gid g USING (cid)
        WHERE g.golden_id <> p.gid""")
    n_new, merges, splits = con.execute("""SELECT (SELECT count(*) FROM id_gid_new),
        count(*) FILTER (WHERE kind = 'merge'), count(*) FILTER (WHERE kind = 'split')
        FROM id_log_new""").fetchall()[0]
    return IdSummary(int(n_new), int(merges), int(splits))


def _resalt_collisions(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    """A minted id that some id already has (its smallest key named an earlier cluster) is
    salted until it is free, in smallest-key order."""
    taken_sql = """SELECT golden_id FROM id_created UNION SELECT gid FROM id_prev
                   UNION SELECT golden_id FROM id_gid_prev"""
    clashes = con.execute(f"""SELECT cid, k FROM id_gid_new
        WHERE golden_id IN ({taken_sql}) ORDER BY k""").fetchall()
    if not clashes:
        return
    taken = {g for (g,) in con.execute(f"{taken_sql} UNION SELECT golden_id FROM id_gid_new"
                                       ).fetchall()}
    fixed = []
    for cid, key in clashes:
        gid = new_golden_id(entity, key, taken)
        taken.add(gid)
        fixed.append((int(cid), gid))
    con.register("id_fixed_df", pd.DataFrame(fixed, columns=["cid", "golden_id"]))
    con.execute("""CREATE OR REPLACE TEMP TABLE id_gid_new AS
        SELECT n.cid, n.k, coalesce(f.golden_id, n.golden_id) AS golden_id
        FROM id_gid_new n LEFT JOIN id_fixed_df f USING (cid)""")
    con.unregister("id_fixed_df")
