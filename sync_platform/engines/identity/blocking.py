"""Candidate pairs from several blocking keys, unioned and deduplicated; never all pairs.

Keys: the normalised email and phone digits; for persons the place (postal code + house number, or
organisation) with the first letter of either name, the birth date with either initial or the
postal code, both names in either order with the postal code or birth date, the hire date with
the initials, and name prefixes alone (small blocks only, see KEY_CAPS); organisations by name
(suffixes dropped, words sorted) with the postal code, and alone when there is no postal code;
domain and the deterministic identifiers (incl. the golden id the platform wrote back). Shared values (role inboxes, switchboards) are not
keys. A block larger than `max_block_size` (or its key's cap) is skipped and reported, which
keeps the pairs near-linear: every key combines a value with something local, so blocks stay
small as the population grows."""

from __future__ import annotations

import duckdb

_PERSON = "fn IS NOT NULL AND ln IS NOT NULL"
_PLACE = "postal || '|' || coalesce(regexp_extract(addr, '^[0-9]+'), '')"  # postal + house no.
BLOCKING_KEYS: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "phone2": "phone2",
    # persons at one place (postal code + house number, or organisation) who share the first
    # letter of either name: catches typos and nicknames in the other name
    "place_last_initial": f"CASE WHEN {_PERSON} AND postal IS NOT NULL THEN {_PLACE} || '|' || "
                          "left(ln, 1) END",
    "place_first_initial": f"CASE WHEN {_PERSON} AND postal IS NOT NULL THEN {_PLACE} || '|' || "
                           "left(fn_canon, 1) END",
    "org_last_initial": f"CASE WHEN {_PERSON} AND org IS NOT NULL THEN org || '|' || left(ln, 1) "
                        "END",
    "org_first_initial": f"CASE WHEN {_PERSON} AND org IS NOT NULL THEN org || '|' || "
                         "left(fn_canon, 1) END",
    # birth date with the first letter of either name
    "born_last_initial": "CASE WHEN ln IS NOT NULL THEN bdate || '|' || left(ln, 1) END",
    "born_first_initial": "CASE WHEN fn_canon IS NOT NULL THEN bdate || '|' || left(fn_canon, 1) "
                          "END",
    "born_postal": "bdate || '|' || postal",
    # both names in either order (first and last name swapped) with the postal code or birth date
    "names_postal": f"CASE WHEN {_PERSON} THEN postal || '|' || least(fn, ln) || '|' || "
                    "greatest(fn, ln) END",
    "names_born": f"CASE WHEN {_PERSON} THEN bdate || '|' || least(fn, ln) || '|' || "
                  "greatest(fn, ln) END",
    # names alone (prefix + initial, canonical first + initial): only small blocks (KEY_CAPS), so
    # they count for small populations and rare names
    "name_prefix": f"CASE WHEN {_PERSON} THEN left(ln, 3) || '|' || left(fn, 1) END",
    "first_canon_last_initial": f"CASE WHEN {_PERSON} THEN fn_canon || '|' || left(ln, 1) END",
    # organisations (customers): name, name + postal, name prefix + postal
    "org_postal": "CASE WHEN org IS NOT NULL AND postal IS NOT NULL THEN org || '|' || postal END",
    "org": "CASE WHEN fn IS NULL AND ln IS NULL AND postal IS NULL THEN org END",
    "org_prefix_postal": "CASE WHEN fn IS NULL AND ln IS NULL AND postal IS NOT NULL THEN "
                         "left(org, 4) || '|' || postal END",
    "domain": "domain",
    "acct": "acct",
    "taxid": "taxid",
    "empno": "empno",
    "national_id": "nid",
    "platform_id": "pref",
    # employees: hire date (or month, for a date typed a day off) with names
    "hired_initials": f"CASE WHEN {_PERSON} THEN hdate || '|' || left(fn_canon, 1) || left(ln, 1)"
                      " END",
    "name_hire_month": f"CASE WHEN {_PERSON} AND hdate IS NOT NULL THEN fn_canon || '|' || ln || "
                       "'|' || strftime(hdate, '%Y-%m') END",
}
_SHARED_KIND = {"email": "email", "phone": "phone", "phone2": "phone"}
# loose keys (names alone) grow with the population: only their small blocks are used
KEY_CAPS = {"name_prefix": 10, "first_canon_last_initial": 10}


def _keys_sql(records: str) -> str:
    """Every blocking key of the `records` (rows of id_recs), shared values left out."""
    parts = []
    for kind, expr in BLOCKING_KEYS.items():
        shared = _SHARED_KIND.get(kind)
        guard = (f" AND k NOT IN (SELECT value FROM id_shared WHERE kind = '{shared}')"
                 if shared else "")
        parts.append(f"SELECT rid, '{kind}' AS kind, k AS key FROM "
                     f"(SELECT rid, {expr} AS k FROM {records}) WHERE k IS NOT NULL{guard}")
    return " UNION ALL ".join(parts)


def _limit(max_block_size: int) -> str:
    """SQL for the block size limit of a row's `kind`."""
    caps = " ".join(f"WHEN '{kind}' THEN {min(cap, max_block_size)}"
                    for kind, cap in KEY_CAPS.items())
    return f"(CASE kind {caps} ELSE {int(max_block_size)} END)"


def build_keys(con: duckdb.DuckDBPyConnection, max_block_size: int) -> list[tuple[str, str, int]]:
    """Create `id_allkeys(rid, kind, key)`, `id_keys` (usable blocks only) and
    `id_skipped_blocks(kind, key, n)`; return the skipped blocks."""
    con.execute("CREATE OR REPLACE TEMP TABLE id_allkeys AS " + _keys_sql("id_recs"))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE id_blocksize AS
        SELECT kind, key, count(*) AS n FROM id_allkeys GROUP BY kind, key
    """)
    limit = _limit(max_block_size)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_skipped_blocks AS
        SELECT kind, key, n FROM id_blocksize WHERE n > {limit} ORDER BY n DESC, kind, key""")
    skipped = con.execute("SELECT kind, key, n FROM id_skipped_blocks ORDER BY n DESC, kind, key"
                          ).fetchall()
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_keys AS
        SELECT k.rid, k.kind, k.key FROM id_allkeys k
        JOIN id_blocksize b USING (kind, key) WHERE b.n > 1 AND b.n <= {limit}
    """)
    return [(str(k), str(v), int(n)) for k, v, n in skipped]


def build_keys_incremental(con: duckdb.DuckDBPyConnection, max_block_size: int, entity: str
                           ) -> list[tuple[str, str, int]]:
    """The incremental counterpart of `build_keys`, touching only the blocks changes reach.

    From the stored keys (`golden.<entity>_keys`) and skipped blocks of the last run: the records
    whose keys must be rebuilt are the new and changed ones (`id_changed_keys`) and those whose
    shared-value status moved; removed records lose theirs. Blocks whose membership changed are
    recounted; records in a block that crossed the size limit become dirty too. Creates
    `id_dirty(rid)`, `id_keys` (usable blocks of dirty records only: enough for their pairs),
    `id_newkeys`, `id_gone(rid)` and `id_skipped_blocks`; returns the skipped blocks."""
    keys, skipped = f"golden.{entity}_keys", f"golden.{entity}_skipped_blocks"
    # the new and changed records and those whose shared-value flags moved (prepare.py)
    con.execute("CREATE OR REPLACE TEMP TABLE id_kdirty AS SELECT rid FROM id_fresh")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_gone AS SELECT rid FROM golden.{entity}_recs
        WHERE rec_key NOT IN (SELECT rec_key FROM id_stage)""")
    con.execute("CREATE OR REPLACE TEMP TABLE id_newkeys AS " + _keys_sql("id_fresh"))
    current = (f"(SELECT rid, kind, key FROM {keys} WHERE rid NOT IN (SELECT rid FROM id_kdirty) "
               "AND rid NOT IN (SELECT rid FROM id_gone) UNION ALL SELECT * FROM id_newkeys)")
    limit = _limit(max_block_size)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_touched AS
        SELECT DISTINCT kind, key FROM {keys}
        WHERE rid IN (SELECT rid FROM id_kdirty) OR rid IN (SELECT rid FROM id_gone)
        UNION SELECT kind, key FROM id_newkeys""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_touched_size AS
        SELECT t.kind, t.key, count(c.rid) AS n FROM id_touched t
        LEFT JOIN {current} c USING (kind, key) GROUP BY t.kind, t.key""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_moved AS
        SELECT kind, key FROM id_touched_size t
        WHERE (n > {limit}) <> ((kind, key) IN (SELECT (kind, key) FROM {skipped}))""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_dirty AS
        SELECT rid FROM id_kdirty
        UNION SELECT c.rid FROM {current} c SEMI JOIN id_moved USING (kind, key)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_relevant AS
        SELECT DISTINCT kind, key FROM {current} WHERE rid IN (SELECT rid FROM id_dirty)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_relevant_keys AS
        SELECT c.rid, c.kind, c.key FROM {current} c SEMI JOIN id_relevant USING (kind, key)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_keys AS
        SELECT k.rid, k.kind, k.key FROM id_relevant_keys k JOIN (
            SELECT kind, key, count(*) AS n FROM id_relevant_keys GROUP BY kind, key) b
        USING (kind, key) WHERE b.n > 1 AND b.n <= {limit}""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_skipped_blocks AS
        SELECT kind, key, n FROM {skipped} ANTI JOIN id_touched USING (kind, key)
        UNION ALL SELECT kind, key, n FROM id_touched_size WHERE n > {limit}""")
    return [(str(k), str(v), int(n)) for k, v, n in con.execute(
        "SELECT kind, key, n FROM id_skipped_blocks ORDER BY n DESC, kind, key").fetchall()]


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
