"""Clusters: connected components by iterative label propagation in SQL, with over-merge guards.

A component larger than `max_cluster_size`, or loosely connected (edges / possible edges below
`min_cluster_density`), is re-clustered from its own edges at stricter thresholds; one that is
still too large or loose at the strictest threshold is kept split that far and flagged for review.
"""

from __future__ import annotations

import duckdb

from sync_platform.engines.identity.config import MatchConfig


def label_propagation(con: duckdb.DuckDBPyConnection, nodes: str, edges: str, out: str) -> None:
    """`out(rid, cid)`: cid = smallest rid of the node's connected component."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT rid, rid AS cid FROM {nodes}")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_lp_e AS
        SELECT a AS s, b AS t FROM {edges} UNION SELECT b, a FROM {edges}""")
    while True:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE id_lp_next AS
            SELECT n.rid, least(n.cid, coalesce(min(m.cid), n.cid)) AS cid
            FROM {out} n LEFT JOIN id_lp_e e ON e.s = n.rid LEFT JOIN {out} m ON m.rid = e.t
            GROUP BY n.rid, n.cid
        """)
        changed = con.execute(f"""SELECT count(*) FROM id_lp_next x JOIN {out} o USING (rid)
                                  WHERE x.cid <> o.cid""").fetchall()[0][0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM id_lp_next")
        if changed == 0:
            return


def _bad_clusters(con: duckdb.DuckDBPyConnection, assign: str, edges: str,
                  config: MatchConfig) -> list[int]:
    rows = con.execute(f"""
        WITH size AS (SELECT cid, count(*) AS n FROM {assign} GROUP BY cid),
        inner_edges AS (
            SELECT x.cid, count(*) AS e FROM {edges} p
            JOIN {assign} x ON x.rid = p.a JOIN {assign} y ON y.rid = p.b
            WHERE x.cid = y.cid GROUP BY x.cid)
        SELECT s.cid FROM size s LEFT JOIN inner_edges i USING (cid)
        WHERE s.n > ? OR (s.n > 3 AND coalesce(i.e, 0) / (s.n * (s.n - 1) / 2.0) < ?)
        ORDER BY s.cid
    """, [config.max_cluster_size, config.min_cluster_density]).fetchall()
    return [int(r[0]) for r in rows]


def cluster(con: duckdb.DuckDBPyConnection, pairs: str, config: MatchConfig) -> list[int]:
    """Create `id_assign(rid, cid)` from the pairs table (a, b, probability); return the cids
    of clusters flagged for review (still too large or loose at the strictest threshold)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_edges AS
        SELECT a, b, probability FROM {pairs} WHERE probability >= ?""",
                [config.accept_threshold])
    label_propagation(con, "id_recs", "id_edges", "id_assign")
    bad = _bad_clusters(con, "id_assign", "id_edges", config)
    for threshold in config.strict_thresholds:
        if not bad:
            break
        con.execute("CREATE OR REPLACE TEMP TABLE id_bad AS SELECT unnest(?::BIGINT[]) AS cid",
                    [bad])
        con.execute("""CREATE OR REPLACE TEMP TABLE id_bad_nodes AS
            SELECT rid FROM id_assign WHERE cid IN (SELECT cid FROM id_bad)""")
        con.execute("""CREATE OR REPLACE TEMP TABLE id_bad_edges AS
            SELECT a, b, probability FROM id_edges
            WHERE a IN (SELECT rid FROM id_bad_nodes) AND b IN (SELECT rid FROM id_bad_nodes)
              AND probability >= ?""", [threshold])
        label_propagation(con, "id_bad_nodes", "id_bad_edges", "id_re")
        con.execute("""CREATE OR REPLACE TEMP TABLE id_assign AS
            SELECT a.rid, coalesce(r.cid, a.cid) AS cid FROM id_assign a
            LEFT JOIN id_re r USING (rid)""")
        con.execute("""CREATE OR REPLACE TEMP TABLE id_edges AS
            SELECT e.* FROM id_edges e JOIN id_assign x ON x.rid = e.a
            JOIN id_assign y ON y.rid = e.b WHERE x.cid = y.cid""")
        bad = _bad_clusters(con, "id_assign", "id_edges", config)
    return bad
