"""The schema snapshot asset, its drift check and the discovery schedule."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.catalog import Catalog
from sync_platform.engines.discovery import pause_mappings_for, snapshot_systems
from sync_platform.engines.warehouse import markdown_table

SNAPSHOT_KEY = AssetKey(["meta", "schema_snapshots"])


@asset(
    key=SNAPSHOT_KEY,
    group_name="discovery",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="Every connected system's schema as the system describes it, versioned; "
    "differences to the previous version are logged in meta.schema_changes.",
    check_specs=[AssetCheckSpec("schema_drift", asset=SNAPSHOT_KEY,
                                description="Warns when a system's schema changed since the last snapshot")],
)
def schema_snapshots(context: AssetExecutionContext, platform: PlatformResource):
    catalog = platform.catalog()
    result = snapshot_systems(catalog.warehouse_path, catalog)
    impacts = pause_mappings_for(catalog.warehouse_path, platform.folder(), result.changes)
    for impact in impacts:
        context.log.error(f"mapping {impact.mapping_id} paused: {impact.message}")
    for system, reason in result.unreachable.items():
        context.log.warning(f"{system}: schema not read ({reason}); its last snapshot stays the reference")
    rows = [(c.system, c.table_name, c.column_name or "", c.change, c.old_type or "", c.new_type or "")
            for c in result.changes]
    changes_md = markdown_table(["system", "table", "field", "change", "old type", "new type"], rows)
    yield MaterializeResult(metadata={
        "versions": MetadataValue.json(result.versions),
        "fields": MetadataValue.int(sum(result.fields.values())),
        "changes": MetadataValue.int(len(rows)),
        "unreachable": MetadataValue.json(result.unreachable),
        "drift": MetadataValue.md(changes_md if rows else "no changes"),
        "mappings_paused": MetadataValue.json({i.mapping_id: i.message for i in impacts}),
    })
    yield AssetCheckResult(
        check_name="schema_drift",
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        description=f"{len(rows)} schema changes" if rows else "no drift",
        metadata={"changes": MetadataValue.md(changes_md if rows else "none")},
    )


def discovery_schedule(catalog: Catalog) -> ScheduleDefinition:
    from dagster import DefaultScheduleStatus

    return ScheduleDefinition(
        name="schema_discovery",
        cron_schedule=catalog.discovery.cron,
        target=AssetSelection.assets(SNAPSHOT_KEY),
        default_status=DefaultScheduleStatus.RUNNING,
        description="Re-read every system's schema (systems.yaml discovery.cron)",
    )
