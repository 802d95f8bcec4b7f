"""What a staging run reports: per-mapping counts and the mappings it skipped, with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MappingCounts:
    """Rows of one mapping: read = staged + rejected (distinct records with an error);
    warnings = warning rows written to quality.rejects (values set to NULL, record kept)."""

    mapping_id: str
    source_system: str
    source_table: str
    read: int = 0
    staged: int = 0
    rejected: int = 0
    warnings: int = 0
    notes: list[str] = field(default_factory=list)  # rules dropped, key fallbacks, ...

    @property
    def reconciles(self) -> bool:
        return self.read == self.staged + self.rejected


@dataclass(frozen=True)
class SkippedMapping:
    mapping_id: str
    status: str
    reason: str


@dataclass
class StagingResult:
    entity: str
    mappings: list[MappingCounts] = field(default_factory=list)
    skipped: list[SkippedMapping] = field(default_factory=list)
    kept_rows: int = 0  # rows of paused mappings left in place from an earlier run
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(m.read for m in self.mappings)

    @property
    def staged(self) -> int:
        return sum(m.staged for m in self.mappings)

    @property
    def rejected(self) -> int:
        return sum(m.rejected for m in self.mappings)

    @property
    def warnings(self) -> int:
        return sum(m.warnings for m in self.mappings)

    def counts(self, mapping_id: str) -> MappingCounts:
        return next(m for m in self.mappings if m.mapping_id == mapping_id)
