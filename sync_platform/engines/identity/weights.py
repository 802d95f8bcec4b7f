"""Fellegi–Sunter weights learned from the data itself, without labels.

u (the chance of a level among non-matches) starts from random record pairs; EM over the candidate
pairs then estimates m, u and the prior match rate among candidates together (non-matching
candidates agree on names far more often than random pairs do, so u must reflect that). Weights
persist in `golden.<entity>_match_weights` so incremental runs score with the same model.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from sync_platform.engines.identity.comparisons import Comparison, compare, comparisons_for

Weights = dict[str, list[tuple[float, float]]]  # comparison -> [(m, u) per level]


def sample_random_pairs(con: duckdb.DuckDBPyConnection, n_records: int, n_pairs: int,
                        seed: float) -> None:
    """`id_rand(a, b)`: pseudo-random distinct record pairs (for u probabilities). Drawn from a
    hash of the row number and the seed, so the same data gives the same sample and weights
    (DuckDB's random() depends on thread scheduling)."""
    salt = int(seed * 1_000_003)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE id_rand AS
        SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b FROM (
            SELECT 1 + CAST(hash(i, {salt}) % {int(n_records)} AS BIGINT) AS a,
                   1 + CAST(hash(i, {salt + 1}) % {int(n_records)} AS BIGINT) AS b
            FROM range({int(n_pairs)}) t(i)) WHERE a <> b
    """)


def _levels(df: pd.DataFrame, comps: tuple[Comparison, ...]) -> np.ndarray:
    return np.stack([df[c.name].to_numpy(dtype="int64", na_value=-1) for c in comps], axis=1)


def _monotone(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Make m/u non-decreasing with the level (stronger agreement is never weaker evidence),
    which keeps EM from swapping the meaning of a comparison's levels."""
    ratio = m / u
    for level in range(len(ratio) - 2, -1, -1):
        ratio[level] = min(ratio[level], ratio[level + 1])
    fixed = ratio * u
    return fixed / fixed.sum()


def estimate(con: duckdb.DuckDBPyConnection, entity: str, n_records: int, gamma: str,
             u_pairs: int, iterations: int, seed: float,
             labelled: str | None = None) -> tuple[Weights, float]:
    """Estimate u from random pairs and m + prior by EM over the `gamma` table's pairs.

    `labelled` names a comparison table with a boolean `is_match` column (review decisions):
    those pairs keep their known match status in every EM step instead of an estimated one, so
    reviewers' merges and not-a-matches teach the weights.
    """
    comps = comparisons_for(entity)
    sample_random_pairs(con, n_records, u_pairs, seed)
    compare(con, entity, "id_rand", "id_rand_gamma")
    rand = _levels(con.execute("SELECT * FROM id_rand_gamma").df(), comps)
    cand = _levels(con.execute(f"SELECT * FROM {gamma}").df(), comps)
    known = np.zeros(0)
    if labelled:
        labels = con.execute(f"SELECT * FROM {labelled}").df()
        known = labels["is_match"].to_numpy(dtype=float)
        cand = np.concatenate([cand, _levels(labels, comps)]) if len(labels) else cand
    n_free = len(cand) - len(known)
    u_probs: list[np.ndarray] = []
    m_probs: list[np.ndarray] = []
    for j, comp in enumerate(comps):
        n_levels = len(comp.labels)
        counts = np.array([(rand[:, j] == lv).sum() for lv in range(n_levels)], dtype=float)
        u_probs.append((counts + 0.5) / (counts.sum() + 0.5 * n_levels))
        init = 2.0 ** np.arange(n_levels) * 2.0
        m_probs.append(init / init.sum())
    lam = 0.1
    if len(cand):
        for _ in range(iterations):
            log_m = np.zeros(len(cand))
            log_u = np.zeros(len(cand))
            for j in range(len(comps)):
                lv = cand[:, j]
                ok = lv >= 0
                idx = np.where(ok, lv, 0)
                log_m += np.where(ok, np.log(m_probs[j][idx]), 0.0)
                log_u += np.where(ok, np.log(u_probs[j][idx]), 0.0)
            logit = math.log(lam / (1 - lam)) + log_m - log_u
            post = 1.0 / (1.0 + np.exp(-np.clip(logit, -60, 60)))
            post[n_free:] = known
            lam = float(np.clip(post[:n_free].mean() if n_free else post.mean(), 1e-4, 1 - 1e-4))
            for j, comp in enumerate(comps):
                lv = cand[:, j]
                ok = lv >= 0
                mass = np.bincount(lv[ok], weights=post[ok], minlength=len(comp.labels))
                rest = np.bincount(lv[ok], weights=1 - post[ok], minlength=len(comp.labels))
                m_new = (mass + 0.1) / (mass.sum() + 0.1 * len(comp.labels))
                u_probs[j] = (rest + 0.1) / (rest.sum() + 0.1 * len(comp.labels))
                m_probs[j] = _monotone(m_new, u_probs[j])
    weights = {c.name: [(float(m), float(u)) for m, u in zip(m_probs[j], u_probs[j], strict=True)]
               for j, c in enumerate(comps)}
    return weights, lam


def save(con: duckdb.DuckDBPyConnection, entity: str, weights: Weights, lam: float,
         labels: str = "") -> None:
    """Store the weights; `labels` fingerprints the review decisions they were trained with."""
    comps = {c.name: c for c in comparisons_for(entity)}
    rows = [(name, level, comps[name].labels[level], m, u, math.log2(m / u), lam, labels)
            for name, levels in weights.items() for level, (m, u) in enumerate(levels)]
    con.execute("CREATE SCHEMA IF NOT EXISTS golden")
    con.execute(f"""CREATE OR REPLACE TABLE golden.{entity}_match_weights (
        comparison VARCHAR, level INTEGER, label VARCHAR, m DOUBLE, u DOUBLE,
        match_weight DOUBLE, prior DOUBLE, trained_on_decisions VARCHAR)""")
    con.executemany(f"INSERT INTO golden.{entity}_match_weights VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows)


def load(con: duckdb.DuckDBPyConnection, entity: str) -> tuple[Weights, float, str] | None:
    """(weights, prior, decisions fingerprint) or None when absent or out of date."""
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'golden' "
        "AND table_name = ?", [f"{entity}_match_weights"]).fetchall()}
    if "trained_on_decisions" not in columns:
        return None  # absent, or stored by an older version: retrain
    rows = con.execute(f"SELECT comparison, level, m, u, prior, trained_on_decisions "
                       f"FROM golden.{entity}_match_weights ORDER BY comparison, level").fetchall()
    expected = {c.name: len(c.labels) for c in comparisons_for(entity)}
    weights: Weights = {}
    for name, _level, m, u, _prior, _labels in rows:
        weights.setdefault(name, []).append((m, u))
    if {k: len(v) for k, v in weights.items()} != expected:
        return None  # the comparison set changed: retrain
    return weights, float(rows[0][4]), str(rows[0][5])


def probability(match_weight: float) -> float:
    """Match weight (log2 Bayes factor incl. prior) -> match probability."""
    return 1.0 / (1.0 + 2.0 ** (-match_weight))


def score_sql(entity: str, weights: Weights, lam: float) -> dict[str, str]:
    """SQL expressions over a comparison-level row: `match_weight` (log2 prior odds plus each
    level's log2 m/u; level -1 adds nothing), `probability` and `evidence` (the labels of the
    levels above 0, in comparison order, joined by '; ')."""
    terms = [repr(math.log2(lam / (1 - lam)))]
    evidence = []
    for comp in comparisons_for(entity):
        table = [math.log2(m / u) for m, u in weights[comp.name]]
        cases = " ".join(f"WHEN {lv} THEN {w!r}" for lv, w in enumerate(table))
        terms.append(f"(CASE {comp.name} {cases} ELSE 0.0 END)")
        labels = " ".join(f"WHEN {lv} THEN '{comp.name}: {label}'"
                          for lv, label in enumerate(comp.labels) if lv > 0)
        evidence.append(f"(CASE {comp.name} {labels} END)")
    weight = " + ".join(terms)
    return {"match_weight": f"({weight})",
            "probability": f"(1.0 / (1.0 + pow(2.0, -greatest(-200.0, least(200.0, {weight})))))",
            "evidence": f"concat_ws('; ', {', '.join(evidence)})"}


def score(df: pd.DataFrame, entity: str, weights: Weights, lam: float) -> pd.DataFrame:
    """Add match_weight, probability and evidence columns to a comparison-level frame."""
    exprs = score_sql(entity, weights, lam)
    con = duckdb.connect()
    try:
        con.register("id_score_in", df)
        columns = ", ".join(f"{sql} AS {name}" for name, sql in exprs.items())
        added = con.execute(f"SELECT {columns} FROM id_score_in").df()
    finally:
        con.close()
    out = df.copy()
    for name in exprs:
        out[name] = added[name].to_numpy()
    return out
