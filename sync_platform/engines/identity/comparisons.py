"""Set-based comparison vectors in DuckDB SQL: one level per field per candidate pair.

Level -1 means "no evidence" (a value missing, or shared: role inbox, switchboard phone, shared
company address) and contributes nothing to the match weight. Higher levels are stronger
agreement. String similarity uses DuckDB's jaro_winkler_similarity, damerau_levenshtein and a
Jaccard index over word tokens; first names compare through a nickname table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Comparison:
    name: str
    sql: str  # CASE expression over a (x) and b (y) records -> level
    labels: tuple[str, ...]  # label of level 0, 1, ...


def _tok(col: str) -> str:
    return f"list_distinct(string_split({col}, ' '))"


FIRST_NAME = Comparison("first_name", """CASE
    WHEN x.fn IS NULL OR y.fn IS NULL THEN -1
    WHEN x.fn = y.fn THEN 3
    WHEN x.fn_canon = y.fn_canon OR jaro_winkler_similarity(x.fn, y.fn) >= 0.9 THEN 2
    WHEN (length(x.fn) = 1 OR length(y.fn) = 1) AND left(x.fn, 1) = left(y.fn, 1) THEN 1
    ELSE 0 END""", ("differs", "initial", "nickname/typo", "exact"))
LAST_NAME = Comparison("last_name", """CASE
    WHEN x.ln IS NULL OR y.ln IS NULL THEN -1
    WHEN x.ln = y.ln THEN 3
    WHEN damerau_levenshtein(x.ln, y.ln) <= 1 OR jaro_winkler_similarity(x.ln, y.ln) >= 0.93
        THEN 2
    WHEN jaro_winkler_similarity(x.ln, y.ln) >= 0.8 THEN 1
    ELSE 0 END""", ("differs", "similar", "typo", "exact"))
EMAIL = Comparison("email", """CASE
    WHEN x.email IS NULL OR y.email IS NULL OR x.email_sh OR y.email_sh THEN -1
    WHEN x.email = y.email THEN 3
    WHEN split_part(x.email, '@', 2) = split_part(y.email, '@', 2)
        AND regexp_replace(x.email_local, '[0-9]+$', '') = regexp_replace(y.email_local,
                                                                         '[0-9]+$', '')
        THEN 0  -- numbered mailboxes (jane.doe, jane.doe2) of namesakes at one domain
    WHEN split_part(x.email, '@', 2) = split_part(y.email, '@', 2)
        AND (damerau_levenshtein(x.email_local, y.email_local) <= 2
             OR jaro_winkler_similarity(x.email_local, y.email_local) >= 0.88) THEN 2
    WHEN x.email_local = y.email_local THEN 1
    ELSE 0 END""", ("differs", "same local part, other domain", "typo", "exact"))
_PHONES_X = "x.phones"
_PHONES_Y = "y.phones"
PHONE = Comparison("phone", f"""CASE
    WHEN len({_PHONES_X}) = 0 OR len({_PHONES_Y}) = 0 THEN -1
    WHEN len(list_intersect({_PHONES_X}, {_PHONES_Y})) > 0 THEN 2
    WHEN list_bool_or(list_transform({_PHONES_X}, lambda p: list_bool_or(list_transform({_PHONES_Y},
        lambda q: damerau_levenshtein(p, q) <= 1)))) THEN 1
    ELSE 0 END""", ("differs", "typo", "exact"))
ORG = Comparison("org", f"""CASE
    WHEN x.org IS NULL OR y.org IS NULL THEN -1
    WHEN x.org = y.org THEN 3
    WHEN len(list_intersect({_tok('x.org')}, {_tok('y.org')}))::DOUBLE
         / len(list_distinct(list_concat({_tok('x.org')}, {_tok('y.org')}))) >= 0.6
         OR jaro_winkler_similarity(x.org, y.org) >= 0.93 THEN 2
    WHEN jaro_winkler_similarity(x.org, y.org) >= 0.85 THEN 1
    ELSE 0 END""", ("differs", "similar", "close", "exact"))
POSTAL = Comparison("postal", """CASE
    WHEN x.postal IS NULL OR y.postal IS NULL THEN -1
    WHEN x.postal = y.postal THEN 1 ELSE 0 END""", ("differs", "exact"))
ADDR = Comparison("address", """CASE
    WHEN x.addr IS NULL OR y.addr IS NULL OR x.addr_sh OR y.addr_sh THEN -1
    WHEN x.addr = y.addr THEN 2
    WHEN jaro_winkler_similarity(x.addr, y.addr) >= 0.9 THEN 1
    ELSE 0 END""", ("differs", "similar", "exact"))
DOMAIN = Comparison("domain", """CASE
    WHEN x.domain IS NULL OR y.domain IS NULL THEN -1
    WHEN x.domain = y.domain THEN 1 ELSE 0 END""", ("differs", "exact"))
HIRE_DATE = Comparison("hire_date", """CASE
    WHEN x.hdate IS NULL OR y.hdate IS NULL THEN -1
    WHEN x.hdate = y.hdate THEN 2
    WHEN abs(date_diff('day', x.hdate, y.hdate)) <= 31
        OR (day(x.hdate) = month(y.hdate) AND month(x.hdate) = day(y.hdate)
            AND year(x.hdate) = year(y.hdate)) THEN 1
    ELSE 0 END""", ("differs", "close/swapped", "exact"))

BIRTH_DATE = Comparison("birth_date", """CASE
    WHEN x.bdate IS NULL OR y.bdate IS NULL THEN -1
    WHEN x.bdate = y.bdate THEN 3
    WHEN day(x.bdate) = month(y.bdate) AND month(x.bdate) = day(y.bdate)
        AND year(x.bdate) = year(y.bdate) THEN 2
    WHEN (year(x.bdate) = year(y.bdate))::INT + (month(x.bdate) = month(y.bdate))::INT
        + (day(x.bdate) = day(y.bdate))::INT = 2 THEN 1
    ELSE 0 END""", ("differs", "one component off", "day and month swapped", "exact"))

NATIONAL_ID = Comparison("national_id", """CASE
    WHEN x.nid IS NULL OR y.nid IS NULL THEN -1
    WHEN x.nid = y.nid THEN 2
    WHEN damerau_levenshtein(x.nid, y.nid) <= 1 THEN 1
    ELSE 0 END""", ("differs", "typo", "exact"))


def _ident(name: str, col: str) -> Comparison:
    return Comparison(name, f"""CASE
        WHEN x.{col} IS NULL OR y.{col} IS NULL THEN -1
        WHEN x.{col} = y.{col} THEN 1 ELSE 0 END""", ("differs", "exact"))


COMPARISONS: dict[str, tuple[Comparison, ...]] = {
    "contact": (FIRST_NAME, LAST_NAME, EMAIL, PHONE, ORG, POSTAL, ADDR, BIRTH_DATE, NATIONAL_ID),
    "customer": (ORG, DOMAIN, PHONE, EMAIL, POSTAL, ADDR, _ident("account_number", "acct"),
                 _ident("tax_id", "taxid")),
    "employee": (FIRST_NAME, LAST_NAME, EMAIL, _ident("employee_number", "empno"), HIRE_DATE),
}

# deterministic rules: equal normalised identifiers (shared emails excluded) -> score 1. The
# platform's own golden id written back to a target is one, for every entity: two records
# holding the same one, or one holding the golden id the other had in the last run (a record
# the push created in a target comes back linked to the record it was made from, even when
# nothing else is there to block on; gx/gy: id_prev_gid)
_PLATFORM_ID = ("same platform id written back", "(x.pref = y.pref OR x.pref = gy.gid OR y.pref = gx.gid)")
RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "contact": (_PLATFORM_ID, ("same email", "x.email = y.email AND NOT x.email_sh")),
    "customer": (_PLATFORM_ID, ("same account_number", "x.acct = y.acct"),
                 ("same tax_id", "x.taxid = y.taxid")),
    "employee": (_PLATFORM_ID, ("same employee_number", "x.empno = y.empno"),
                 ("same work_email", "x.email = y.email AND NOT x.email_sh")),
}

PERSON_ENTITIES = {"contact", "employee"}


def comparisons_for(entity: str) -> tuple[Comparison, ...]:
    return COMPARISONS[entity]


def compare(con: duckdb.DuckDBPyConnection, entity: str, pairs: str, out: str) -> None:
    """Create `out(a, b, <comparison levels>, rule)` for the (a, b) pairs in table `pairs`."""
    levels = ",\n".join(f"CAST({c.sql} AS TINYINT) AS {c.name}" for c in comparisons_for(entity))
    rule_case = " ".join(f"WHEN {cond} THEN 'rule: {label}'" for label, cond in RULES[entity])
    con.execute("CREATE TEMP TABLE IF NOT EXISTS id_prev_gid (rid BIGINT, gid VARCHAR)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT p.a, p.b, {levels}, CASE {rule_case} END AS rule
        FROM {pairs} p JOIN id_recs x ON x.rid = p.a JOIN id_recs y ON y.rid = p.b
        LEFT JOIN id_prev_gid gx ON gx.rid = p.a LEFT JOIN id_prev_gid gy ON gy.rid = p.b
    """)
