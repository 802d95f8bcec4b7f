"""Pairwise and B-cubed precision / recall / F1 of predicted clusters against a truth mapping."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from pathlib import Path

import duckdb


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]
             ) -> dict[str, float]:
    """Score record -> cluster against record -> true entity, over records in both."""
    keys = [k for k in predicted if k in truth]
    pred_sizes = Counter(predicted[k] for k in keys)
    true_sizes = Counter(truth[k] for k in keys)
    both = Counter((predicted[k], truth[k]) for k in keys)

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    tp = sum(pairs(n) for n in both.values())
    pred_pairs = sum(pairs(n) for n in pred_sizes.values())
    true_pairs = sum(pairs(n) for n in true_sizes.values())
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    bp = sum(both[(predicted[k], truth[k])] / pred_sizes[predicted[k]] for k in keys)
    br = sum(both[(predicted[k], truth[k])] / true_sizes[truth[k]] for k in keys)
    bp = bp / len(keys) if keys else 1.0
    br = br / len(keys) if keys else 1.0
    return {"records": float(len(keys)), "pairwise_precision": p, "pairwise_recall": r,
            "pairwise_f1": _f1(p, r), "bcubed_precision": bp, "bcubed_recall": br,
            "bcubed_f1": _f1(bp, br)}


def xref_clusters(warehouse: Path, entity: str) -> dict[tuple[str, str], str]:
    """(source_system, source_id) -> golden_id from `golden.<entity>_xref`."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(f"SELECT source_system, source_id, golden_id FROM golden.{entity}_xref"
                           ).fetchall()
    finally:
        con.close()
    return {(s, i): g for s, i, g in rows}


def group_members(mapping: Mapping[Hashable, Hashable]) -> dict[Hashable, list[Hashable]]:
    groups: dict[Hashable, list[Hashable]] = defaultdict(list)
    for key, cluster in mapping.items():
        groups[cluster].append(key)
    return dict(groups)
