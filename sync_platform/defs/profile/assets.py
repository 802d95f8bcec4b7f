"""`profile/<system>` assets (in the system's group) and `meta/relationships`."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL, raw_key
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.catalog import Catalog
from sync_platform.engines.landing import landed_tables
from sync_platform.engines.profiling.incremental import (
    DEFAULT_CHANGE_THRESHOLD,
    DEFAULT_MAX_AGE,
    MAX_AGE_ENV,
    THRESHOLD_ENV,
)
from sync_platform.engines.warehouse import markdown_table

RELATIONSHIPS_KEY = AssetKey(["meta", "relationships"])


def profile_key(system: str) -> AssetKey:
    return AssetKey(["profile", system])


class ProfileConfig(Config):
    """Run config of a profile asset (launchpad: `force: true`)."""

    force: bool = False  # profile every table, even those whose stored profile is still current


def system_profile_asset(catalog: Catalog, system: str) -> AssetsDefinition:
    @asset(
        key=profile_key(system),
        group_name=system,
        deps=[raw_key(system, table) for table in landed_tables(catalog, system)],
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description=f"Column profiles of every landed {system} table (meta.column_profiles): "
        "statistics and the detected semantic type of each column. A table is profiled again "
        "only when its landed data changed materially since its stored profile (schema change, "
        f"changed rows at or above {THRESHOLD_ENV} (default "
        f"{DEFAULT_CHANGE_THRESHOLD:.0%}), or a profile older than {MAX_AGE_ENV} "
        f"(default {DEFAULT_MAX_AGE.days} days)); run config `force: true` profiles every table.",
    )
    def _profile(context: AssetExecutionContext, config: ProfileConfig,
                 platform: PlatformResource) -> MaterializeResult:
        from sync_platform.engines.profiling import profile_system_run

        run = profile_system_run(platform.catalog().warehouse_path, system, force=config.force)
        profiles = run.profiles
        rows = [(p.table_name, p.column_name, p.semantic_type, f"{p.semantic_confidence:.2f}",
                 f"{p.null_rate:.0%}", p.distinct_count, p.value_format or "") for p in profiles]
        decisions = [(d.table_name, d.action, d.row_count, d.changed_rows, d.reason)
                     for d in run.decisions.values()]
        for d in run.decisions.values():
            context.log.info(f"{system}.{d.table_name}: {d.action}: {d.reason}")
        sampled = sorted({p.table_name for p in profiles if p.sampled})
        if sampled:
            context.log.info(f"sampled (large) tables: {', '.join(sampled)}")
        return MaterializeResult(metadata={
            "columns_profiled": MetadataValue.int(len(profiles)),
            "tables": MetadataValue.int(len({p.table_name for p in profiles})),
            "tables_profiled": MetadataValue.json(run.profiled),
            "tables_kept": MetadataValue.json(run.kept),
            "decisions": MetadataValue.md(markdown_table(
                ["table", "profile", "rows", "changed rows", "why"], decisions, max_width=90)),
            "sampled_tables": MetadataValue.json(sampled),
            "semantic_types": MetadataValue.md(markdown_table(
                ["table", "column", "semantic type", "confidence", "nulls", "distinct", "format"], rows)),
        })

    return _profile


def relationships_asset(catalog: Catalog) -> AssetsDefinition:
    @asset(
        key=RELATIONSHIPS_KEY,
        group_name="understanding",
        deps=[profile_key(system) for system in catalog.systems],
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description="Candidate keys and foreign keys by inclusion dependency, within and across "
        "systems (meta.relationships), with evidence.",
    )
    def _relationships(platform: PlatformResource) -> MaterializeResult:
        from sync_platform.engines.profiling import discover_relationships

        found = discover_relationships(platform.catalog().warehouse_path)
        rows = [(r.kind, f"{r.from_system}.{r.from_table}.{r.from_column}",
                 f"{r.to_system}.{r.to_table}.{r.to_column}", f"{r.coverage:.0%}") for r in found]
        return MaterializeResult(metadata={
            "foreign_keys": MetadataValue.int(sum(r.kind == "foreign_key" for r in found)),
            "candidate_keys": MetadataValue.int(sum(r.kind == "primary_key" for r in found)),
            "relationships": MetadataValue.md(markdown_table(["kind", "from", "to", "coverage"], rows)),
        })

    return _relationships


def profiling_assets(catalog: Catalog) -> list[AssetsDefinition]:
    return [*(system_profile_asset(catalog, s) for s in catalog.systems), relationships_asset(catalog)]
