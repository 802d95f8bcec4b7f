"""Integration health in one place: per system and per flow, is everything in sync?

`compute_health(catalog, mappings_dir)` reads what the pipeline already records (dlt's load
table per system, staged records and rejects, schema changes, the review queues, the push
ledger's dead letters, `ops.sync_cycles`, `recon.runs`, `ops.manual_runs`) and returns one
HealthRow per system and per flow; `write_health` replaces `ops.health` and appends to
`ops.health_history` (counts over time). Plain Python + SQL, no Dagster.
"""

from sync_platform.engines.health.compute import (
    HealthRow,
    compute_health,
    record_manual_run,
    write_health,
)

__all__ = ["HealthRow", "compute_health", "record_manual_run", "write_health"]
