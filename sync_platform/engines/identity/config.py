"""Matching configuration and the result of one resolution run."""

from __future__ import annotations

from dataclasses import dataclass, field

RESOLVED_ENTITIES = ("contact", "customer", "employee")  # entities with a matching profile


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds and guards; defaults work without per-dataset tuning (weights are learned)."""

    accept_threshold: float = 0.95  # probability at or above which a pair is merged
    review_threshold: float = 0.60  # [review, accept) goes to the review queue
    max_block_size: int = 200  # blocks larger than this are skipped (and reported)
    shared_min_names: int = 3  # a value used by this many distinct names is "shared"
    max_cluster_size: int = 20  # larger clusters are re-clustered at stricter thresholds
    min_cluster_density: float = 0.3  # edges / possible edges below this: re-cluster (size > 3)
    strict_thresholds: tuple[float, ...] = (0.99, 0.999, 0.9999)
    u_sample_pairs: int = 50_000  # random pairs used to estimate u probabilities
    em_iterations: int = 40
    seed: float = 0.42
    retrain: bool | None = None  # None: estimate weights only when none are stored


@dataclass
class ResolutionResult:
    """What a run did: counts, the mode it ran in and what it skipped or flagged."""

    entity: str
    mode: str  # "full" | "incremental"
    records: int
    changed_records: int
    candidate_pairs: int
    accepted_pairs: int
    review_pairs: int
    clusters: int
    new_golden_ids: int
    merges: int
    splits: int
    skipped_blocks: list[tuple[str, str, int]] = field(default_factory=list)
    flagged_clusters: list[str] = field(default_factory=list)
    trained: bool = False
    seconds: float = 0.0
