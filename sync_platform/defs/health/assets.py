"""`ops/health`: is everything in sync? One row per system and flow, as metadata the UI plots
over time (counts by status) and as Markdown tables."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.warehouse import markdown_table

HEALTH = AssetKey(["ops", "health"])


def health_asset(upstream: list[AssetKey]) -> AssetsDefinition:
    @asset(
        key=HEALTH,
        group_name="health",
        deps=upstream,
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description="Integration health (ops.health, history in ops.health_history): per system "
        "and flow the last landing and push, lag against the flow's schedule, records landed / "
        "staged / rejected / pushed, error rate, dead letters, schema drift, pending reviews and "
        "whether the last cycle verified. Also `sync-platform status`.",
    )
    def _health(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.health import compute_health, write_health

        catalog = platform.catalog()
        rows = compute_health(catalog, platform.folder())
        write_health(catalog.warehouse_path, rows)
        counts = {s: sum(r.status == s for r in rows) for s in ("ok", "warning", "failing", "never_run")}
        context.log.info(f"health: {counts}")

        def when(value) -> str:
            return "" if value is None else f"{value:%Y-%m-%d %H:%M}"

        systems = [(r.name, r.status, when(r.last_landing), r.rows_in_warehouse, r.rejected,
                    r.dead_letters, r.schema_changes_7d, r.pending_reviews, r.reason)
                   for r in rows if r.scope == "system"]
        flows = [(r.name, r.systems, r.status, when(r.last_push), r.lag_minutes, r.pushed_last_cycle,
                  r.error_rate, r.dead_letters, r.verified, r.reason) for r in rows if r.scope == "flow"]
        return MaterializeResult(metadata={
            **{f"{status}": MetadataValue.int(n) for status, n in counts.items()},
            "dagster/row_count": MetadataValue.int(len(rows)),
            "in_sync": MetadataValue.bool(counts["failing"] == 0 and counts["warning"] == 0),
            "systems": MetadataValue.md(markdown_table(
                ["system", "status", "last landing", "rows", "rejected", "dead letters",
                 "schema changes 7d", "reviews", "why"], systems, max_width=80)),
            "flows": MetadataValue.md(markdown_table(
                ["flow", "systems", "status", "last push", "lag min", "pushed", "error rate",
                 "dead letters", "verified", "why"], flows, max_width=80)),
        })

    return _health
