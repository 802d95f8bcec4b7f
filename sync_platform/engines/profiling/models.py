"""What profiling produces: one ColumnProfile per landed column and the Relationships between
columns (candidate primary keys and inclusion-dependency foreign keys)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sync_platform.engines.canonical import SemanticType


@dataclass
class ColumnProfile:
    """Statistics and the detected meaning of one column of one landed table.

    When the table was sampled (`sampled`), every statistic but `row_count` comes from the
    `sample_size` sampled rows; `null_count` is then scaled to the whole table.
    """

    system: str
    table_name: str
    column_name: str
    data_type: str
    row_count: int
    sampled: bool = False
    sample_size: int | None = None
    null_count: int = 0
    null_rate: float = 0.0
    distinct_count: int = 0
    uniqueness: float = 0.0  # distinct / non-null
    min_value: str | None = None
    max_value: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    avg_length: float | None = None
    top_values: list[tuple[str, int]] = field(default_factory=list)
    semantic_type: SemanticType = SemanticType.UNKNOWN
    semantic_confidence: float = 0.0
    value_format: str | None = None
    pattern: str | None = None
    sample_values: list[str] = field(default_factory=list)

    @property
    def non_null_count(self) -> int:
        return self.row_count - self.null_count

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.system, self.table_name, self.column_name)


@dataclass
class Relationship:
    """A candidate primary key (from_* == to_*) or a foreign key from_* ⊂ to_*."""

    from_system: str
    from_table: str
    from_column: str
    to_system: str
    to_table: str
    to_column: str
    kind: str  # 'primary_key' | 'foreign_key'
    coverage: float
    from_distinct: int
    evidence: str
    confidence: float
