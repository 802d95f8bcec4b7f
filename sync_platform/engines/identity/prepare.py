"""Normalise `staged.<entity>` into one standard record shape (`id_recs`) used by every step.

Each entity maps its canonical fields onto the same columns (first/last name, email, phone,
organisation, postal code, address, identifiers). Columns an entity lacks stay NULL and their
comparisons are ignored. Values shared by many distinct names (role inboxes, switchboard phones,
shared company addresses) are listed in `id_shared`; they never count as identity evidence.
"""

from __future__ import annotations

import hashlib
import re

import duckdb

from sync_platform.engines.canonical.organizations import LEGAL_SUFFIXES as ORGANIZATION_SUFFIXES
from sync_platform.engines.transforms.steps import domain_from_url_sql
from sync_platform.engines.warehouse import table_comment

ROLE_LOCAL_PARTS = (
    "ap", "ar", "accounts", "accounting", "accountspayable", "admin", "billing", "contact",
    "customerservice", "enquiries", "finance", "hello", "help", "hr", "info", "invoices",
    "marketing", "noreply", "no-reply", "office", "orders", "payables", "purchasing",
    "receivables", "reception", "sales", "service", "support", "team",
)
GENERIC_EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com",
    "live.com", "msn.com", "protonmail.com", "gmx.de", "web.de",
)
ADDR_KEY = "addr || '|' || coalesce(postal, '')"  # an address as shared values list it
FLAGS = ("email_sh", "phones", "addr_sh")  # per record, from the shared values (stored with it)
SHARED_RULES_VERSION = 1  # bump when _shared_sql decides differently: stored sets are recounted
# legal forms (shared list, undotted: punctuation is stripped first) and two stopwords
LEGAL_SUFFIXES = tuple(w for w in ORGANIZATION_SUFFIXES if "." not in w) + ("the", "and")
NICKNAMES: dict[str, tuple[str, ...]] = {
    "robert": ("bob", "bobby", "rob", "robbie", "bert"), "william": ("bill", "billy", "will",
    "willie", "liam"), "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "james": ("jim", "jimmy", "jamie"), "john": ("jack", "johnny", "jon"),
    "joseph": ("joe", "joey"), "michael": ("mike", "mikey", "mick"),
    "thomas": ("tom", "tommy"), "charles": ("charlie", "chuck", "chas"),
    "christopher": ("chris", "kit"), "daniel": ("dan", "danny"), "matthew": ("matt",),
    "anthony": ("tony",), "donald": ("don", "donnie"), "steven": ("steve", "stevie"),
    "stephen": ("steve",), "andrew": ("andy", "drew"), "joshua": ("josh",),
    "kenneth": ("ken", "kenny"), "edward": ("ed", "eddie", "ted", "ned"),
    "ronald": ("ron", "ronnie"), "timothy": ("tim", "timmy"), "jeffrey": ("jeff",),
    "gregory": ("greg",), "benjamin": ("ben", "benny"), "samuel": ("sam", "sammy"),
    "patrick": ("pat", "paddy"), "alexander": ("alex", "al", "sandy"),
    "nicholas": ("nick", "nicky"), "jonathan": ("jon", "jonny"), "zachary": ("zach", "zack"),
    "raymond": ("ray",), "lawrence": ("larry",), "gerald": ("jerry",), "douglas": ("doug",),
    "peter": ("pete",), "frederick": ("fred", "freddie"), "harold": ("harry", "hal"),
    "henry": ("hank", "harry"), "elizabeth": ("liz", "beth", "betty", "lizzie", "eliza",
    "libby"), "margaret": ("maggie", "peggy", "meg", "marge", "margie"),
    "katherine": ("kate", "kathy", "katie", "kat", "kay"), "catherine": ("cathy", "cate"),
    "kathleen": ("kathy",), "jennifer": ("jen", "jenny"), "patricia": ("pat", "patty",
    "trish", "tricia"), "susan": ("sue", "suzy"), "deborah": ("deb", "debbie"),
    "rebecca": ("becky", "becca"), "jessica": ("jess", "jessie"), "samantha": ("sam",),
    "victoria": ("vicky", "tori"), "christine": ("chris", "chrissy"),
    "christina": ("chris", "tina"), "barbara": ("barb", "babs"), "dorothy": ("dot", "dottie"),
    "pamela": ("pam",), "cynthia": ("cindy",), "kimberly": ("kim",), "amanda": ("mandy",),
    "melissa": ("mel", "missy"), "stephanie": ("steph",), "nancy": ("nan",),
    "abigail": ("abby",), "alexandra": ("alex", "sasha"), "theresa": ("terry", "tess"),
    "judith": ("judy",), "beverly": ("bev",), "virginia": ("ginny",), "emily": ("em", "emmy"),
    "sandra": ("sandy",), "frances": ("fran",), "francis": ("frank",), "gabriel": ("gabe",),
    "nathaniel": ("nate", "nat"), "nathan": ("nate",), "vincent": ("vince",),
    "walter": ("walt",), "leonard": ("leo", "len"), "eugene": ("gene",), "philip": ("phil",),
    "phillip": ("phil",), "allison": ("ally",), "madeline": ("maddie",), "lauren": ("laurie",),
}

def nickname_rows() -> list[tuple[str, str]]:
    """(name, canonical name) pairs: every nickname maps to its formal name."""
    rows = {(formal, formal) for formal in NICKNAMES}
    for formal, nicks in NICKNAMES.items():
        for nick in nicks:
            rows.add((nick, formal))
    # a nickname of several formal names (pat, chris, steve) keeps the first alphabetically
    best: dict[str, str] = {}
    for nick, formal in sorted(rows):
        best.setdefault(nick, formal)
    return sorted(best.items())


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def letters(expr: str) -> str:
    return f"nullif(regexp_replace(lower(trim({expr})), '[^a-z]', '', 'g'), '')"


def phone10(expr: str) -> str:
    digits = f"regexp_replace(coalesce({expr}, ''), '[^0-9]', '', 'g')"
    return f"(CASE WHEN length({digits}) >= 7 THEN right({digits}, 10) END)"


def email_norm(expr: str) -> str:
    e = f"lower(trim({expr}))"
    return f"(CASE WHEN {e} LIKE '%_@_%._%' THEN {e} END)"


def org_norm(expr: str) -> str:
    """Lower-case, punctuation to spaces, legal suffixes dropped, word order sorted."""
    tokens = (f"regexp_split_to_array(trim(regexp_replace(lower({expr}), '[^a-z0-9]+', ' ', "
              f"'g')), ' ')")
    suffixes = _sql_list(LEGAL_SUFFIXES)
    kept = f"list_filter({tokens}, lambda t: t <> '' AND NOT list_contains({suffixes}, t))"
    return f"nullif(array_to_string(list_sort({kept}), ' '), '')"


def _entity_columns(entity: str) -> dict[str, str]:
    """Expressions over the staged row `s` for each standard column."""
    if entity == "contact":
        return {
            "fn": letters("s.first_name"), "ln": letters("s.last_name"),
            "email": email_norm("s.email"), "phone": phone10("s.phone"),
            "phone2": phone10("s.mobile_phone"), "org": org_norm("s.company_name"),
            "org_ref": "s.company_source_id",
            "postal": "nullif(lower(regexp_replace(s.postal_code, '\\s', '', 'g')), '')",
            "addr": "nullif(lower(regexp_replace(s.street, '[^A-Za-z0-9]', '', 'g')), '')",
            "bdate": "TRY_CAST(s.birth_date AS DATE)",
            "nid": "nullif(upper(regexp_replace(s.national_id, '[^A-Za-z0-9]', '', 'g')), '')",
        }
    if entity == "customer":
        email = email_norm("s.email")
        edomain = f"split_part({email}, '@', 2)"
        dom = (f"coalesce({domain_from_url_sql('s.domain')}, {domain_from_url_sql('s.website')}, CASE WHEN NOT "
               f"list_contains({_sql_list(GENERIC_EMAIL_DOMAINS)}, {edomain}) THEN "
               f"nullif({edomain}, '') END)")
        return {
            "email": email, "phone": phone10("s.phone"), "org": org_norm("s.name"),
            "postal": "nullif(lower(regexp_replace(s.postal_code, '\\s', '', 'g')), '')",
            "addr": "nullif(lower(regexp_replace(s.street, '[^A-Za-z0-9]', '', 'g')), '')",
            "domain": dom,
            "acct": "nullif(upper(regexp_replace(s.account_number, '[^A-Za-z0-9]', '', 'g')), '')",
            "taxid": "nullif(upper(regexp_replace(s.tax_id, '[^A-Za-z0-9]', '', 'g')), '')",
        }
    if entity == "employee":
        return {
            "fn": letters("s.first_name"), "ln": letters("s.last_name"),
            "email": email_norm("s.work_email"),
            "empno": "nullif(regexp_replace(trim(s.employee_number), '^0+', ''), '')",
            "hdate": "s.hire_date",
        }
    raise ValueError(f"identity resolution has no profile for entity {entity!r}")


STANDARD = {
    "fn": "VARCHAR", "ln": "VARCHAR", "email": "VARCHAR", "phone": "VARCHAR",
    "phone2": "VARCHAR", "org": "VARCHAR", "org_ref": "VARCHAR", "postal": "VARCHAR",
    "addr": "VARCHAR", "domain": "VARCHAR", "acct": "VARCHAR", "taxid": "VARCHAR",
    "empno": "VARCHAR", "hdate": "DATE", "bdate": "DATE", "nid": "VARCHAR", "pref": "VARCHAR",
}
# every entity: the golden id the platform wrote back to the source (staging's platform_id)
PLATFORM_REF = "nullif(trim(s.platform_id), '')"


def supported(entity: str) -> bool:
    try:
        _entity_columns(entity)
    except ValueError:
        return False
    return True


def prepare(con: duckdb.DuckDBPyConnection, entity: str, shared_min_names: int,
            stored: str | None = None) -> int:
    """Create temp tables `id_nick`, `id_recs` and `id_shared`; return the record count.

    With `stored` (the last run's prepared records, `golden.<entity>_recs`), only new and changed
    staged rows are normalised; unchanged records keep their row and their rid, new ones get
    rids after the largest (incremental runs). Without it every row is normalised and rids
    follow the record keys."""
    con.execute("CREATE OR REPLACE TEMP TABLE id_nick (name VARCHAR, canon VARCHAR)")
    names, canons = zip(*nickname_rows(), strict=True)
    con.execute("INSERT INTO id_nick SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [list(names), list(canons)])
    present = _columns(con, entity)
    cols = {name: expr for name, expr in (_entity_columns(entity) | {"pref": PLATFORM_REF}).items()
            if set(re.findall(r"\bs\.([a-z_0-9]+)", expr)) <= present}  # missing -> NULL
    select = ",\n".join(f"CAST({cols.get(name, 'NULL')} AS {typ}) AS {name}"
                        for name, typ in STANDARD.items())
    live = "NOT coalesce(s.is_deleted, FALSE) AND " if "is_deleted" in present else ""
    order = "s.modified_at DESC NULLS LAST" if "modified_at" in present else "s.row_hash"
    key = "s.source_system || '|' || s.source_table || '|' || s.source_id"
    only_changed = ""
    if stored:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE id_stage AS
            SELECT {key} AS rec_key, s.row_hash FROM staged.{entity} s
            WHERE {live}s.source_id IS NOT NULL""")
        # one join finds both the staged rows the stored records lack (new, changed) and the
        # stored records no staged row matches any more (changed, removed)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE id_delta AS
            SELECT coalesce(n.rec_key, o.rec_key) AS rec_key, n.rec_key IS NOT NULL AS staged
            FROM id_stage n FULL JOIN (SELECT rec_key, row_hash FROM {stored}) o
              ON o.rec_key = n.rec_key AND o.row_hash = n.row_hash
            WHERE n.rec_key IS NULL OR o.rec_key IS NULL""")
        con.execute("CREATE OR REPLACE TEMP TABLE id_changed_keys AS "
                    "SELECT DISTINCT rec_key FROM id_delta WHERE staged")
        only_changed = f"AND {key} IN (SELECT rec_key FROM id_changed_keys)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_base AS
        SELECT {key} AS rec_key,
               s.source_system, s.source_table, s.source_id, s.row_hash, {select}
        FROM staged.{entity} s
        WHERE {live}s.source_id IS NOT NULL {only_changed}
        QUALIFY row_number() OVER (PARTITION BY rec_key ORDER BY {order}) = 1
    """)
    rid = "row_number() OVER (ORDER BY b.rec_key)"
    if stored:  # a changed record keeps its rid, a new one gets the next free one
        rid = (f"coalesce(o.rid, (SELECT coalesce(max(rid), 0) FROM {stored}) "
               f"+ row_number() OVER (PARTITION BY o.rid IS NULL ORDER BY b.rec_key))")
    old = f"LEFT JOIN {stored} o ON o.rec_key = b.rec_key" if stored else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_new AS
        SELECT {rid} AS rid, b.*,
               coalesce(n.canon, b.fn) AS fn_canon,
               split_part(b.email, '@', 1) AS email_local,
               coalesce(b.fn, '') || ' ' || coalesce(b.ln, '') || ' ' || coalesce(b.org, '')
                   AS name_key
        FROM id_base b LEFT JOIN id_nick n ON n.name = b.fn {old}
    """)
    con.execute("DROP TABLE id_base")
    # every record: the normalised new and changed ones, and the stored ones still staged as
    # they were (read by the shared-value counts)
    if stored:
        con.execute(f"""CREATE OR REPLACE TEMP VIEW id_all AS
            SELECT * FROM id_new UNION ALL BY NAME
            SELECT * EXCLUDE ({', '.join(FLAGS)}) FROM {stored}
            WHERE rec_key NOT IN (SELECT rec_key FROM id_delta)""")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW id_all AS SELECT * FROM id_new")
    k = int(shared_min_names)
    if stored and table_comment(con, "golden", f"{entity}_shared") == shared_label(k):
        _shared_incremental(con, entity, k, stored, f"golden.{entity}_shared")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE id_shared AS {_shared_sql(entity, k)}")
    for kind in ("VIEW", "TABLE"):
        con.execute(f"DROP {kind} IF EXISTS id_recs")
    if not stored:
        con.execute(f"CREATE TEMP TABLE id_recs AS {_flagged('id_all')}")
        return con.execute("SELECT count(*) FROM id_recs").fetchall()[0][0]
    # The stored records keep their shared-value flags; only those holding a value whose status
    # moved are flagged again, with the new and changed ones (`id_fresh`). `id_recs` is a view:
    # copying every record would cost more than the few passes that read it.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_shared_moved AS
        (SELECT kind, value FROM id_shared EXCEPT SELECT kind, value FROM golden.{entity}_shared)
        UNION
        (SELECT kind, value FROM golden.{entity}_shared EXCEPT SELECT kind, value FROM id_shared)""")
    # equi-joins per kind (an OR join condition would compare every record with every value)
    kept = f"(SELECT * FROM {stored} WHERE rec_key NOT IN (SELECT rec_key FROM id_delta))"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_reflag AS
        SELECT r.rec_key FROM {kept} r JOIN id_shared_moved s ON s.kind = 'email' AND s.value = r.email
        UNION SELECT r.rec_key FROM {kept} r JOIN id_shared_moved s
            ON s.kind = 'phone' AND s.value = r.phone
        UNION SELECT r.rec_key FROM {kept} r JOIN id_shared_moved s
            ON s.kind = 'phone' AND s.value = r.phone2
        UNION SELECT r.rec_key FROM {kept} r JOIN id_shared_moved s
            ON s.kind = 'addr' AND s.value = {ADDR_KEY}""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_fresh AS {_flagged(
        f"(SELECT * FROM id_new UNION ALL BY NAME SELECT * EXCLUDE ({', '.join(FLAGS)}) "
        f"FROM {stored} WHERE rec_key IN (SELECT rec_key FROM id_reflag))")}""")
    con.execute(f"""CREATE TEMP VIEW id_recs AS
        SELECT * FROM {kept} WHERE rec_key NOT IN (SELECT rec_key FROM id_reflag)
        UNION ALL BY NAME SELECT * FROM id_fresh""")
    return con.execute("SELECT count(*) FROM id_recs").fetchall()[0][0]


def _flagged(records: str) -> str:
    """The `records` with their shared-value flags: `email_sh`, `phones` (the record's phones
    that are not shared) and `addr_sh`."""
    return f"""
        SELECT r.*,
            coalesce(r.email IN (SELECT value FROM id_shared WHERE kind = 'email'), FALSE)
                AS email_sh,
            list_filter([CASE WHEN r.phone NOT IN (SELECT value FROM id_shared
                                                    WHERE kind = 'phone') THEN r.phone END,
                         CASE WHEN r.phone2 NOT IN (SELECT value FROM id_shared
                                                     WHERE kind = 'phone') THEN r.phone2 END],
                        lambda p: p IS NOT NULL) AS phones,
            coalesce({ADDR_KEY} IN (SELECT value FROM id_shared WHERE kind = 'addr'), FALSE)
                AS addr_sh
        FROM {records} r"""


def _shared_sql(entity: str, k: int, touched: str | None = None) -> str:
    """The shared values (kind, value) among the records of `id_all`: role inboxes, and
    emails, phones and addresses held by at least `k` distinct names. With `touched` (a table
    of (kind, value)), only those values are looked at."""
    roles = _sql_list(ROLE_LOCAL_PARTS)
    name_person = "coalesce(fn_canon, '') || ' ' || coalesce(ln, '')"
    name_any = "org" if entity == "customer" else name_person

    def only(kind: str, value: str) -> str:
        return f" AND {value} IN (SELECT value FROM {touched} WHERE kind = '{kind}')" if touched else ""

    return f"""
        SELECT DISTINCT kind, value FROM (
            SELECT 'email' AS kind, email AS value FROM id_all
            WHERE email IS NOT NULL AND list_contains({roles}, regexp_replace(email_local,
                  '[^a-z-]', '', 'g')){only('email', 'email')}
            UNION ALL
            SELECT 'email', email FROM id_all WHERE email IS NOT NULL{only('email', 'email')}
            GROUP BY email HAVING count(DISTINCT {name_any}) >= {k}
            UNION ALL
            SELECT 'phone', p FROM (SELECT phone AS p, {name_any} AS nm FROM id_all
                                    UNION ALL SELECT phone2, {name_any} FROM id_all)
            WHERE p IS NOT NULL{only('phone', 'p')} GROUP BY p HAVING count(DISTINCT nm) >= {k}
            UNION ALL
            SELECT 'addr', {ADDR_KEY} FROM id_all
            WHERE addr IS NOT NULL{only('addr', ADDR_KEY)}
            GROUP BY {ADDR_KEY} HAVING count(DISTINCT {name_any}) >= {k}
        )"""


def shared_label(k: int) -> str:
    """What `golden.<entity>_shared` is labelled with: the rules its values were decided by
    (a stored set decided otherwise is counted again in full)."""
    rules = hashlib.sha256(repr((SHARED_RULES_VERSION, ROLE_LOCAL_PARTS)).encode()).hexdigest()[:12]
    return f"shared_min_names={int(k)} rules={rules}"


def _shared_incremental(con: duckdb.DuckDBPyConnection, entity: str, k: int, stored: str,
                        shared: str) -> None:
    """`id_shared` from the last run's shared values: a value's status can only move when a
    record holding it was added, changed or removed, so only the values of those records (old
    and new) are counted again; the others keep their stored status."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_touched_values AS
        WITH r AS (SELECT email, phone, phone2, addr, postal FROM id_new
                   UNION ALL SELECT email, phone, phone2, addr, postal FROM {stored}
                   WHERE rec_key IN (SELECT rec_key FROM id_delta))
        SELECT DISTINCT kind, value FROM (
            SELECT 'email' AS kind, email AS value FROM r UNION ALL SELECT 'phone', phone FROM r
            UNION ALL SELECT 'phone', phone2 FROM r
            UNION ALL SELECT 'addr', {ADDR_KEY} FROM r WHERE addr IS NOT NULL)
        WHERE value IS NOT NULL""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_shared AS
        SELECT kind, value FROM {shared} ANTI JOIN id_touched_values USING (kind, value)
        UNION {_shared_sql(entity, k, "id_touched_values")}""")


def _columns(con: duckdb.DuckDBPyConnection, entity: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_schema = 'staged' AND table_name = ?", [entity]).fetchall()
    return {r[0] for r in rows}
