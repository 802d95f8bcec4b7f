"""Identity resolution: blocking, comparisons, learned Fellegi–Sunter weights, clusters with
over-merge guards, stable golden ids and incremental runs over `staged.<entity>`."""

from sync_platform.engines.identity.config import MatchConfig, ResolutionResult
from sync_platform.engines.identity.evaluate import evaluate, xref_clusters
from sync_platform.engines.identity.resolve import resolve

__all__ = ["MatchConfig", "ResolutionResult", "evaluate", "resolve", "xref_clusters"]
