"""`staged/<entity>` assets: canonical records from every applied mapping, rejects with reasons."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL
from sync_platform.defs.mapping.assets import MAPPINGS_KEY
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.warehouse import markdown_table


def staged_key(entity: str) -> AssetKey:
    return AssetKey(["staged", entity])


def staged_asset(entity: CanonicalEntity) -> AssetsDefinition:
    key = staged_key(entity.entity)

    @asset(
        key=key,
        group_name="understanding",
        deps=[MAPPINGS_KEY],
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description=f"{entity.description} Every system's records in the canonical model "
        f"(staged.{entity.entity}); records failing validation go to quality.rejects.",
        check_specs=[AssetCheckSpec("counts_reconcile", asset=key, blocking=True,
                                    description="rows read = staged + rejected, for every mapping "
                                    "(the rows this run processed, and all rows of the source)")],
    )
    def _staged(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.landing import landed_external_ids, landed_keys
        from sync_platform.engines.landing.stats import table_stats
        from sync_platform.engines.mapping import load_mappings
        from sync_platform.engines.mapping.pii import is_pii, pii_columns
        from sync_platform.engines.staging import stage_entity

        catalog = platform.catalog()
        result = stage_entity(catalog.warehouse_path, load_entities(platform.folder())[entity.entity],
                              load_mappings(platform.folder()), landed_keys(catalog),
                              landed_external_ids(catalog))
        for skipped in result.skipped:
            context.log.warning(f"{skipped.mapping_id} not staged: {skipped.reason}")
        context.log.info(f"staged.{entity.entity}: {result.summary}")
        rows = [(m.mapping_id, m.mode, m.read, m.staged, m.rejected, m.warnings, m.rows_total)
                for m in result.mappings]
        personal = pii_columns(platform.folder())
        stats = table_stats(catalog.warehouse_path, "staged", [entity.entity],
                            masked=lambda column: is_pii(column, personal))
        metadata = {
            "dagster/row_count": MetadataValue.int(stats[entity.entity].row_count if stats else 0),
            "mode": MetadataValue.text(result.mode),
            "run": MetadataValue.text(result.summary),
            "reason": MetadataValue.text(result.reasons or "-"),
            "changed_rows": MetadataValue.int(result.read),
            "source_rows": MetadataValue.int(result.rows_total),
            "read": MetadataValue.int(result.read),
            "staged": MetadataValue.int(result.staged),
            "rejected": MetadataValue.int(result.rejected),
            "warnings": MetadataValue.int(result.warnings),
            "by_mapping": MetadataValue.md(markdown_table(
                ["mapping", "mode", "read", "staged", "rejected", "warnings", "source rows"], rows)),
            "skipped": MetadataValue.md(markdown_table(["mapping", "reason"], [(s.mapping_id, s.reason) for s in result.skipped],
                                                       max_width=500)
                                        if result.skipped else "none"),
        }
        if stats:
            metadata["preview"] = MetadataValue.md(stats[entity.entity].preview_markdown)
        yield MaterializeResult(metadata=metadata)
        broken = [m.mapping_id for m in result.mappings if not m.reconciles]
        yield AssetCheckResult(
            check_name="counts_reconcile",
            passed=not broken,
            description=f"{result.read} read = {result.staged} staged + {result.rejected} rejected"
            if not broken else f"counts do not reconcile for {broken}",
        )

    return _staged


def staging_assets(entities: dict[str, CanonicalEntity]) -> list[AssetsDefinition]:
    return [staged_asset(entity) for entity in entities.values()]
