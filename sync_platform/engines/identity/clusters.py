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


def cluster(con: duckdb.DuckDBPyConnection, pairs: str, config: MatchConfig,
            cannot_links: str | None = None, nodes: str = "id_recs") -> list[int]:
    """Create `id_assign(rid, cid)` from the pairs table (a, b, probability); return the cids
    of clusters flagged for review (still too large or loose at the strictest threshold).

    `cannot_links(a, b)` lists record pairs a reviewer kept apart; a cluster holding one is split.
    A flagged cluster that reviewers merged as a whole (merge decisions connect all its
    records) is accepted as reviewed. `nodes(rid)` are the records to cluster (default all);
    `pairs` must not link them to records outside."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_edges AS
        SELECT a, b, probability FROM {pairs} WHERE probability >= ?""",
                [config.accept_threshold])
    label_propagation(con, nodes, "id_edges", "id_assign")
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
        _reassign(con, "id_re")
        bad = _bad_clusters(con, "id_assign", "id_edges", config)
    if cannot_links:
        split_cannot_links(con, cannot_links)
    return _not_reviewed(con, pairs, bad)


def _not_reviewed(con: duckdb.DuckDBPyConnection, pairs: str, flagged: list[int]) -> list[int]:
    """The flagged clusters that merge decisions do not connect as a whole."""
    if not flagged:
        return flagged
    con.execute("CREATE OR REPLACE TEMP TABLE id_bad_nodes AS SELECT rid, cid FROM id_assign "
                "WHERE cid IN (SELECT unnest(?::BIGINT[]))", [flagged])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_must_edges AS
        SELECT a, b FROM {pairs} WHERE starts_with(evidence, 'review: merge')
          AND a IN (SELECT rid FROM id_bad_nodes) AND b IN (SELECT rid FROM id_bad_nodes)""")
    label_propagation(con, "id_bad_nodes", "id_must_edges", "id_must")
    reviewed = {int(c) for (c,) in con.execute("""
        SELECT n.cid FROM id_bad_nodes n JOIN id_must m USING (rid)
        GROUP BY n.cid HAVING count(DISTINCT m.cid) = 1""").fetchall()}
    return [c for c in flagged if c not in reviewed]


def split_cannot_links(con: duckdb.DuckDBPyConnection, cannot_links: str) -> int:
    """Re-cluster every cluster that holds a cannot-link pair: its edges are joined strongest
    first (merge decisions are certain, so they go first), skipping an edge that would put two
    records a reviewer kept apart into one group. Return the number of clusters split."""
    conflicted = [int(c) for (c,) in con.execute(f"""
        SELECT DISTINCT x.cid FROM {cannot_links} c JOIN id_assign x ON x.rid = c.a
        JOIN id_assign y ON y.rid = c.b WHERE x.cid = y.cid""").fetchall()]
    if not conflicted:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE id_conf_nodes AS SELECT rid FROM id_assign "
                "WHERE cid IN (SELECT unnest(?::BIGINT[]))", [conflicted])
    nodes = [int(r) for (r,) in con.execute("SELECT rid FROM id_conf_nodes").fetchall()]
    edges = con.execute("""SELECT a, b FROM id_edges WHERE a IN (SELECT rid FROM id_conf_nodes)
        ORDER BY probability DESC, a, b""").fetchall()
    apart: dict[int, set[int]] = {}
    for a, b in con.execute(f"SELECT a, b FROM {cannot_links}").fetchall():
        apart.setdefault(int(a), set()).add(int(b))
        apart.setdefault(int(b), set()).add(int(a))
    parent = {n: n for n in nodes}
    members = {n: {n} for n in nodes}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            continue
        small, big = sorted((ra, rb), key=lambda r: len(members[r]))
        if any(find(o) == big for m in members[small] for o in apart.get(m, ()) if o in parent):
            continue
        parent[small] = big
        members[big] |= members.pop(small)
    rows = [(n, min(members[find(n)])) for n in nodes]
    con.execute("CREATE OR REPLACE TEMP TABLE id_conf_assign (rid BIGINT, cid BIGINT)")
    con.executemany("INSERT INTO id_conf_assign VALUES (?, ?)", rows)
    _reassign(con, "id_conf_assign")
    return len(conflicted)


def _reassign(con: duckdb.DuckDBPyConnection, new: str) -> None:
    """Apply the new cids of `new(rid, cid)` to `id_assign`; drop edges that now cross clusters."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_assign AS
        SELECT a.rid, coalesce(r.cid, a.cid) AS cid FROM id_assign a
        LEFT JOIN {new} r USING (rid)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE id_edges AS
        SELECT e.* FROM id_edges e JOIN id_assign x ON x.rid = e.a
        JOIN id_assign y ON y.rid = e.b WHERE x.cid = y.cid""")
