"""Dagster wiring: builds the Definitions from the catalog. Stages live in one folder each."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetSelection, Definitions, define_asset_job, multiprocess_executor
from dagster_dlt import DagsterDltResource

from sync_platform.defs.alerts import alert_sensors
from sync_platform.defs.automation import (
    automated,
    automation_sensor,
    flow_schedules,
    freshness_sensor,
)
from sync_platform.defs.discovery.assets import discovery_schedule, schema_snapshots
from sync_platform.defs.golden.assets import golden_assets
from sync_platform.defs.health.assets import health_asset
from sync_platform.defs.ingest.assets import landing_assets, source_specs
from sync_platform.defs.mapping.assets import mapping_asset
from sync_platform.defs.profile.assets import profiling_assets
from sync_platform.defs.resources import PlatformResource
from sync_platform.defs.staging.assets import staging_assets
from sync_platform.defs.sync.assets import sync_assets
from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.sandbox.env_file import load_sandbox_env

# Every run's steps start from a forkserver that imported the code location once: a spawned step
# imported dagster, dlt, pandas and every engine again (about 4-6 s per step; the `understand`
# job's 22 steps on the test sandbox took 65-83 s spawned, 51-52 s forked). Runs in the CLI and
# tests (execute_in_process) are unaffected.
EXECUTOR = multiprocess_executor.configured({"start_method": {"forkserver": {}}},
                                            name="multiprocess_forkserver")


def build_definitions(mappings_dir: Path | str | None = None) -> Definitions:
    """Definitions for the systems declared in `<mappings_dir>/systems.yaml`."""
    load_sandbox_env()
    catalog = load_catalog(mappings_dir, require_secrets=False)
    landing = landing_assets(catalog)
    entities = load_entities(mappings_dir)
    understanding = [*profiling_assets(catalog), mapping_asset(catalog), *staging_assets(entities)]
    golden = golden_assets(entities, catalog)
    recon, published, pushes = sync_assets(catalog, mappings_dir)
    health = [health_asset([a.key for a in pushes])]
    # downstream of landing follows changes by itself, gated by the blocking checks
    understanding, golden, recon, published, pushes, health = (
        automated(group) for group in (understanding, golden, recon, published, pushes, health))
    downstream = [*understanding, *golden, *recon, *published, *pushes, *health]
    return Definitions(
        assets=[*source_specs(catalog), *landing, schema_snapshots, *understanding, *golden,
                *recon, *published, *pushes, *health],
        schedules=[discovery_schedule(catalog), *flow_schedules(catalog, landing, downstream)],
        sensors=[*alert_sensors(mappings_dir), freshness_sensor(landing, mappings_dir),
                 automation_sensor()],
        jobs=[
            define_asset_job("land_all", selection=AssetSelection.assets(*landing),
                             description="Land every system into the warehouse"),
            define_asset_job("understand",
                             selection=AssetSelection.assets(*landing, *understanding)
                             | AssetSelection.checks_for_assets(*understanding),
                             description="Land, profile, map and stage every system"),
            define_asset_job("resolve",
                             selection=AssetSelection.assets(*landing, *understanding, *golden)
                             | AssetSelection.checks_for_assets(*understanding, *golden),
                             description="Everything up to golden records (identity + survivorship)"),
            define_asset_job("reconcile",
                             selection=AssetSelection.assets(*recon, *published)
                             | AssetSelection.checks_for_assets(*recon),
                             description="Reconcile every target against the golden records and "
                             "publish the analysts' copy"),
            define_asset_job("push_all",
                             selection=AssetSelection.assets(*recon, *published, *pushes, *health)
                             | AssetSelection.checks_for_assets(*recon, *pushes),
                             description="Reconcile every target, publish, push the change sets, "
                             "land the targets again and verify"),
            define_asset_job("sync",
                             selection=AssetSelection.assets(*landing, *understanding, *golden,
                                                             *recon, *published, *pushes, *health)
                             | AssetSelection.checks_for_assets(*understanding, *golden, *recon,
                                                                *pushes),
                             description="The full cycle: land, understand, resolve, reconcile, "
                             "push, land the targets again and verify"),
        ],
        executor=EXECUTOR,
        resources={
            "dlt": DagsterDltResource(),
            "platform": PlatformResource(mappings_dir=str(mappings_dir or "")),
        },
    )
