"""Landing assets wired from the catalog: `raw_<system>/<table>`, one multi-asset per system."""

from collections.abc import Iterator
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.catalog import Catalog
from sync_platform.engines.connectors import connector_for
from sync_platform.engines.landing.destination import (
    WarehouseSecretMissing,
    landing_settings,
    load_file_format,
    uses_postgres,
)
from sync_platform.engines.landing.pipeline import (
    LandingError,
    describe_failure,
    finish_load,
    landing_pipeline,
    landing_run,
    mirror_after_landing,
    rows_by_table,
    warehouse_locked,
)
from sync_platform.engines.landing.stats import table_stats
from sync_platform.engines.mapping.pii import is_pii, pii_columns
from sync_platform.engines.warehouse import markdown_table

WRITER_POOL = "duckdb_writer"


def source_key(system: str, table: str) -> AssetKey:
    return AssetKey(["source", system, table])


def raw_key(system: str, table: str) -> AssetKey:
    return AssetKey([f"raw_{system}", table])


@dataclass
class LandingTranslator(DagsterDltTranslator):
    system: str = ""
    kind: str = ""
    destination: str = "duckdb"

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        table = data.resource.name
        declared = table.removesuffix("_archived")
        return super().get_asset_spec(data).replace_attributes(
            key=raw_key(self.system, table),
            deps=[source_key(self.system, declared)],
            group_name=self.system,
            kinds={"dlt", "duckdb", self.kind} | ({"postgres"} if self.destination == "postgres" else set()),
            description=f"`{table}` of {self.system}, landed incrementally into raw_{self.system}.{table}"
            + (" in PostgreSQL and mirrored into the DuckDB warehouse" if self.destination == "postgres" else ""),
        )


def source_specs(catalog: Catalog) -> list[AssetSpec]:
    """The systems' own tables, shown upstream of landing in the lineage graph."""
    return [
        AssetSpec(
            source_key(name, table),
            group_name=name,
            kinds={system.kind},
            description=f"{system.description or name}: {spec.source} (lives in the source system)",
        )
        for name, system in catalog.systems.items()
        for table, spec in system.tables.items()
    ]


def _changes_markdown(changes: list) -> str:
    rows = [(c.table_name, c.column_name or "", c.change, c.old_type or "", c.new_type or "") for c in changes]
    return markdown_table(["table", "column", "change", "old type", "new type"], rows)


def system_landing_assets(catalog: Catalog, system: str) -> AssetsDefinition:
    offline_source = connector_for(catalog, system).source(offline=True)

    @dlt_assets(
        dlt_source=offline_source,
        dlt_pipeline=landing_pipeline(catalog, system, strict=False),
        name=f"land_{system}",
        dagster_dlt_translator=LandingTranslator(system=system, kind=catalog.systems[system].kind,
                                                 destination=catalog.warehouse.destination),
        pool=WRITER_POOL,
    )
    def _land(
        context: AssetExecutionContext, dlt: DagsterDltResource, platform: PlatformResource
    ) -> Iterator[MaterializeResult]:
        run_catalog = platform.catalog()
        try:
            with landing_run(run_catalog, system) as pipeline:
                # a fresh source per run: dagster-dlt mutates a source's schema when it runs it
                source = connector_for(run_catalog, system).source()
                with landing_settings(run_catalog):
                    events = list(dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline,
                                          loader_file_format=load_file_format(run_catalog)))
        except WarehouseSecretMissing as exc:
            raise Failure(description=f"Landing of system '{system}' cannot start: {exc}") from None
        except Exception as exc:
            if warehouse_locked(exc):  # a short clash on the one-writer file: try again soon
                context.log.warning(f"{system}: the warehouse is locked by another process; retrying")
                raise RetryRequested(max_retries=5, seconds_to_wait=3) from exc
            raise Failure(description=describe_failure(system, exc)) from exc
        load_info = pipeline.last_trace.last_load_info if pipeline.last_trace else None
        load_id = load_info.loads_ids[-1] if load_info and load_info.loads_ids else None
        try:
            mirrored = mirror_after_landing(run_catalog, system)
        except LandingError as exc:
            raise Failure(description=str(exc)) from exc
        if mirrored is not None:
            context.log.info(f"{system}: mirrored {len(mirrored.load_ids)} PostgreSQL load(s), "
                             f"{sum(mirrored.rows.values())} rows, into the DuckDB warehouse "
                             f"in {mirrored.seconds:.2f} s")
        landed, changes = finish_load(run_catalog, system, load_id,
                                      rows_by_table(pipeline, load_id, mirrored))
        tables = [event.asset_key.path[-1] for event in events]
        personal = pii_columns(platform.folder(), system)
        stats = table_stats(run_catalog.warehouse_path, f"raw_{system}", tables,
                            masked=lambda column: is_pii(column, personal))
        for event, table in zip(events, tables, strict=True):
            table_changes = [c for c in changes if c.table_name == table]
            extra = {
                "dagster/row_count": MetadataValue.int(landed[table].row_count if table in landed else 0),
                "rows_landed_this_run": MetadataValue.int(landed[table].rows_landed if table in landed else 0),
                "schema_changes": MetadataValue.int(len(table_changes)),
            }
            if uses_postgres(run_catalog) and mirrored is not None:
                extra["rows_mirrored_to_duckdb"] = MetadataValue.int(mirrored.rows.get(table, 0))
            if table in stats:
                extra["preview"] = MetadataValue.md(stats[table].preview_markdown)
            if table_changes:
                extra["schema_changes_detail"] = MetadataValue.md(_changes_markdown(table_changes))
            context.log.info(
                f"{system}.{table}: {extra['rows_landed_this_run'].value} rows landed, "
                f"{extra['dagster/row_count'].value} in raw_{system}.{table}, {len(table_changes)} schema changes"
            )
            yield MaterializeResult(asset_key=event.asset_key, metadata={**(event.metadata or {}), **extra})

    return _land


def landing_assets(catalog: Catalog) -> list[AssetsDefinition]:
    return [system_landing_assets(catalog, system) for system in catalog.systems]
