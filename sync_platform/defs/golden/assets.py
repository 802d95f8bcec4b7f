"""`golden/<entity>` assets: resolve identities, apply survivorship, gate with blocking checks."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.ingest.assets import WRITER_POOL
from sync_platform.defs.resources import PlatformResource
from sync_platform.defs.staging.assets import staged_key
from sync_platform.engines.canonical import CanonicalEntity
from sync_platform.engines.catalog.models import Catalog, Rollup
from sync_platform.engines.identity.config import RESOLVED_ENTITIES, MatchConfig
from sync_platform.engines.survivorship.rollup import rollup_name
from sync_platform.engines.warehouse import markdown_table

GATES = ("golden_ids_unique", "records_in_one_cluster", "cluster_size_limit",
         "required_fields_present", "validity_rates")


class GoldenConfig(Config):
    """Run config of a golden asset (launchpad: `full_rebuild: true`)."""

    full_rebuild: bool = False  # re-match every record instead of only new and changed ones


def golden_key(entity: str) -> AssetKey:
    return AssetKey(["golden", entity])


def _golden_asset_args(entity: CanonicalEntity, description: str) -> dict:
    """What every golden/<entity> asset shares: its key, upstream, writer pool and gates."""
    key = golden_key(entity.entity)
    return {"key": key, "group_name": "golden", "deps": [staged_key(entity.entity)], "pool": WRITER_POOL,
            "kinds": {"duckdb"}, "description": description,
            "check_specs": [AssetCheckSpec(name, asset=key, blocking=True) for name in GATES]}


def golden_asset(entity: CanonicalEntity) -> AssetsDefinition:
    @asset(**_golden_asset_args(
        entity, f"One row per real-world {entity.entity} (golden.{entity.entity}), with "
        "_xref (source record -> golden id), _lineage (why each value won) and _conflicts."))
    def _golden(context: AssetExecutionContext, config: GoldenConfig, platform: PlatformResource):
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.identity import MatchConfig, resolve
        from sync_platform.engines.landing.stats import table_stats
        from sync_platform.engines.mapping.pii import is_pii, pii_columns
        from sync_platform.engines.survivorship import build_golden, load_rules
        from sync_platform.engines.survivorship.gates import golden_gates
        from sync_platform.engines.warehouse import connect

        catalog = platform.catalog()
        model = load_entities(platform.folder())[entity.entity]
        match = MatchConfig()
        resolution = resolve(catalog.warehouse_path, model, config=match, mappings_dir=platform.folder(),
                             full_rebuild=config.full_rebuild)
        survived = build_golden(catalog.warehouse_path, model,
                                load_rules(platform.folder(), model, catalog.system_of_record),
                                catalog.system_of_record, full_rebuild=config.full_rebuild)
        with connect(catalog.warehouse_path, read_only=True) as con:
            sizes = con.execute(
                f"SELECT size, count(*) FROM (SELECT count(*) AS size FROM golden.{entity.entity}_xref "
                "GROUP BY golden_id) GROUP BY size ORDER BY size").fetchall()
        personal = pii_columns(platform.folder())
        stats = table_stats(catalog.warehouse_path, "golden", [entity.entity],
                            masked=lambda column: is_pii(column, personal))
        metadata = {
            "dagster/row_count": MetadataValue.int(survived.golden_records),
            "source_records": MetadataValue.int(survived.source_records),
            "mode": MetadataValue.text(resolution.mode),
            "changed_records": MetadataValue.int(resolution.changed_records),
            "review_pairs": MetadataValue.int(resolution.review_pairs),
            "held_for_review": MetadataValue.int(len(resolution.flagged_clusters)),
            "weights_retrained": MetadataValue.bool(resolution.trained),
            "merges": MetadataValue.int(resolution.merges),
            "splits": MetadataValue.int(resolution.splits),
            "conflicts": MetadataValue.int(survived.conflicts),
            "cluster_sizes": MetadataValue.md(markdown_table(["records per golden id", "golden ids"], sizes)),
        }
        if stats:
            metadata["preview"] = MetadataValue.md(stats[entity.entity].preview_markdown)
        yield MaterializeResult(metadata=metadata)
        for gate in golden_gates(catalog.warehouse_path, model, max_cluster_size=match.max_cluster_size,
                                 reviewed_clusters=set(resolution.flagged_clusters)):
            yield AssetCheckResult(check_name=gate.name, passed=gate.passed, description=gate.description)

    return _golden


def keyed_golden_asset(entity: CanonicalEntity, rollups: list[Rollup]) -> AssetsDefinition:
    """golden/<entity> for an entity identified by its key alone (no matching), with the
    rollups its flows deliver."""
    grains = [rollup_name(entity.entity, r) for r in rollups]

    @asset(**_golden_asset_args(
        entity, f"One row per {entity.entity} key ({', '.join(entity.identifiers[0])}) in "
        f"golden.{entity.entity}, values from the system of record, with _xref and _lineage"
        + (f"; rolled up for targets in {', '.join('golden.' + g for g in grains)}" if grains else "")))
    def _keyed(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.canonical import load_entities
        from sync_platform.engines.identity.keyed import key_xref
        from sync_platform.engines.survivorship import build_golden, load_rules
        from sync_platform.engines.survivorship.gates import golden_gates
        from sync_platform.engines.survivorship.rollup import build_rollup

        catalog = platform.catalog()
        model = load_entities(platform.folder())[entity.entity]
        keyed = key_xref(catalog.warehouse_path, model)
        survived = build_golden(catalog.warehouse_path, model,
                                load_rules(platform.folder(), model, catalog.system_of_record),
                                catalog.system_of_record)
        built = [build_rollup(catalog.warehouse_path, model, r) for r in rollups]
        rows = [[f"golden.{entity.entity}", survived.golden_records, keyed.records]]
        rows += [[r.table, r.golden_records, r.at_grain_records] for r in built]
        yield MaterializeResult(metadata={
            "dagster/row_count": MetadataValue.int(survived.golden_records),
            "source_records": MetadataValue.int(survived.source_records),
            "key": MetadataValue.text(", ".join(keyed.key)),
            "records_without_whole_key": MetadataValue.int(keyed.partial_key),
            "conflicts": MetadataValue.int(survived.conflicts),
            "tables": MetadataValue.md(markdown_table(["table", "golden records", "records linked"], rows)),
        })
        for gate in golden_gates(catalog.warehouse_path, model, max_cluster_size=MatchConfig().max_cluster_size,
                                 reviewed_clusters=set(), keyed=True):
            yield AssetCheckResult(check_name=gate.name, passed=gate.passed, description=gate.description)

    return _keyed


def golden_assets(entities: dict[str, CanonicalEntity], catalog: Catalog) -> list[AssetsDefinition]:
    """Matched entities, then the ones a flow carries that are identified by their key."""
    from sync_platform.engines.identity.keyed import keyed_entities

    return [golden_asset(entities[name]) for name in RESOLVED_ENTITIES if name in entities] + [
        keyed_golden_asset(entities[name], [f.rollup for f in catalog.flows if f.entity == name and f.rollup])
        for name in keyed_entities(catalog, entities)]
