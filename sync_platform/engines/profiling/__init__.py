"""Profiling: column statistics, semantic types and key/foreign-key discovery of landed tables.

`profile_system` writes `meta.column_profiles` (profiling again only the tables whose landed data
changed materially since their stored profile, see `incremental`), `discover_relationships`
writes `meta.relationships`; `detect_values` runs the same semantic detection over ad hoc values.
"""

from sync_platform.engines.profiling.incremental import TableDecision
from sync_platform.engines.profiling.models import ColumnProfile, Relationship
from sync_platform.engines.profiling.profiler import (
    ProfileRun,
    load_profiles,
    profile_relation,
    profile_system,
    profile_system_run,
)
from sync_platform.engines.profiling.relationships import candidate_keys, discover_relationships
from sync_platform.engines.profiling.semantic import detect_values

__all__ = [
    "ColumnProfile",
    "ProfileRun",
    "Relationship",
    "TableDecision",
    "candidate_keys",
    "detect_values",
    "discover_relationships",
    "load_profiles",
    "profile_relation",
    "profile_system",
    "profile_system_run",
]
