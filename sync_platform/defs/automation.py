"""The platform runs itself: a source-freshness sensor, declarative automation with gates, and
a schedule per timed flow.

- `source_freshness` polls every system with one cheap probe per table (its change cursor or a
  modified-since request: `connectors.probe`) and launches landing only for the systems whose
  marker moved (and, once, for systems never landed). A system that cannot be probed is skipped
  (its marker is kept, so it lands when it answers again). Nothing changed: no run.
- Everything downstream of landing (profiles, mappings, staged records, golden records,
  reconciliation, the published copy, pushes, health) carries
  `eager() & all_deps_blocking_checks_passed()`: it follows an upstream change, and a failed
  blocking gate, even one from another run, stops what is downstream of it (eager() alone
  ignores gates of other runs: STACK_NOTES). The automation sensor runs by default.
- Each flow with a `cron` timing gets a schedule running its source's landing through the push
  to its targets (e.g. hr -> payroll nightly, warehouse -> shop every 5 minutes); on-change flows
  need no schedule: the freshness sensor and automation carry a source edit to the targets.
"""

import hashlib
import json

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    map_asset_specs,
    sensor,
)

from sync_platform.engines.catalog.models import Catalog

GATED = AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()


def automated(assets: list[AssetsDefinition]) -> list[AssetsDefinition]:
    """The assets with the gated eager condition."""
    return list(map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=GATED),
                                assets))


def automation_sensor() -> AutomationConditionSensorDefinition:
    return AutomationConditionSensorDefinition(
        "automation", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Declarative automation: downstream assets follow upstream changes, gated "
        "by blocking checks")


def _keys_by_system(landing: list[AssetsDefinition]) -> dict[str, list[AssetKey]]:
    found: dict[str, list[AssetKey]] = {}
    for asset in landing:
        for key in asset.keys:
            found.setdefault(key.path[0].removeprefix("raw_"), []).append(key)
    return found


def _never_landed(catalog: Catalog, systems: list[str]) -> set[str]:
    """Systems with no landed table yet (unknown while a run holds the warehouse: none)."""
    import duckdb

    path = catalog.warehouse_path
    if not path.exists():
        return set(systems)
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            landed = {r[0] for r in con.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables "
                "WHERE table_schema LIKE 'raw\\_%' ESCAPE '\\' AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'"
            ).fetchall()}
    except duckdb.Error:
        return set()
    return {s for s in systems if f"raw_{s}" not in landed}


def freshness_sensor(landing: list[AssetsDefinition], mappings_dir=None) -> SensorDefinition:
    keys = _keys_by_system(landing)

    @sensor(name="source_freshness", minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.RUNNING,
            asset_selection=AssetSelection.assets(*[k for ks in keys.values() for k in ks]),
            description="Polls each source cheaply (change cursor / modified-since probe) and "
            "lands only the systems that changed")
    def _freshness(context: SensorEvaluationContext):
        from sync_platform.engines.catalog import load_catalog
        from sync_platform.engines.connectors.probe import probe_system
        catalog = load_catalog(mappings_dir, require_secrets=False)
        seen: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
        landed_never = _never_landed(catalog, list(keys))
        requests, unreachable = [], []
        for system, system_keys in keys.items():
            if system not in catalog.systems:
                continue
            markers = probe_system(catalog, system)
            if any(str(v).startswith("error:") for v in markers.values()):
                unreachable.append(f"{system} ({', '.join(str(v) for v in markers.values() if str(v).startswith('error:'))})")
                continue
            never_landed = system in landed_never
            if seen.get(system) != markers and (system in seen or never_landed):
                digest = hashlib.sha256(json.dumps(markers, sort_keys=True).encode()).hexdigest()[:16]
                requests.append(RunRequest(run_key=f"{system}:{digest}", asset_selection=system_keys,
                                           tags={"sync/trigger": "source_freshness",
                                                 "sync/system": system}))
            seen[system] = markers
        if unreachable:
            context.log.warning(f"not probed (kept for the next tick): {'; '.join(unreachable)}")
        if not requests:
            return SensorResult(skip_reason=SkipReason("no source changed"),
                                cursor=json.dumps(seen, sort_keys=True))
        return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return _freshness


def flow_schedules(catalog: Catalog, landing: list[AssetsDefinition],
                   downstream: list[AssetsDefinition]) -> list[ScheduleDefinition]:
    """A schedule per flow with a `cron` timing: its source's landing, then everything between it
    and the push to the flow's target tables (plus health)."""
    keys = _keys_by_system(landing)
    schedules = []
    for flow in catalog.flows:
        if not flow.timing.cron or flow.source not in keys:
            continue
        targets = [AssetKey(["push", f"{flow.entity}__{s}"]) for s in
                   ([flow.target, flow.source] if flow.direction == "two_way" else [flow.target])]
        known = {k for a in downstream for k in a.keys}
        ends = [k for k in [*targets, AssetKey(["ops", "health"])] if k in known]
        selection = AssetSelection.assets(*keys[flow.source])
        if ends:
            selection = selection | (AssetSelection.assets(*keys[flow.source]).downstream()
                                     & AssetSelection.assets(*ends).upstream())
        job = define_asset_job(f"flow_{flow.name}", selection=selection,
                               description=f"{flow.source} -> {flow.target} ({flow.entity}): land "
                               "the source, carry the change through to the push")
        schedules.append(ScheduleDefinition(
            name=f"flow_{flow.name}_schedule", cron_schedule=flow.timing.cron, job=job,
            default_status=DefaultScheduleStatus.RUNNING, execution_timezone="UTC",
            description=f"flow {flow.name}: {flow.timing.cron} (UTC)"))
    return schedules
