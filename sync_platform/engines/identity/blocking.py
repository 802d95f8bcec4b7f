"""Candidate pairs from several blocking keys, unioned and deduplicated; never all pairs.

Keys: the normalised email, phone digits, last-name prefix + first initial, canonical first name
+ last initial, organisation (suffixes dropped, words sorted) + postal code, domain and the
deterministic identifiers. Shared values (role inboxes, switchboards) are not keys. A block
larger than `max_block_size` is skipped and reported, which keeps the pairs near-linear.
"""

from __future__ import annotations

import duckdb

BLOCKING_KEYS: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "phone2": "phone2",
    "name_prefix": "CASE WHEN ln IS NOT NULL AND fn IS NOT NULL THEN left(ln, 3) || '|' "
                   "|| left(fn, 1) END",
    "first_canon_last_initial": "CASE WHEN ln IS NOT NULL AND fn_canon IS NOT NULL THEN "
                                "fn_canon || '|' || left(ln, 1) END",
    "org_postal": "CASE WHEN org IS NOT NULL AND postal IS NOT NULL THEN org || '|' "
                  "|| postal END",
    "org": "CASE WHEN fn IS NULL AND ln IS NULL THEN org END",
    "org_prefix_postal": "CASE WHEN fn IS NULL AND ln IS NULL AND postal IS NOT NULL THEN "
                         "left(org, 4) || '|' || postal END",
    "domain": "domain",
    "acct": "acct",
    "taxid": "taxid",
    "empno": "empno",
}
_SHARED_KIND = {"email": "email", "phone": "phone", "phone2": "phone"}


def build_keys(con: duckdb.DuckDBPyConnection, max_block_size: int) -> list[tuple[str, str, int]]:
    """Create `id_keys(rid, kind, key)` (usable blocks only); return the skipped blocks."""
    parts = []
    for kind, expr in BLOCKING_KEYS.items():
        shared = _SHARED_KIND.get(kind)
        guard = (f" AND k NOT IN (SELECT value FROM id_shared WHERE kind = '{shared}')"
                 if shared else "")
        parts.append(f"SELECT rid, '{kind}' AS kind, k AS key FROM "
                     f"(SELECT rid, {expr} AS k FROM id_recs) WHERE k IS NOT NULL{guard}")
    con.execute("CREATE OR REPLACE TEMP TABLE id_allkeys AS " + " UNION ALL ".join(parts))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE id_blocksize AS
        SELECT kind, key, count(*) AS n FROM id_allkeys GROUP BY kind, key
    """)
    skipped = con.execute(
        "SELECT kind, key, n FROM id_blocksize WHERE n > ? ORDER BY n DESC, kind, key",
        [max_block_size]).fetchall()
    con.execute("""
        CREATE OR REPLACE TEMP TABLE id_keys AS
        SELECT k.rid, k.kind, k.key FROM id_allkeys k
        JOIN id_blocksize b USING (kind, key) WHERE b.n > 1 AND b.n <= ?
    """, [max_block_size])
    return [(str(k), str(v), int(n)) for k, v, n in skipped]


def candidate_pairs(con: duckdb.DuckDBPyConnection, dirty_table: str | None = None) -> int:
    """Create `id_cand(a, b, blocks)` with a < b; only pairs touching `dirty_table` if given."""
    restrict = ""
    if dirty_table:
        restrict = (f"WHERE x.rid IN (SELECT rid FROM {dirty_table}) "
                    f"OR y.rid IN (SELECT rid FROM {dirty_table})")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_cand AS
        SELECT least(x.rid, y.rid) AS a, greatest(x.rid, y.rid) AS b,
               list_sort(list_distinct(list(x.kind))) AS blocks
        FROM id_keys x JOIN id_keys y ON x.kind = y.kind AND x.key = y.key AND x.rid < y.rid
        {restrict}
        GROUP BY ALL
    """)
    return con.execute("SELECT count(*) FROM id_cand").fetchall()[0][0]
