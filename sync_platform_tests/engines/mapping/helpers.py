"""Hand-built ColumnProfiles for unit tests (the shape profiling produces)."""

from __future__ import annotations

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.profiling.models import ColumnProfile


def profile(column: str, semantic: str | SemanticType = SemanticType.UNKNOWN, values=(),
            data_type: str = "VARCHAR", value_format: str | None = None, system: str = "src",
            table: str = "t", pattern: str | None = None) -> ColumnProfile:
    values = [str(v) for v in values]
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return ColumnProfile(
        system=system, table_name=table, column_name=column, data_type=data_type,
        row_count=len(values), distinct_count=len(counts),
        uniqueness=len(counts) / max(1, len(values)),
        max_length=max((len(v) for v in values), default=0),
        top_values=sorted(counts.items(), key=lambda kv: -kv[1])[:10],
        semantic_type=SemanticType(semantic), semantic_confidence=0.95 if values else 0.0,
        value_format=value_format, pattern=pattern, sample_values=values[:10])
