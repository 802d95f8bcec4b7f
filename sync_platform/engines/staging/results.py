"""What a staging run reports: per-mapping counts and the mappings it skipped, with reasons.

`read`, `staged`, `rejected` and `warnings` count the rows this run processed: every row of the
raw table after a full rebuild of the mapping, only the new and changed rows after an incremental
run (read = staged + rejected either way). `rows_total`, `staged_total` and `rejected_total` are
the whole mapping after the run (rows_total = staged_total + rejected_total)."""

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
    mode: str = "full"  # "full" | "incremental"
    reason: str = ""  # why the mapping was rebuilt ("" when incremental)
    removed: int = 0  # records whose raw rows are gone (hard deletes), removed by this run
    rows_total: int = 0  # rows in the raw table now
    staged_total: int = 0  # rows of this mapping in staged.<entity> after the run
    rejected_total: int = 0  # raw rows of this mapping rejected (in quality.rejects) after the run

    @property
    def reconciles(self) -> bool:
        """Processed rows and the whole mapping both add up: read = staged + rejected."""
        return (self.read == self.staged + self.rejected
                and self.rows_total == self.staged_total + self.rejected_total)


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
    reason: str = ""  # why every mapping was rebuilt ("" unless the whole entity was)

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

    @property
    def rows_total(self) -> int:
        return sum(m.rows_total for m in self.mappings)

    @property
    def removed(self) -> int:
        return sum(m.removed for m in self.mappings)

    @property
    def mode(self) -> str:
        """"incremental" when every staged mapping ran incrementally, "full" when every one was
        rebuilt (or none was staged), "mixed" otherwise."""
        modes = {m.mode for m in self.mappings}
        return modes.pop() if len(modes) == 1 else ("mixed" if modes else "full")

    @property
    def reasons(self) -> str:
        """Why mappings were rebuilt: the entity's reason, else each rebuilt mapping's."""
        if self.reason:
            return self.reason
        return "; ".join(f"{m.mapping_id}: {m.reason}" for m in self.mappings if m.mode == "full")

    @property
    def summary(self) -> str:
        """e.g. "incremental: 4,012 changed rows of 412,603"."""
        if self.mode == "incremental":
            gone = f", {self.removed:,} removed" if self.removed else ""
            return f"incremental: {self.read:,} changed rows of {self.rows_total:,}{gone}"
        return f"{self.mode}: {self.read:,} rows of {self.rows_total:,} processed ({self.reasons})"

    def counts(self, mapping_id: str) -> MappingCounts:
        return next(m for m in self.mappings if m.mapping_id == mapping_id)
