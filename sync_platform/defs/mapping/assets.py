"""`mapping/system_mappings`: proposals for every landed table, with an alerting pause check."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL
from sync_platform.defs.profile.assets import RELATIONSHIPS_KEY, profile_key
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.catalog import Catalog
from sync_platform.engines.warehouse import markdown_table

MAPPINGS_KEY = AssetKey(["mapping", "system_mappings"])


def mapping_asset(catalog: Catalog) -> AssetsDefinition:
    @asset(
        key=MAPPINGS_KEY,
        group_name="understanding",
        deps=[*(profile_key(s) for s in catalog.systems), RELATIONSHIPS_KEY],
        pool=WRITER_POOL,
        kinds={"duckdb", "yaml"},
        description="Field mappings of every landed table to the canonical model "
        "(mappings/<system>/<entity>.yaml, meta.system_mappings, meta.mapping_proposals): "
        "confident rules auto-applied, the rest queued for review; human decisions are kept.",
        check_specs=[AssetCheckSpec("mappings_active", asset=MAPPINGS_KEY,
                                    description="Fails when a mapping is paused (its source changed)")],
    )
    def _mappings(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.mapping import propose_mappings
        from sync_platform.engines.mapping.inputs import last_mode

        run_catalog = platform.catalog()
        mappings = propose_mappings(run_catalog.warehouse_path, run_catalog, load_entities(platform.folder()),
                                    platform.folder(), threshold=run_catalog.mapping.auto_apply_threshold)
        rows = []
        for m in mappings:
            applied = sum(r.applied for r in m.mapping_rules)
            queued = sum(r.status == "proposed" for r in m.mapping_rules)
            rows.append((m.id, m.status, applied, queued, f"{m.confidence:.2f}"))
        paused = [m for m in mappings if m.status == "paused"]
        yield MaterializeResult(metadata={
            "mappings": MetadataValue.int(len(mappings)),
            "mode": MetadataValue.text(last_mode(run_catalog.warehouse_path) or "-"),
            "rules_applied": MetadataValue.int(sum(r[2] for r in rows)),
            "review_queue": MetadataValue.int(sum(r[3] for r in rows)),
            "summary": MetadataValue.md(markdown_table(["mapping", "status", "applied", "to review", "confidence"], rows)),
        })
        reasons = markdown_table(["mapping", "reason"], [(m.id, m.status_reason or "") for m in paused],
                                 max_width=500)
        yield AssetCheckResult(
            check_name="mappings_active",
            passed=not paused,
            severity=AssetCheckSeverity.ERROR,
            description=f"{len(paused)} mapping(s) paused" if paused else "all mappings active",
            metadata={"paused": MetadataValue.md(reasons if paused else "none")},
        )

    return _mappings
