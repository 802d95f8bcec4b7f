"""The one Definitions object Dagster loads (workspace.yaml points here)."""

from sync_platform.defs import build_definitions

defs = build_definitions()
