"""Reconciliation throughput: golden records vs a target's live copy, then the change set.

For each --size N a warehouse is synthesised in a DuckDB file (SQL only, deterministic, keyed on
the record number i):
- `golden.contact`: N records (golden_id, first_name, last_name, email, phone (E.164), city,
  birth_date, national_id (pii), lifecycle_stage, is_deleted);
- `golden.contact_xref`: a crm row per record, and the target's (`shop.people`) record id for
  ~94% of them; `golden.contact_lineage`: two rows per record (first_name, email);
- `raw_shop.people`: the target's live copy in its own formats. Format-only variations (must
  give no difference): names and cities with extra spaces, emails upper-cased or padded, phones
  as `(415) 555-0101` / `415-555-0101` / `415.555.0101` / E.164, dates as MM/DD/YYYY, unpadded
  M/D/YYYY or ISO, national ids as BIGINT (leading zeros lost), stage codes with a trailing
  space. Planted differences: 5% of the golden records have no target row (0.1% of those are
  deleted golden records: no difference), 0.1% have an xref naming a row the target no longer
  has, 1% of the rows carry one really different field (rotating over the 8 columns), 0.1% of
  the golden records lack a city the target has (not pushable), 2% of the rows lack the golden
  id in `ext_id` (a pushable difference: the push writes it back), 1% are found by `ext_id`
  alone (no xref), and N/200 live rows belong to no golden record.
The expected differences are written to `bench.expected` at generation time (from the plan,
not from the engine) and every run must reproduce them exactly, row for row.

Cases (each repeat in a fresh process; best of --repeat; peak RSS of that process):
- `recon`: `reconcile_target(con, target, "normalized")` (writes recon.contact__shop);
- `change_set`: `build_change_set(con, target)` on that result, in the same process (its peak
  RSS includes the reconciliation before it);
- `plain_join`: one hand-written `CREATE TEMP TABLE AS` full outer join of the same rendered
  golden rows (`rendered_sql`) with the live rows, exact text comparison, no normalisation (it
  reports every format variation as a difference: see `differences`).
rows_per_s counts golden records + live rows; ratio is the case's seconds / plain_join's.
`recon` always asks for a full reconciliation (`full=True`): the state a repeat leaves behind
would make the next one incremental.

With --incremental (instead of the cases above): a full reconciliation leaves its state, then
about 1% of the rows change (CHANGES: 0.5% of the golden records get another first name, 0.1%
lose their phone, 0.1% are new (with an xref and a target row), 0.2% of the live rows get
format-only spaces in the city, 0.1% another email, 0.1% are deleted), and each repeat
reconciles that same changed warehouse twice, each in a fresh process on its own copy:
- `recon_incremental`: `reconcile_target(con, target)` (incremental from the state);
- `recon_full_changed`: `reconcile_target(con, target, full=True)` on the same data.
Both must leave the same recon table (but reconciled_at) and counts; ratio is incremental /
full; detail has the affected keys.

    .venv/bin/python benchmarks/recon_throughput.py [--sizes 1000000,10000000] [--repeat 3]
    .venv/bin/python benchmarks/recon_throughput.py --incremental --sizes 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_io import ResultRows, emit

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "recon_throughput.csv"
CASES = ["recon", "plain_join"]  # change_set rows come out of the recon processes
# about 1% of the rows changed between two reconciliations (see the module docstring)
CHANGES = [
    "UPDATE golden.contact SET first_name = first_name || 'z' WHERE hash(golden_id, 'inc1') % 200 = 0",
    "UPDATE golden.contact SET phone = NULL WHERE hash(golden_id, 'inc2') % 1000 = 0",
    "CREATE TEMP TABLE new_ids AS SELECT 'n' || i AS golden_id, i FROM range({n} // 1000) t(i)",
    "INSERT INTO golden.contact SELECT n.golden_id, first_name, last_name, 'n' || email, phone, "
    "city, birth_date, national_id, lifecycle_stage, false FROM golden.contact g "
    "JOIN new_ids n ON g.golden_id = 'g' || n.i",
    "INSERT INTO golden.contact_xref SELECT 'shop', 'people', (3 * {n} + i)::VARCHAR, golden_id, "
    "NULL FROM new_ids",
    "INSERT INTO raw_shop.people SELECT 3 * {n} + n.i, n.golden_id, first, last, 'n' || mail, tel, "
    "town, dob, nid, stage FROM raw_shop.people p JOIN new_ids n ON p.id = n.i + 1",
    "UPDATE raw_shop.people SET town = ' ' || town || '  ' WHERE hash(id, 'inc3') % 500 = 0",
    "UPDATE raw_shop.people SET mail = 'changed.' || mail WHERE hash(id, 'inc4') % 1000 = 0",
    "DELETE FROM raw_shop.people WHERE hash(id, 'inc5') % 1000 = 0",
]
COMPARED = ["first", "last", "mail", "tel", "town", "dob", "nid", "stage"]  # rotating changes
STAGES = {"L": "lead", "C": "customer", "S": "subscriber", "O": "opportunity"}
FIRST = ["Ada", "Grace", "Alan", "Kurt", "Emmy", "John", "Barbara", "Edsger", "Donald", "Frances",
         "Claude", "Hedy", "Dennis", "Margaret", "Ken", "Radia", "Tim", "Katherine", "Linus", "Ruth"]
LAST = ["Lovelace", "Hopper", "Turing", "Godel", "Noether", "Neumann", "Liskov", "Dijkstra",
        "Knuth", "Allen", "Shannon", "Lamarr", "Ritchie", "Hamilton", "Thompson", "Perlman",
        "Berners Lee", "Johnson", "Torvalds", "Teitelbaum"]
CITIES = ["San Francisco", "New York", "Los Angeles", "Salt Lake City", "Austin", "Boston",
          "Chicago", "Seattle", "Denver", "Portland", "St. Louis", "Kansas City", "Miami"]


def sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate(path: Path, size: int) -> None:
    """The synthetic warehouse and `bench.expected` (see the module docstring)."""
    import duckdb

    n = int(size)
    con = duckdb.connect(str(path))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("CREATE SCHEMA golden; CREATE SCHEMA raw_shop; CREATE SCHEMA bench")
        # the plan: what each record i is (only modular arithmetic on i)
        con.execute(f"""CREATE TABLE bench.plan AS SELECT i::BIGINT AS i, 'g' || i AS golden_id,
            i % 20 = 19 AS no_row, i % 1000 = 999 AS deleted, i % 1000 = 500 AS stale_xref,
            i % 100 = 7 AS by_ext, i % 50 = 3 AS ext_missing, i % 1000 = 211 AS city_null,
            i % 1000 = 212 AS phone_null,
            CASE WHEN i % 100 = 41 THEN {sql_list(COMPARED)}[(i // 100) % 8 + 1] END AS changed
            FROM range({n}) t(i)""")
        stage_of = sql_list(list(STAGES.values()))
        con.execute(f"""CREATE TABLE golden.contact AS SELECT golden_id,
            {sql_list(FIRST)}[(hash(i, 1) % 20)::BIGINT + 1] AS first_name,
            {sql_list(LAST)}[(hash(i, 2) % 20)::BIGINT + 1] AS last_name,
            NULL::VARCHAR AS email,
            CASE WHEN NOT phone_null THEN '+1' || (200 + hash(i, 3) % 800)::VARCHAR
                 || lpad((hash(i, 4) % 10000000)::VARCHAR, 7, '0') END AS phone,
            CASE WHEN NOT city_null THEN {sql_list(CITIES)}[(hash(i, 5) % {len(CITIES)})::BIGINT + 1] END AS city,
            DATE '1940-01-01' + (hash(i, 6) % 25000)::INTEGER AS birth_date,
            lpad((hash(i, 7) % 1000000000)::VARCHAR, 9, '0') AS national_id,
            {stage_of}[(hash(i, 8) % 4)::BIGINT + 1] AS lifecycle_stage,
            deleted AS is_deleted
            FROM bench.plan ORDER BY i""")
        con.execute("UPDATE golden.contact SET email = lower(replace(first_name || '.' || "
                    "last_name, ' ', '')) || substr(golden_id, 2) || '@example.com'")
        con.execute("""CREATE TABLE golden.contact_xref AS
            SELECT 'crm' AS source_system, 'contacts' AS source_table, 'c' || i AS source_id,
                   golden_id, NULL::VARCHAR AS review_status FROM bench.plan
            UNION ALL
            SELECT 'shop', 'people', (i + 1)::VARCHAR, golden_id, NULL FROM bench.plan
            WHERE NOT no_row AND NOT by_ext""")
        con.execute("""CREATE TABLE golden.contact_lineage AS
            SELECT golden_id, f AS field, NULL::VARCHAR AS value, 'crm' AS source_system,
                   'contacts' AS source_table, 'c' || substr(golden_id, 2) AS source_id,
                   'system_of_record:crm' AS rule
            FROM golden.contact, (VALUES ('first_name'), ('email')) v(f)""")
        back = " ".join(f"WHEN '{v}' THEN '{k}'" for k, v in STAGES.items())
        codes = sql_list(list(STAGES))

        def col(name: str, same: str, changed: str) -> str:
            return f"CASE WHEN p.changed = '{name}' THEN {changed} ELSE {same} END AS {name}"

        digits = "substr(g.phone, 3)"
        phone_fmt = (f"CASE i % 4 WHEN 0 THEN '(' || substr({digits}, 1, 3) || ') ' || "
                     f"substr({digits}, 4, 3) || '-' || substr({digits}, 7) "
                     f"WHEN 1 THEN substr({digits}, 1, 3) || '-' || substr({digits}, 4, 3) || '-' "
                     f"|| substr({digits}, 7) WHEN 2 THEN substr({digits}, 1, 3) || '.' || "
                     f"substr({digits}, 4, 3) || '.' || substr({digits}, 7) ELSE g.phone END")
        phone_changed = ("substr(g.phone, 1, 11) || ((substr(g.phone, 12, 1)::INTEGER + 1) % 10)"
                         "::VARCHAR")
        dob_fmt = ("CASE WHEN i % 17 = 0 THEN strftime(g.birth_date, '%Y-%m-%d') "
                   "WHEN i % 6 = 0 THEN strftime(g.birth_date, '%-m/%-d/%Y') "
                   "ELSE strftime(g.birth_date, '%m/%d/%Y') END")
        stage_code = f"(CASE g.lifecycle_stage {back} END)"
        con.execute(f"""CREATE TABLE raw_shop.people AS SELECT * FROM (
            SELECT (i + 1)::BIGINT AS id,
              CASE WHEN NOT ext_missing THEN g.golden_id END AS ext_id,
              {col('first', "CASE WHEN i % 7 = 0 THEN ' ' || g.first_name || '  ' ELSE g.first_name END",
                   "g.first_name || 'x'")},
              {col('last', "CASE WHEN i % 11 = 0 THEN g.last_name || ' ' ELSE g.last_name END",
                   "g.last_name || 'son'")},
              {col('mail', "CASE WHEN i % 5 = 0 THEN upper(g.email) WHEN i % 13 = 0 THEN "
                           "' ' || g.email ELSE g.email END", "'x' || g.email")},
              {col('tel', phone_fmt, phone_changed)},
              {col('town', "CASE WHEN p.city_null THEN 'Unknown' WHEN i % 9 = 0 THEN "
                           "replace(g.city, ' ', '  ') || ' ' ELSE g.city END",
                   "g.city || ' Heights'")},
              {col('dob', dob_fmt, "strftime(g.birth_date + 1, '%m/%d/%Y')")},
              {col('nid', "g.national_id::BIGINT", "g.national_id::BIGINT + 1")},
              {col('stage', f"CASE WHEN i % 8 = 0 THEN {stage_code} || ' ' ELSE {stage_code} END",
                   f"{codes}[((hash(i, 8) % 4 + 1) % 4)::BIGINT + 1]")}
            FROM bench.plan p JOIN golden.contact g USING (golden_id)
            WHERE NOT p.no_row AND NOT p.stale_xref
            UNION ALL
            SELECT (2 * {n} + j)::BIGINT, NULL, 'Nobody', 'Extra' || j, 'nobody' || j || '@x.org',
              NULL, 'Nowhere', '01/01/2000', j, 'L'
            FROM range({n // 200}) t(j)) ORDER BY hash(id)""")  # landed in no particular order
        # what a correct reconciliation must find, from the plan alone
        con.execute(f"""CREATE TABLE bench.expected AS
            SELECT golden_id, CASE WHEN stale_xref THEN (i + 1)::VARCHAR END AS target_key,
                   'missing_in_target' AS kind, NULL::VARCHAR AS field, true AS pushable
            FROM bench.plan WHERE (no_row AND NOT deleted) OR stale_xref
            UNION ALL
            SELECT NULL, (2 * {n} + j)::VARCHAR, 'extra_in_target', NULL, false
            FROM range({n // 200}) t(j)
            UNION ALL
            SELECT golden_id, (i + 1)::VARCHAR, 'field_mismatch', 'ext_id', true FROM bench.plan
            WHERE ext_missing AND NOT no_row AND NOT stale_xref
            UNION ALL
            SELECT golden_id, (i + 1)::VARCHAR, 'field_mismatch', changed, changed != 'stage'
            FROM bench.plan WHERE changed IS NOT NULL AND NOT no_row AND NOT stale_xref
              AND NOT (changed = 'town' AND city_null) AND NOT (changed = 'tel' AND phone_null)
            UNION ALL
            SELECT golden_id, (i + 1)::VARCHAR, 'field_mismatch', 'town', false FROM bench.plan
            WHERE city_null AND NOT no_row AND NOT stale_xref""")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def target():  # a TargetTable (the engine is imported lazily: the parent never imports it)
    """The shop.people target as test_golden_recon.py builds it (by hand, no catalog)."""
    from sync_platform.engines.canonical import FieldRule, SystemMapping, TransformStep
    from sync_platform.engines.catalog.models import Flow
    from sync_platform.engines.outbound import outbound_for
    from sync_platform.engines.reconcile.ownership import GOLDEN, TargetColumn, TargetTable

    def rule(source: str, field: str, *steps: tuple[str, dict]) -> FieldRule:
        return FieldRule(sources=[source], targets=[field], confidence=0.99, status="approved",
                         transform=[TransformStep(kind=k, params=p) for k, p in steps])

    mapping = SystemMapping(
        id="shop.people__contact", source_system="shop", source_table="people",
        entity_type="contact", status="approved", mapping_rules=[
            rule("first", "first_name", ("trim", {})),
            rule("last", "last_name", ("trim", {})),
            rule("mail", "email", ("email", {})),
            rule("tel", "phone", ("phone", {})),
            rule("town", "city", ("trim", {})),
            rule("dob", "birth_date", ("date", {"format": "%m/%d/%Y"})),
            rule("nid", "national_id", ("trim", {})),
            rule("stage", "lifecycle_stage", ("trim", {}), ("value_map", {"map": STAGES})),
        ])
    flow = Flow(name="crm_to_shop", source="crm", target="shop", entity="contact", mode="upsert",
                timing={"on_change": True})
    columns = [TargetColumn("first", ["first_name"], "crm", True, None),
               TargetColumn("last", ["last_name"], "crm", True, None),
               TargetColumn("mail", ["email"], "crm", True, "email"),
               TargetColumn("tel", ["phone"], "crm", True, "phone"),
               TargetColumn("town", ["city"], "crm", True, None),
               TargetColumn("dob", ["birth_date"], "crm", True, "date", pii=True),
               TargetColumn("nid", ["national_id"], GOLDEN, True, None, pii=True),
               TargetColumn("stage", ["lifecycle_stage"], "shop", False, None)]
    return TargetTable("contact", "shop", "people", [flow], outbound_for(mapping), columns, ["id"],
                       "ext_id")


def rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def verify(con, result, cs) -> dict:
    """The recon table must hold exactly bench.expected; the change set its creates/updates.
    Returns the problems (empty when all is as planted)."""
    cols = "golden_id, target_key, kind, field, pushable"
    unexpected = con.execute(f"SELECT {cols} FROM recon.contact__shop EXCEPT ALL "
                             f"SELECT {cols} FROM bench.expected").fetchall()
    not_found = con.execute(f"SELECT {cols} FROM bench.expected EXCEPT ALL "
                            f"SELECT {cols} FROM recon.contact__shop").fetchall()
    expected_rows, creates, updates, pushable = con.execute(
        "SELECT count(*), count(DISTINCT golden_id) FILTER (WHERE kind = 'missing_in_target'), "
        "count(DISTINCT golden_id) FILTER (WHERE kind = 'field_mismatch' AND pushable), "
        "count(*) FILTER (WHERE pushable) FROM bench.expected").fetchall()[0]
    problems: dict = {}
    if unexpected or not_found:
        problems["unexpected_rows"] = len(unexpected)
        problems["unexpected_sample"] = [list(map(str, r)) for r in unexpected[:5]]
        problems["not_found_rows"] = len(not_found)
        problems["not_found_sample"] = [list(map(str, r)) for r in not_found[:5]]
    got = {"differences": result.differences, "pushable": result.pushable,
           "creates": cs.count("create"), "updates": cs.count("update"),
           "deletes": cs.count("delete"), "deferred": len(cs.deferred), "skipped": cs.skipped}
    want = {"differences": expected_rows, "pushable": pushable, "creates": creates,
            "updates": updates, "deletes": 0, "deferred": 0, "skipped": {}}
    if got != want:
        problems["counts"] = {"got": got, "expected": want}
    return problems


def run_recon(path: Path, size: int) -> dict:
    """One reconciliation + change set (fresh process, fresh connection)."""
    import duckdb

    from sync_platform.engines.push.changeset import build_change_set
    from sync_platform.engines.reconcile.golden import reconcile_target

    t = target()
    con = duckdb.connect(str(path))
    try:
        started = time.perf_counter()
        result = reconcile_target(con, t, strictness="normalized", full=True)
        recon_s = time.perf_counter() - started
        recon_rss = rss_mb()
        started = time.perf_counter()
        cs = build_change_set(con, t)
        cs_s = time.perf_counter() - started
        cs_rss = rss_mb()
        problems = verify(con, result, cs)
    finally:
        con.close()
    return {"recon_s": recon_s, "recon_rss": recon_rss, "cs_s": cs_s, "cs_rss": cs_rss,
            "problems": problems, "golden_records": result.golden_records,
            "target_rows": result.target_rows, "matched": result.matched,
            "differences": result.differences, "pushable": result.pushable,
            "missing_in_target": result.missing_in_target,
            "extra_in_target": result.extra_in_target,
            "mismatched_records": result.mismatched_records,
            "field_mismatches": result.field_mismatches,
            "creates": cs.count("create"), "updates": cs.count("update"),
            "skipped": cs.skipped}


def run_plain(path: Path, size: int) -> dict:
    """The hand-written full outer join of the same rendered rows vs the live rows (exact)."""
    import duckdb

    from sync_platform.engines.reconcile.golden import compared_columns, live_rows_sql, rendered_sql

    t = target()
    con = duckdb.connect(str(path), read_only=True)
    try:
        live, live_cols = live_rows_sql(con, t)  # metadata only: not timed
        rendered = rendered_sql(con, t, live_cols)
        cols = compared_columns(t)
        started = time.perf_counter()
        differs = " OR ".join(f"g.{c} IS DISTINCT FROM CAST(l.{c} AS VARCHAR)" for c in cols)
        con.execute(f"""CREATE TEMP TABLE plain_diff AS
            SELECT coalesce(g.target_key, l.target_key) AS key, g.golden_id,
                   {', '.join(f'g.{c} AS golden_{c}, l.{c} AS live_{c}' for c in cols)}
            FROM (SELECT * FROM ({rendered}) WHERE target_key IS NOT NULL OR NOT golden_deleted) g
            FULL OUTER JOIN (SELECT CAST(id AS VARCHAR) AS target_key, {', '.join(cols)} FROM {live}) l
              ON g.target_key = l.target_key
            WHERE g.target_key IS NULL OR l.target_key IS NULL OR {differs}""")
        rows = con.execute("SELECT count(*) FROM plain_diff").fetchall()[0][0]
        seconds = time.perf_counter() - started
        rss = rss_mb()
    finally:
        con.close()
    return {"plain_s": seconds, "plain_rss": rss, "differing_rows": rows}


def prepare_incremental(source: Path, path: Path, size: int) -> dict:
    """A copy of `source` reconciled once (full: the state), then about 1% changed (CHANGES)."""
    import duckdb

    from sync_platform.engines.reconcile.golden import reconcile_target

    shutil.copyfile(source, path)
    con = duckdb.connect(str(path))
    try:
        reconcile_target(con, target(), strictness="normalized", full=True)
        before = con.execute("SELECT (SELECT count(*) FROM golden.contact), "
                             "(SELECT count(*) FROM raw_shop.people)").fetchall()[0]
        for statement in CHANGES:
            con.execute(statement.format(n=int(size)))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"golden_before": before[0], "live_before": before[1]}


def run_changed(path: Path, full: bool) -> dict:
    """One reconciliation of the changed warehouse (fresh process), and a digest of its recon
    table (every column but reconciled_at) to compare the incremental with the full one."""
    import duckdb

    from sync_platform.engines.reconcile.golden import reconcile_target

    con = duckdb.connect(str(path))
    try:
        started = time.perf_counter()
        result = reconcile_target(con, target(), strictness="normalized", full=full)
        seconds = time.perf_counter() - started
        rss = rss_mb()
        digest = con.execute(
            "SELECT count(*), sum(hash(golden_id, target_key, kind, field, golden_value, "
            "target_value, owner, pushable))::VARCHAR FROM recon.contact__shop").fetchall()[0]
        summary = con.execute(
            "SELECT count(*), sum(hash(kind, field, owner, pushable, differences))::VARCHAR "
            "FROM recon.summary WHERE system = 'shop' AND target_table = 'people'").fetchall()[0]
    finally:
        con.close()
    counts = {k: getattr(result, k) for k in (
        "golden_records", "target_rows", "matched", "missing_in_target", "extra_in_target",
        "mismatched_records", "field_mismatches", "pushable", "differences")}
    return {"seconds": seconds, "rss": rss, "mode": result.mode, "reason": result.reason,
            "affected_keys": result.affected_keys,
            "affected_golden_ids": result.affected_golden_ids,
            "digest": [list(digest), list(summary)], "counts": counts}


def child(case: str, path: Path, size: int) -> dict:
    sys.path.insert(0, str(REPO))
    import sync_platform.engines.push.changeset  # noqa: F401 - imports before the clock
    import sync_platform.engines.reconcile.golden  # noqa: F401

    if case == "prepare_incremental":
        return prepare_incremental(path.with_name(f"recon_{size}.duckdb"), path, size)
    if case in ("recon_incremental", "recon_full_changed"):
        return run_changed(path, full=case == "recon_full_changed")
    return run_recon(path, size) if case == "recon" else run_plain(path, size)


def incremental_rows(out, folder: Path, size: int, repeat: int) -> list:
    """The --incremental cases at one size (see the module docstring); the mismatches."""
    base = folder / f"changed_{size}.duckdb"
    prepared = run_child("prepare_incremental", base, size)
    work = folder / f"work_{size}.duckdb"
    runs: dict[str, list[dict]] = {"recon_incremental": [], "recon_full_changed": []}
    for _ in range(repeat):
        for case in runs:
            shutil.copyfile(base, work)
            runs[case].append(run_child(case, work, size))
            work.unlink()
            work.with_name(work.name + ".wal").unlink(missing_ok=True)
    base.unlink()
    problems = []
    inc, full = runs["recon_incremental"], runs["recon_full_changed"]
    for r in inc + full:
        if (r["digest"], r["counts"]) != (full[0]["digest"], full[0]["counts"]):
            problems.append({"mode": r["mode"], "counts": r["counts"], "digest": r["digest"],
                             "full": {"counts": full[0]["counts"], "digest": full[0]["digest"]}})
    problems += [{"not incremental": r["reason"]} for r in inc if r["mode"] != "incremental"]
    best = {case: min(r["seconds"] for r in rs) for case, rs in runs.items()}
    first = full[0]
    rows = first["counts"]["golden_records"] + first["counts"]["target_rows"]
    for case, rs in runs.items():
        out.add({"case": case, "size": size, "seconds": round(best[case], 3),
                 "rows_per_s": round(rows / best[case]),
                 "peak_rss_mb": max(r["rss"] for r in rs),
                 "differences": rs[0]["counts"]["differences"], "pushable": rs[0]["counts"]["pushable"],
                 "ratio": round(best[case] / best["recon_full_changed"], 3),
                 "detail": json.dumps({"mode": rs[0]["mode"], "affected_keys": rs[0]["affected_keys"],
                                       "affected_golden_ids": rs[0]["affected_golden_ids"],
                                       "runs_s": [round(r["seconds"], 3) for r in rs],
                                       **prepared, "verified": not problems})})
    print(f"{size}: incremental = {best['recon_incremental'] / best['recon_full_changed']:.1%} "
          f"of a full reconciliation of the same changed data", flush=True)
    return problems


def run_child(case: str, path: Path, size: int) -> dict:
    args = [sys.executable, __file__, "--child", case, str(path), "--sizes", str(size)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{case} at {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000",
                        help="comma-separated golden record counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the DuckDB files, kept (default: a temp folder, removed)")
    parser.add_argument("--incremental", action="store_true",
                        help="instead of the full cases: full vs incremental reconciliation after "
                             "~1%% of the rows changed")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in str(args.sizes).replace(" ", ",").split(",") if s]
    if args.child:
        emit(child(args.child[0], Path(args.child[1]), sizes[0]))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-recon-"))
    folder.mkdir(parents=True, exist_ok=True)
    measured = ["case", "size", "seconds", "rows_per_s", "peak_rss_mb", "differences",
                "pushable", "ratio", "detail"]
    failures = []
    try:
        with ResultRows(RESULTS, measured) as out:
            for size in sizes:
                path = folder / f"recon_{size}.duckdb"
                if not path.exists():
                    t0 = time.perf_counter()
                    generate(path, size)
                    print(f"generated {path} ({path.stat().st_size / 1e9:.2f} GB) in "
                          f"{time.perf_counter() - t0:.1f}s", flush=True)
                if args.incremental:
                    failures += [(size, p) for p in incremental_rows(out, folder, size, args.repeat)]
                    continue
                recon = [run_child("recon", path, size) for _ in range(args.repeat)]
                plain = [run_child("plain_join", path, size) for _ in range(args.repeat)]
                for r in recon:
                    if r["problems"]:
                        failures.append((size, r["problems"]))
                best_plain = min(p["plain_s"] for p in plain)
                first = recon[0]
                rows = first["golden_records"] + first["target_rows"]
                counts = {k: first[k] for k in ("golden_records", "target_rows", "matched",
                                                 "missing_in_target", "extra_in_target",
                                                 "mismatched_records", "field_mismatches")}
                best_recon = min(r["recon_s"] for r in recon)
                best_cs = min(r["cs_s"] for r in recon)
                out.add({"case": "recon", "size": size, "seconds": round(best_recon, 3),
                         "rows_per_s": round(rows / best_recon),
                         "peak_rss_mb": max(r["recon_rss"] for r in recon),
                         "differences": first["differences"], "pushable": first["pushable"],
                         "ratio": round(best_recon / best_plain, 2),
                         "detail": json.dumps({**counts, "runs_s": [round(r["recon_s"], 3) for r in recon],
                                               "verified": not any(r["problems"] for r in recon)})})
                out.add({"case": "change_set", "size": size, "seconds": round(best_cs, 3),
                         "rows_per_s": round(rows / best_cs),
                         "peak_rss_mb": max(r["cs_rss"] for r in recon),
                         "differences": first["differences"], "pushable": first["pushable"],
                         "ratio": round(best_cs / best_plain, 2),
                         "detail": json.dumps({"creates": first["creates"],
                                               "updates": first["updates"],
                                               "skipped": first["skipped"],
                                               "runs_s": [round(r["cs_s"], 3) for r in recon],
                                               "rss_includes": "recon in the same process"})})
                out.add({"case": "plain_join", "size": size, "seconds": round(best_plain, 3),
                         "rows_per_s": round(rows / best_plain),
                         "peak_rss_mb": max(p["plain_rss"] for p in plain),
                         "differences": plain[0]["differing_rows"], "pushable": "",
                         "ratio": 1.0,
                         "detail": json.dumps({"runs_s": [round(p["plain_s"], 3) for p in plain],
                                               "note": "exact text: format variations count"})})
                print(f"{size}: recon = {best_recon / best_plain:.2f}x the plain join; "
                      f"recon + change set = {(best_recon + best_cs) / best_plain:.2f}x", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if failures:
        for size, problems in failures:
            print(f"MISMATCH at {size}: {json.dumps(problems, default=str)}", file=sys.stderr)
        raise SystemExit("the reconciliation did not find exactly the planted differences")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
