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


def build_keys(con: duckdb.DuckDBPyConnection, max_block_size: int) -> list[tuple[str, str, int]]:
    """Create `id_keys(rid, kind, key)` (usable blocks only) and `id_skipped_blocks(kind, key,
    n)`; return the skipped blocks."""
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
    caps = " ".join(f"WHEN '{kind}' THEN {min(cap, max_block_size)}"
                    for kind, cap in KEY_CAPS.items())
    limit = f"(CASE kind {caps} ELSE {int(max_block_size)} END)"
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
