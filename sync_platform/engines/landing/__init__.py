"""Landing: one dlt pipeline per system into `raw_<system>` of the DuckDB warehouse."""

from sync_platform.engines.landing.keys import landed_external_ids, landed_keys, landed_tables
from sync_platform.engines.landing.pipeline import (
    LandingError,
    TableLanded,
    describe_failure,
    land,
    landing_pipeline,
)
from sync_platform.engines.landing.schema_log import record_schema_changes
from sync_platform.engines.landing.stats import table_stats

__all__ = [
    "LandingError",
    "TableLanded",
    "describe_failure",
    "landed_external_ids",
    "landed_keys",
    "landed_tables",
    "land",
    "landing_pipeline",
    "record_schema_changes",
    "table_stats",
]
