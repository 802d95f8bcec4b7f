"""Reconciliation: set-based, normalisation-aware diffs of two relations (DuckDB SQL).

`diff_relations(con, left_sql, right_sql, key, ...)` writes one row per difference to a table
and returns a DiffResult with the counts; `diff_sources(left, right, key, ...)` does the same for
two files or `db.duckdb::schema.table` specs and can write the differences to CSV/Parquet;
`normal_form` gives the SQL that decides what "the same value" means per kind and strictness.
"""

from sync_platform.engines.reconcile.diff import DIFF_KINDS, DiffResult, diff_relations
from sync_platform.engines.reconcile.normalize import KINDS, STRICTNESS, normal_form
from sync_platform.engines.reconcile.sources import SourcesDiff, diff_sources, write_differences

__all__ = ["DIFF_KINDS", "KINDS", "STRICTNESS", "DiffResult", "SourcesDiff", "diff_relations",
           "diff_sources", "normal_form", "write_differences"]
