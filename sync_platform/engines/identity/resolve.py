"""Resolve one entity's staged records into clusters with stable golden ids.

`resolve()` reads `staged.<entity>` and writes, in the `golden` schema:
`<entity>_xref` (record -> golden id, score, evidence), `<entity>_pairs` (scored candidate pairs),
`<entity>_review` (uncertain pairs and pairs of flagged clusters), `<entity>_id_log` (merges and
splits), `<entity>_match_weights`, plus bookkeeping (`<entity>_ids`, `<entity>_shared`,
`<entity>_skipped_blocks`). Incremental runs score only pairs touching new or changed records
(and records whose shared-value or skipped-block status changed); the stored pairs of untouched
records are reused, so clusters equal those of a full rebuild with the same weights.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import duckdb

from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.identity import weights as wt
from sync_platform.engines.identity.blocking import build_keys, candidate_pairs
from sync_platform.engines.identity.clusters import cluster
from sync_platform.engines.identity.comparisons import (
    PERSON_ENTITIES,
    compare,
    comparisons_for,
)
from sync_platform.engines.identity.config import MatchConfig, ResolutionResult
from sync_platform.engines.identity.decisions import MatchDecisions, load_decisions
from sync_platform.engines.identity.ids import assign_ids
from sync_platform.engines.identity.prepare import prepare


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                       "table_schema = 'golden' AND table_name = ?", [table]).fetchall()[0][0] > 0


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
                 config: MatchConfig) -> duckdb.DuckDBPyRelation:
    """`id_scored(key_a, key_b, match_weight, probability, evidence)` from `id_gamma`, set-based:
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
        SELECT x.rec_key AS key_a, y.rec_key AS key_b, s.match_weight,
               CASE WHEN s.rule IS NOT NULL THEN 1.0 WHEN s.capped THEN {cap!r} ELSE s.p END
                   AS probability,
               CASE WHEN s.rule IS NOT NULL THEN s.rule || '; ' || s.ev
                    WHEN s.capped THEN s.ev || '; guard: name without corroboration'
                    ELSE s.ev END AS evidence
        FROM s JOIN id_recs x ON x.rid = s.a JOIN id_recs y ON y.rid = s.b
    """)
    return con.table("id_scored")


def _dirty_records(con: duckdb.DuckDBPyConnection, entity: str,
                   skipped: list[tuple[str, str, int]]) -> None:
    """`id_dirty(rid)`: new/changed records plus those whose shared or skipped status moved."""
    con.execute("CREATE OR REPLACE TEMP TABLE id_skipped (kind VARCHAR, key VARCHAR)")
    if skipped:
        con.execute("INSERT INTO id_skipped SELECT kind, key FROM id_skipped_blocks")
    # equi-joins per kind (an OR join condition would compare every record with every value)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_shared_moved AS
        (SELECT kind, value FROM id_shared EXCEPT SELECT kind, value FROM golden.{entity}_shared)
        UNION
        (SELECT kind, value FROM golden.{entity}_shared EXCEPT SELECT kind, value FROM id_shared)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_dirty AS
        SELECT r.rid FROM id_recs r LEFT JOIN golden.{entity}_xref x
            ON x.source_system = r.source_system AND x.source_table = r.source_table
           AND x.source_id = r.source_id
        WHERE x.source_id IS NULL OR x.row_hash IS DISTINCT FROM r.row_hash
        UNION
        SELECT r.rid FROM id_recs r JOIN id_shared_moved s
            ON s.kind = 'email' AND s.value = r.email
        UNION
        SELECT r.rid FROM id_recs r JOIN id_shared_moved s ON s.kind = 'phone' AND s.value = r.phone
        UNION
        SELECT r.rid FROM id_recs r JOIN id_shared_moved s ON s.kind = 'phone' AND s.value = r.phone2
        UNION
        SELECT r.rid FROM id_recs r JOIN id_shared_moved s
            ON s.kind = 'addr' AND s.value = r.addr || '|' || coalesce(r.postal, '')
        UNION
        SELECT k.rid FROM id_allkeys k JOIN (
            (SELECT kind, key FROM id_skipped
             EXCEPT SELECT kind, key FROM golden.{entity}_skipped_blocks)
            UNION
            (SELECT kind, key FROM golden.{entity}_skipped_blocks
             EXCEPT SELECT kind, key FROM id_skipped)
        ) s USING (kind, key)
    """)


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
        SELECT x.rid AS a, y.rid AS b, d.* FROM id_decisions d
        JOIN id_recs x ON x.rec_key = d.key_a JOIN id_recs y ON y.rec_key = d.key_b""")
    live = con.execute("SELECT key_a, key_b, is_match FROM id_decided ORDER BY key_a, key_b"
                       ).fetchall()
    return hashlib.sha1(repr(live).encode()).hexdigest()[:16] if live else ""


def _apply_decisions(con: duckdb.DuckDBPyConnection) -> None:
    """`id_pairs_rid` from `id_pairs` with review decisions applied: a merge is a certain link
    (added when the pair was not a candidate), a split / not-a-match a certain non-link; the
    cannot-links go to `id_cannot(a, b)` for the clustering step."""
    con.execute("""CREATE OR REPLACE TEMP TABLE id_pairs_rid AS
        SELECT x.rid AS a, y.rid AS b, p.key_a, p.key_b, p.match_weight,
               CASE WHEN d.is_match THEN 1.0 WHEN NOT d.is_match THEN 0.0
                    ELSE p.probability END AS probability,
               CASE WHEN d.decision IS NULL THEN p.evidence
                    ELSE 'review: ' || d.decision || '; ' || coalesce(p.evidence, '') END
               AS evidence
        FROM id_pairs p JOIN id_recs x ON x.rec_key = p.key_a JOIN id_recs y ON y.rec_key = p.key_b
        LEFT JOIN id_decided d ON d.a = least(x.rid, y.rid) AND d.b = greatest(x.rid, y.rid)
        UNION ALL
        SELECT d.a, d.b, d.key_a, d.key_b, NULL, 1.0, 'review: ' || d.decision
        FROM id_decided d WHERE d.is_match AND NOT EXISTS (
            SELECT 1 FROM id_pairs p WHERE p.key_a = d.key_a AND p.key_b = d.key_b)""")
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
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS golden")
        n_records = prepare(con, name, config.shared_min_names)
        fingerprint = _decided_pairs(con, decisions)
        skipped = build_keys(con, config.max_block_size)
        state = all(_exists(con, f"{name}_{t}") for t in
                    ("xref", "pairs", "shared", "skipped_blocks", "ids", "match_weights"))
        stored = wt.load(con, name) if state else None
        # new review decisions retrain the weights, which rescores every pair: a full run
        retrain = bool(config.retrain) or stored is None or (
            config.retrain is None and stored[2] != fingerprint)
        incremental = state and not full_rebuild and not retrain
        if incremental:
            _dirty_records(con, name, skipped)
            candidate_pairs(con, "id_dirty")
            changed = con.execute("SELECT count(*) FROM id_dirty").fetchall()[0][0]
        else:
            candidate_pairs(con)
            changed = n_records
        compare(con, name, "id_cand", "id_gamma")
        if retrain:
            weights, lam = wt.estimate(con, name, n_records, "id_gamma", config.u_sample_pairs,
                                       config.em_iterations, config.seed,
                                       labelled=_label_table(con, name))
            wt.save(con, name, weights, lam, fingerprint)
        else:
            weights, lam, _ = stored
        scored = _score_pairs(con, name, weights, lam, config)
        con.register("id_scored_df", scored)
        con.execute("CREATE OR REPLACE TEMP TABLE id_new_pairs AS SELECT * FROM id_scored_df")
        con.unregister("id_scored_df")
        if incremental:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE id_pairs AS
                SELECT p.key_a, p.key_b, p.match_weight, p.probability, p.evidence
                FROM golden.{name}_pairs p
                JOIN id_recs x ON x.rec_key = p.key_a JOIN id_recs y ON y.rec_key = p.key_b
                WHERE x.rid NOT IN (SELECT rid FROM id_dirty)
                  AND y.rid NOT IN (SELECT rid FROM id_dirty)
                UNION ALL SELECT * FROM id_new_pairs
            """)
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE id_pairs AS SELECT * FROM id_new_pairs")
        n_pairs = con.execute("SELECT count(*) FROM id_pairs").fetchall()[0][0]
        _apply_decisions(con)
        flagged = cluster(con, "id_pairs_rid", config, cannot_links="id_cannot")
        result = _write_outputs(con, name, config, now, flagged)
        # the stored pairs keep their scores; decisions are re-applied on every run
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_pairs AS SELECT * FROM id_pairs")
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_shared AS SELECT * FROM id_shared")
        con.execute(f"CREATE OR REPLACE TABLE golden.{name}_skipped_blocks "
                    "(kind VARCHAR, key VARCHAR, n BIGINT)")
        if skipped:
            con.execute(f"INSERT INTO golden.{name}_skipped_blocks "
                        "SELECT kind, key, n FROM id_skipped_blocks ORDER BY n DESC, kind, key")
    finally:
        con.close()
    return ResolutionResult(
        entity=name, mode="incremental" if incremental else "full", records=n_records,
        changed_records=int(changed), candidate_pairs=int(n_pairs),
        accepted_pairs=result["accepted"], review_pairs=result["review"],
        clusters=result["clusters"], new_golden_ids=result["new_ids"], merges=result["merges"],
        splits=result["splits"], skipped_blocks=skipped, flagged_clusters=result["flagged"],
        trained=retrain, seconds=time.perf_counter() - started)


def _write_outputs(con: duckdb.DuckDBPyConnection, name: str, config: MatchConfig,
                   now: datetime, flagged: list[int]) -> dict:
    previous = created = None
    if _exists(con, f"{name}_xref"):
        previous = (f"SELECT source_system || '|' || source_table || '|' || source_id AS rec_key, "
                    f"golden_id AS gid FROM golden.{name}_xref")
    if _exists(con, f"{name}_ids"):
        created = f"SELECT golden_id, created_at FROM golden.{name}_ids"
    ids = assign_ids(con, name, previous, created)
    con.execute("""CREATE OR REPLACE TEMP TABLE id_ids_next AS
        SELECT golden_id, created_at FROM id_created
        UNION ALL SELECT golden_id, CAST(? AS TIMESTAMP) FROM id_gid_new""", [now])
    con.execute(f"CREATE OR REPLACE TABLE golden.{name}_ids AS "
                "SELECT * FROM id_ids_next")
    con.execute(f"""CREATE TABLE IF NOT EXISTS golden.{name}_id_log
        (old_id VARCHAR, new_id VARCHAR, kind VARCHAR, "at" TIMESTAMP)""")
    con.execute(f"""INSERT INTO golden.{name}_id_log SELECT old_id, new_id, kind, CAST(? AS TIMESTAMP)
                    FROM id_log_new ORDER BY old_id, new_id, kind""", [now])
    con.execute("CREATE OR REPLACE TEMP TABLE id_flag AS SELECT unnest(?::BIGINT[]) AS cid",
                [flagged])
    # each record's best accepted link inside its cluster gives its score and evidence; records
    # of a flagged cluster are held (not pushed) until a reviewer accepts or splits it
    con.execute(f"""
        CREATE OR REPLACE TABLE golden.{name}_xref AS
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
        LEFT JOIN best b USING (rid)
    """, [now])
    con.execute(f"""
        CREATE OR REPLACE TABLE golden.{name}_review AS
        SELECT p.key_a, p.key_b, p.probability AS score, p.evidence,
               CASE WHEN fa.cid IS NOT NULL THEN 'cluster flagged: too large or loose'
                    ELSE 'uncertain score' END AS reason,
               CAST(? AS TIMESTAMP) AS queued_at
        FROM id_pairs_rid p JOIN id_assign xa ON xa.rid = p.a JOIN id_assign xb ON xb.rid = p.b
        LEFT JOIN id_flag fa ON fa.cid = xa.cid
        WHERE ((p.probability >= ? AND p.probability < ?)
               OR (fa.cid IS NOT NULL AND xa.cid = xb.cid))
          AND NOT starts_with(coalesce(p.evidence, ''), 'review: ')  -- decided already
        ORDER BY p.probability DESC, p.key_a, p.key_b
    """, [now, config.review_threshold, config.accept_threshold])
    counts = con.execute(f"""SELECT (SELECT count(*) FROM id_edges),
        (SELECT count(*) FROM golden.{name}_review), (SELECT count(*) FROM id_gid)""").fetchall()[0]
    return {"accepted": int(counts[0]), "review": int(counts[1]), "clusters": int(counts[2]),
            "new_ids": ids.new_ids, "merges": ids.merges, "splits": ids.splits,
            "flagged": [g for (g,) in con.execute(
                "SELECT DISTINCT golden_id FROM id_gid WHERE cid IN (SELECT unnest(?::BIGINT[])) "
                "ORDER BY golden_id", [flagged]).fetchall()]}
