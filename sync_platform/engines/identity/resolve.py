"""Resolve one entity's staged records into clusters with stable golden ids.

`resolve()` reads `staged.<entity>` and writes, in the `golden` schema:
`<entity>_xref` (record -> golden id, score, evidence, review status), `<entity>_pairs` (scored
candidate pairs), `<entity>_review` (uncertain pairs and pairs of held clusters), `<entity>_id_log`
(merges and splits), `<entity>_match_weights`, plus the state incremental runs start from
(`<entity>_recs` prepared records with their shared-value flags, `<entity>_keys` blocking keys,
`<entity>_ids`, `<entity>_shared`, `<entity>_skipped_blocks`).

Incremental runs are proportional to the change: only new and changed staged rows are normalised;
the stored records are read in place (not copied), and only those holding a value whose shared
status moved are flagged again; only their blocking keys are rebuilt and only the blocks they
touch recounted; only pairs touching dirty records (changed, or whose shared-value or
skipped-block status moved) are scored; and only the affected part of the graph (whole
components around them) is re-clustered, with xref and review rows replaced for those records
alone. The result equals a full rebuild with the same weights (tested). A full rebuild runs on
demand, on the first run, when review decisions change (they retrain the weights) and once for
a state stored without the records' flags or the pairs' rids.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import duckdb

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.identity import weights as wt
from sync_platform.engines.identity.blocking import (
    build_keys,
    build_keys_incremental,
    candidate_pairs,
)
from sync_platform.engines.identity.clusters import cluster
from sync_platform.engines.identity.comparisons import (
    PERSON_ENTITIES,
    compare,
    comparisons_for,
)
from sync_platform.engines.identity.config import MatchConfig, ResolutionResult
from sync_platform.engines.identity.decisions import MatchDecisions, load_decisions
from sync_platform.engines.identity.ids import assign_ids
from sync_platform.engines.identity.prepare import FLAGS, prepare, shared_label
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import columns_of, compact_when_needed, connect, table_exists

# the stored state an incremental run starts from (a missing one: a full run)
STATE_TABLES = ("xref", "pairs", "shared", "skipped_blocks", "ids", "match_weights", "recs", "keys")
# the stored tables an incremental run deletes from and appends to
INCREMENTAL_TABLES = ("xref", "review", "pairs", "keys", "recs", "ids", "id_log")


def _guard_namesakes(entity: str) -> str:
    """SQL condition over a comparison-level row: persons agreeing on name (and company) only,
    while email or phone disagree, may not merge (they are capped into the review band)."""
    if entity not in PERSON_ENTITIES:
        return "FALSE"
    names = {c.name for c in comparisons_for(entity)}

    def col(name: str) -> str:
        return f"coalesce({name}, -1)" if name in names else "-1"

    corroborated = (f"{col('email')} >= 2 OR {col('phone')} >= 1 OR {col('employee_number')} >= 1"
                    f" OR {col('hire_date')} >= 2 OR {col('birth_date')} >= 3")
    conflict = f"{col('email')} = 0 OR {col('phone')} = 0 OR {col('employee_number')} = 0"
    return f"(NOT ({corroborated}) AND ({conflict}) AND rule IS NULL)"


def _score_pairs(con: duckdb.DuckDBPyConnection, entity: str, weights: wt.Weights, lam: float,
                 config: MatchConfig) -> None:
    """`id_scored(a, b, key_a, key_b, match_weight, probability, evidence)` from `id_gamma`,
    set-based (a < b: the records' rids, stored with the pairs for the next incremental run):
    a deterministic rule makes a pair certain, the namesake guard caps it into the review band."""
    exprs = wt.score_sql(entity, weights, lam)
    cap = (config.review_threshold + config.accept_threshold) / 2
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_scored AS
        WITH s AS (
            SELECT a, b, rule, {exprs['match_weight']} AS match_weight,
                   {exprs['probability']} AS p, {exprs['evidence']} AS ev,
                   {_guard_namesakes(entity)} AND {exprs['probability']} > {cap!r} AS capped
            FROM id_gamma)
        SELECT s.a, s.b, x.rec_key AS key_a, y.rec_key AS key_b, s.match_weight,
               CASE WHEN s.rule IS NOT NULL THEN 1.0 WHEN s.capped THEN {cap!r} ELSE s.p END
                   AS probability,
               CASE WHEN s.rule IS NOT NULL THEN s.rule || '; ' || s.ev
                    WHEN s.capped THEN s.ev || '; guard: name without corroboration'
                    ELSE s.ev END AS evidence
        FROM s JOIN id_recs x ON x.rid = s.a JOIN id_recs y ON y.rid = s.b
    """)


def _affected_subgraph(con: duckdb.DuckDBPyConnection, name: str, config: MatchConfig) -> int:
    """Incremental runs re-cluster only what a change can reach. `id_affected(rid)`: the dirty
    records, the records of every golden record they (or removed records) belonged to, and
    everything linked to those by an accepted pair, repeated until closed, so it is a union of
    whole components and clustering it gives what a full rebuild gives. Creates `id_pairs`
    (the pairs among affected records), `id_stale(rec_key)` (dirty and removed records, whose
    stored pairs are replaced) and `id_removed_xref`; returns the number of pairs overall.
    Needs `id_prev_gid` (`_written_back_pairs`)."""
    xref = f"golden.{name}_xref"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_removed_xref AS
        SELECT x.source_system, x.source_table, x.source_id, x.golden_id,
               x.source_system || '|' || x.source_table || '|' || x.source_id AS rec_key
        FROM {xref} x ANTI JOIN id_recs r
            ON x.source_system = r.source_system AND x.source_table = r.source_table
           AND x.source_id = r.source_id""")
    con.execute("""CREATE OR REPLACE TEMP TABLE id_stale AS
        SELECT rec_key FROM id_recs WHERE rid IN (SELECT rid FROM id_dirty)
        UNION ALL SELECT rec_key FROM id_removed_xref""")
    # the stored pairs keep their records' rids (a kept or changed record keeps its rid)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_cur_pairs AS
        SELECT a, b, key_a, key_b, match_weight, probability, evidence FROM golden.{name}_pairs
        WHERE a NOT IN (SELECT rid FROM id_dirty) AND b NOT IN (SELECT rid FROM id_dirty)
          AND a NOT IN (SELECT rid FROM id_gone) AND b NOT IN (SELECT rid FROM id_gone)
        UNION ALL BY NAME SELECT * FROM id_new_pairs""")
    con.execute("""CREATE OR REPLACE TEMP TABLE id_links AS
        SELECT a, b FROM id_cur_pairs WHERE probability >= ?
        UNION ALL SELECT a, b FROM id_decided WHERE is_match""", [config.accept_threshold])
    con.execute("""CREATE OR REPLACE TEMP TABLE id_affected AS
        SELECT rid FROM id_dirty
        UNION SELECT o.rid FROM id_prev_gid o WHERE o.gid IN (SELECT golden_id FROM id_removed_xref)
        UNION SELECT a FROM id_links WHERE a IN (SELECT rid FROM id_dirty)
           OR b IN (SELECT rid FROM id_dirty)
        UNION SELECT b FROM id_links WHERE a IN (SELECT rid FROM id_dirty)
           OR b IN (SELECT rid FROM id_dirty)""")
    size = con.execute("SELECT count(*) FROM id_affected").fetchall()[0][0]
    while True:
        con.execute("""CREATE OR REPLACE TEMP TABLE id_affected AS
            SELECT rid FROM id_affected
            UNION SELECT o.rid FROM id_prev_gid o WHERE o.gid IN (
                SELECT gid FROM id_prev_gid WHERE rid IN (SELECT rid FROM id_affected))
            UNION SELECT b FROM id_links WHERE a IN (SELECT rid FROM id_affected)
            UNION SELECT a FROM id_links WHERE b IN (SELECT rid FROM id_affected)""")
        grown = con.execute("SELECT count(*) FROM id_affected").fetchall()[0][0]
        if grown == size:
            break
        size = grown
    con.execute("""CREATE OR REPLACE TEMP TABLE id_pairs AS
        SELECT a, b, key_a, key_b, match_weight, probability, evidence FROM id_cur_pairs
        WHERE a IN (SELECT rid FROM id_affected) AND b IN (SELECT rid FROM id_affected)""")
    return con.execute("SELECT count(*) FROM id_cur_pairs").fetchall()[0][0]


def _decided_pairs(con: duckdb.DuckDBPyConnection, decisions: MatchDecisions) -> str:
    """`id_decided(a, b, key_a, key_b, is_match, decision)` for decisions between live records;
    return a fingerprint of them (weights trained with other decisions are retrained)."""
    rows = [(a, b, link, f"{action.replace('_', ' ')} {did}")
            for (a, b), (link, did, action) in sorted(decisions.constraints().items())]
    con.execute("CREATE OR REPLACE TEMP TABLE id_decisions (key_a VARCHAR, key_b VARCHAR, "
                "is_match BOOLEAN, decision VARCHAR)")
    if rows:
        con.executemany("INSERT INTO id_decisions VALUES (?, ?, ?, ?)", rows)
    con.execute("""CREATE OR REPLACE TEMP TABLE id_decided AS
        SELECT least(x.rid, y.rid) AS a, greatest(x.rid, y.rid) AS b, d.* FROM id_decisions d
        JOIN id_recs x ON x.rec_key = d.key_a JOIN id_recs y ON y.rec_key = d.key_b""")
    live = con.execute("SELECT key_a, key_b, is_match FROM id_decided ORDER BY key_a, key_b"
                       ).fetchall()
    return hashlib.sha1(repr(live).encode()).hexdigest()[:16] if live else ""


def _apply_decisions(con: duckdb.DuckDBPyConnection) -> None:
    """`id_pairs_rid` from `id_pairs` with review decisions applied: a merge is a certain link
    (added when the pair was not a candidate), a split / not-a-match a certain non-link; the
    cannot-links go to `id_cannot(a, b)` for the clustering step."""
    con.execute("""CREATE OR REPLACE TEMP TABLE id_pairs_rid AS
        SELECT p.a, p.b, p.key_a, p.key_b, p.match_weight,
               CASE WHEN d.is_match THEN 1.0 WHEN NOT d.is_match THEN 0.0
                    ELSE p.probability END AS probability,
               CASE WHEN d.decision IS NULL THEN p.evidence
                    ELSE 'review: ' || d.decision || '; ' || coalesce(p.evidence, '') END
               AS evidence
        FROM id_pairs p LEFT JOIN id_decided d ON d.a = p.a AND d.b = p.b
        UNION ALL
        SELECT d.a, d.b, d.key_a, d.key_b, NULL, 1.0, 'review: ' || d.decision
        FROM id_decided d WHERE d.is_match
          AND d.a IN (SELECT rid FROM id_affected) AND d.b IN (SELECT rid FROM id_affected)
          AND NOT EXISTS (
            SELECT 1 FROM id_pairs p WHERE (p.key_a = d.key_a AND p.key_b = d.key_b)
                                        OR (p.key_a = d.key_b AND p.key_b = d.key_a))""")
    con.execute("CREATE OR REPLACE TEMP TABLE id_cannot AS "
                "SELECT a, b FROM id_decided WHERE NOT is_match")


def _label_table(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """Comparison levels of the decided pairs, with their known match status, for training."""
    if not con.execute("SELECT count(*) FROM id_decided").fetchall()[0][0]:
        return None
    con.execute("CREATE OR REPLACE TEMP TABLE id_label_pairs AS SELECT least(a, b) AS a, "
                "greatest(a, b) AS b, is_match FROM id_decided")
    compare(con, name, "id_label_pairs", "id_label_gamma")
    con.execute("""CREATE OR REPLACE TEMP TABLE id_labelled AS
        SELECT g.*, p.is_match FROM id_label_gamma g JOIN id_label_pairs p USING (a, b)""")
    return "id_labelled"


def _written_back_pairs(con: duckdb.DuckDBPyConnection, name: str, dirty: str | None) -> int:
    """`id_prev_gid(rid, gid)`: each record's golden id of the last run. Add to `id_cand` the
    pairs of a record holding a written-back golden id and the records that id stood for, which
    share no blocking key when the target copy carries little (a contact with no email or
    phone); with `dirty`, only pairs touching a changed record. Returns the pairs added."""
    xref = f"golden.{name}_xref"
    if table_exists(con, "golden", f"{name}_xref"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE id_prev_gid AS
            SELECT r.rid, CAST(x.golden_id AS VARCHAR) AS gid FROM id_recs r JOIN {xref} x
            USING (source_system, source_table, source_id)""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE id_prev_gid (rid BIGINT, gid VARCHAR)")
    restrict = (f"AND (r.rid IN (SELECT rid FROM {dirty}) OR g.rid IN (SELECT rid FROM {dirty}))"
                if dirty else "")
    before = con.execute("SELECT count(*) FROM id_cand").fetchall()[0][0]
    con.execute(f"""INSERT INTO id_cand
        SELECT DISTINCT least(r.rid, g.rid), greatest(r.rid, g.rid), ['platform_id']
        FROM id_recs r JOIN id_prev_gid g ON g.gid = r.pref AND g.rid <> r.rid
        WHERE r.pref IS NOT NULL {restrict}
        AND (least(r.rid, g.rid), greatest(r.rid, g.rid)) NOT IN (SELECT (a, b) FROM id_cand)""")
    return con.execute("SELECT count(*) FROM id_cand").fetchall()[0][0] - before


def resolve(warehouse: Path, entity: CanonicalEntity, *, full_rebuild: bool = False,
            config: MatchConfig | None = None,
            mappings_dir: Path | str | None = None) -> ResolutionResult:
    """Match, cluster and assign stable golden ids for `staged.<entity>`; see the module doc.
    Review decisions come from `<mappings_dir>/matches/<entity>.yaml` (default: the configured
    mappings folder)."""
    config = config or MatchConfig()
    name = entity.entity
    decisions = load_decisions(name, mappings_dir)
    started = time.perf_counter()
    now = datetime.now()
    with connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        stored_columns = columns_of(con, [("golden", f"{name}_{t}") for t in STATE_TABLES])
        state = all(stored_columns.values()) \
            and set(FLAGS) <= set(stored_columns[("golden", f"{name}_recs")]) \
            and {"a", "b"} <= set(stored_columns[("golden", f"{name}_pairs")])
        stored = wt.load(con, name) if state else None
        may_increment = stored is not None and not full_rebuild and not config.retrain
        n_records = prepare(con, name, config.shared_min_names,
                            f"golden.{name}_recs" if may_increment else None)
        fingerprint = _decided_pairs(con, decisions)
        # new review decisions retrain the weights, which rescores every pair: a full run
        retrain = bool(config.retrain) or stored is None or (
            config.retrain is None and stored[2] != fingerprint)
        incremental = may_increment and not retrain
        if may_increment and retrain:  # training samples record pairs over rids 1..n
            n_records = prepare(con, name, config.shared_min_names)
            fingerprint = _decided_pairs(con, decisions)
        skipped = (build_keys_incremental(con, config.max_block_size, name) if incremental
                   else build_keys(con, config.max_block_size))
        if incremental:
            candidate_pairs(con, "id_dirty")
            changed = con.execute("SELECT count(*) FROM id_dirty").fetchall()[0][0]
        else:
            candidate_pairs(con)
            changed = n_records
        _written_back_pairs(con, name, "id_dirty" if incremental else None)
        compare(con, name, "id_cand", "id_gamma")
        if retrain:
            weights, lam = wt.estimate(con, name, n_records, "id_gamma", config.u_sample_pairs,
                                       config.em_iterations, config.seed,
                                       labelled=_label_table(con, name))
            wt.save(con, name, weights, lam, fingerprint)
        else:
            weights, lam, _ = stored
        _score_pairs(con, name, weights, lam, config)
        con.execute("CREATE OR REPLACE TEMP TABLE id_new_pairs AS SELECT * FROM id_scored")
        if incremental:
            n_pairs = _affected_subgraph(con, name, config)
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE id_pairs AS SELECT * FROM id_new_pairs")
            con.execute("CREATE OR REPLACE TEMP TABLE id_affected AS SELECT rid FROM id_recs")
            n_pairs = con.execute("SELECT count(*) FROM id_pairs").fetchall()[0][0]
        _apply_decisions(con)
        flagged = cluster(con, "id_pairs_rid", config, cannot_links="id_cannot",
                          nodes="id_affected")
        # every stored table moves together (the next incremental run starts from all of
        # them: a half-written state would make it miss changes); closing without COMMIT
        # rolls back
        con.execute("BEGIN TRANSACTION")
        result = _write_outputs(con, name, config, now, flagged, incremental)
        # the stored pairs keep their scores; decisions are re-applied on every run
        if incremental:
            con.execute(f"""DELETE FROM golden.{name}_pairs
                WHERE key_a IN (SELECT rec_key FROM id_stale) OR key_b IN (SELECT rec_key FROM id_stale)""")
            con.execute(f"INSERT INTO golden.{name}_pairs BY NAME SELECT * FROM id_new_pairs")
        else:
            con.execute(f"CREATE OR REPLACE TABLE golden.{name}_pairs AS SELECT * FROM id_pairs")
        if incremental:
            con.execute(f"""DELETE FROM golden.{name}_keys WHERE rid IN (SELECT rid FROM id_kdirty)
                OR rid IN (SELECT rid FROM id_gone)""")
            con.execute(f"INSERT INTO golden.{name}_keys SELECT * FROM id_newkeys")
            con.execute(f"""DELETE FROM golden.{name}_recs
                WHERE rec_key IN (SELECT rec_key FROM id_fresh)
                   OR rec_key NOT IN (SELECT rec_key FROM id_stage)""")
            con.execute(f"INSERT INTO golden.{name}_recs BY NAME SELECT * FROM id_fresh")
        else:
            con.execute(f"CREATE OR REPLACE TABLE golden.{name}_recs AS SELECT * FROM id_recs")
            con.execute(f"CREATE OR REPLACE TABLE golden.{name}_keys AS SELECT * FROM id_allkeys")
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_shared AS SELECT * FROM id_shared")
        con.execute(f"COMMENT ON TABLE golden.{name}_shared IS {literal(shared_label(config.shared_min_names))}")
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_skipped_blocks "
                    "(kind VARCHAR, key VARCHAR, n BIGINT)")
        if skipped:
            con.execute(f"INSERT INTO golden.{name}_skipped_blocks "
                        "SELECT kind, key, n FROM id_skipped_blocks ORDER BY n DESC, kind, key")
        con.execute("COMMIT")
        if incremental:
            compact_when_needed(con, [f"golden.{name}_{t}" for t in INCREMENTAL_TABLES])
    return ResolutionResult(
        entity=name, mode="incremental" if incremental else "full", records=n_records,
        changed_records=int(changed), candidate_pairs=int(n_pairs),
        accepted_pairs=result["accepted"], review_pairs=result["review"],
        clusters=result["clusters"], new_golden_ids=result["new_ids"], merges=result["merges"],
        splits=result["splits"], skipped_blocks=skipped, flagged_clusters=result["flagged"],
        trained=retrain, seconds=time.perf_counter() - started)


def _write_outputs(con: duckdb.DuckDBPyConnection, name: str, config: MatchConfig,
                   now: datetime, flagged: list[int], incremental: bool = False) -> dict:
    """Golden ids for the clusters of `id_assign`, then xref, review, ids and the id log. An
    incremental run replaces only the rows of affected (`id_affected`) and removed records."""
    previous = created = None
    if table_exists(con, "golden", f"{name}_xref"):
        previous = (f"SELECT source_system || '|' || source_table || '|' || source_id AS rec_key, "
                    f"golden_id AS gid FROM golden.{name}_xref")
        if incremental:
            previous = ("SELECT r.rec_key, o.gid FROM id_prev_gid o "
                        "JOIN id_recs r USING (rid) WHERE o.rid IN (SELECT rid FROM id_affected)")
    if table_exists(con, "golden", f"{name}_ids"):
        created = f"SELECT golden_id, created_at FROM golden.{name}_ids"
    ids = assign_ids(con, name, previous, created)
    if incremental:
        con.execute(f"INSERT INTO golden.{name}_ids SELECT golden_id, CAST(? AS TIMESTAMP) "
                    "FROM id_gid_new", [now])
    else:
        con.execute("""CREATE OR REPLACE TEMP TABLE id_ids_next AS
            SELECT golden_id, created_at FROM id_created
            UNION ALL SELECT golden_id, CAST(? AS TIMESTAMP) FROM id_gid_new""", [now])
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_ids AS SELECT * FROM id_ids_next")
    con.execute(f"""CREATE TABLE IF NOT EXISTS golden.{name}_id_log
        (old_id VARCHAR, new_id VARCHAR, kind VARCHAR, "at" TIMESTAMP)""")
    con.execute(f"""INSERT INTO golden.{name}_id_log SELECT old_id, new_id, kind, CAST(? AS TIMESTAMP)
                    FROM id_log_new ORDER BY old_id, new_id, kind""", [now])
    con.execute("CREATE OR REPLACE TEMP TABLE id_flag AS SELECT unnest(?::BIGINT[]) AS cid",
                [flagged])
    # each record's best accepted link inside its cluster gives its score and evidence; records
    # of a flagged cluster are held (not pushed) until a reviewer accepts or splits it
    xref_rows = """
        WITH links AS (
            SELECT e.a AS rid, p.probability, p.evidence FROM id_edges e
                JOIN id_pairs_rid p ON p.a = e.a AND p.b = e.b
            UNION ALL
            SELECT e.b, p.probability, p.evidence FROM id_edges e
                JOIN id_pairs_rid p ON p.a = e.a AND p.b = e.b),
        best AS (SELECT rid, arg_max(probability, probability) AS score,
                        arg_max(evidence, probability) AS evidence FROM links GROUP BY rid)
        SELECT r.source_system, r.source_table, r.source_id, g.golden_id,
               coalesce(b.score, 1.0) AS match_score,
               coalesce(b.evidence, 'singleton') AS evidence,
               CAST(? AS TIMESTAMP) AS resolved_at, r.row_hash,
               CASE WHEN a.cid IN (SELECT cid FROM id_flag) THEN 'held' ELSE 'accepted' END
                   AS review_status
        FROM id_recs r JOIN id_assign a USING (rid) JOIN id_gid g USING (cid)
        LEFT JOIN best b USING (rid)"""
    review_rows = """
        SELECT p.key_a, p.key_b, p.probability AS score, p.evidence,
               CASE WHEN fa.cid IS NOT NULL THEN 'cluster flagged: too large or loose'
                    ELSE 'uncertain score' END AS reason,
               CAST(? AS TIMESTAMP) AS queued_at
        FROM id_pairs_rid p JOIN id_assign xa ON xa.rid = p.a JOIN id_assign xb ON xb.rid = p.b
        LEFT JOIN id_flag fa ON fa.cid = xa.cid
        WHERE ((p.probability >= ? AND p.probability < ?)
               OR (fa.cid IS NOT NULL AND xa.cid = xb.cid))
          AND NOT starts_with(coalesce(p.evidence, ''), 'review: ')  -- decided already
        ORDER BY p.probability DESC, p.key_a, p.key_b"""
    review_args = [now, config.review_threshold, config.accept_threshold]
    if incremental:
        con.execute("""CREATE OR REPLACE TEMP TABLE id_replaced AS
            SELECT source_system, source_table, source_id, rec_key FROM id_recs
            WHERE rid IN (SELECT rid FROM id_affected)
            UNION ALL SELECT source_system, source_table, source_id, rec_key FROM id_removed_xref""")
        con.execute(f"""DELETE FROM golden.{name}_xref WHERE (source_system, source_table,
            source_id) IN (SELECT (source_system, source_table, source_id) FROM id_replaced)""")
        con.execute(f"INSERT INTO golden.{name}_xref {xref_rows}", [now])
        con.execute(f"""DELETE FROM golden.{name}_review
            WHERE key_a IN (SELECT rec_key FROM id_replaced)
               OR key_b IN (SELECT rec_key FROM id_replaced)""")
        con.execute(f"INSERT INTO golden.{name}_review {review_rows}", review_args)
    else:
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_xref AS {xref_rows}", [now])
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_review AS {review_rows}", review_args)
    counts = con.execute(f"""SELECT (SELECT count(*) FROM id_edges),
        (SELECT count(*) FROM golden.{name}_review),
        (SELECT count(DISTINCT golden_id) FROM golden.{name}_xref)""").fetchall()[0]
    return {"accepted": int(counts[0]), "review": int(counts[1]), "clusters": int(counts[2]),
            "new_ids": ids.new_ids, "merges": ids.merges, "splits": ids.splits,
            "flagged": [g for (g,) in con.execute(
                f"SELECT DISTINCT golden_id FROM golden.{name}_xref WHERE review_status = 'held' "
                "ORDER BY golden_id").fetchall()]}
