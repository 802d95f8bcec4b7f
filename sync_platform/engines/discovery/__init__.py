"""Schema discovery: versioned snapshots of every system's schema, and drift between them."""

from sync_platform.engines.discovery.drift import (
    DriftImpact,
    mapping_impacts,
    pause_impacted,
    pause_mappings_for,
)
from sync_platform.engines.discovery.snapshots import SnapshotResult, snapshot_systems

__all__ = [
    "DriftImpact",
    "SnapshotResult",
    "mapping_impacts",
    "pause_impacted",
    "pause_mappings_for",
    "snapshot_systems",
]
