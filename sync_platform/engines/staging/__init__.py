"""Staging: landed raw tables -> `staged.<entity>` in canonical shape, with `quality.rejects`.

`stage_entity(warehouse, entity, mappings, key_columns)` applies each applied mapping's rules in
DuckDB SQL (plus the transforms' Python UDFs), types every canonical field, enriches missing
values, rejects records that fail validation and writes the entity's rows in one transaction:
incrementally (only the raw rows that changed since the last run, found by row hashes kept in
`meta.staging_rows`) unless a mapping must be rebuilt or `full=True` (see stage.py);
`stage_all(...)` does every entity. `landing.landed_keys(catalog)` gives the key_columns argument,
`landing.landed_external_ids(catalog)` the columns staged as `platform_id` (golden ids written back).
"""

from sync_platform.engines.staging.results import MappingCounts, SkippedMapping, StagingResult
from sync_platform.engines.staging.stage import stage_all, stage_entity
from sync_platform.engines.staging.tables import REJECTS, staged_columns, staged_table

__all__ = [
    "REJECTS",
    "MappingCounts",
    "SkippedMapping",
    "StagingResult",
    "stage_all",
    "stage_entity",
    "staged_columns",
    "staged_table",
]
