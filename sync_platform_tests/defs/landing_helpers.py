"""Running landing through real Dagster runs, and reading what landed, for tests."""

from __future__ import annotations

from dagster import DagsterInstance

from sync_platform.defs import build_definitions
from sync_platform.engines.warehouse import connect, quote


def land_through_dagster(systems: list[str] | None = None, instance: DagsterInstance | None = None,
                         raise_on_error: bool = True):
    """Run the land_all job (or a subset) and return (result, {(system, table): metadata})."""
    defs = build_definitions()
    job = defs.resolve_job_def("land_all")
    selection = None
    if systems:
        selection = [k for k in defs.resolve_asset_graph().get_all_asset_keys()
                     if k.path[0] in {f"raw_{s}" for s in systems}]
    result = job.execute_in_process(instance=instance or DagsterInstance.ephemeral(),
                                    asset_selection=selection, raise_on_error=raise_on_error)
    landed = {}
    for event in result.get_asset_materialization_events():
        key = event.materialization.asset_key
        landed[(key.path[0].removeprefix("raw_"), key.path[-1])] = {
            k: v.value for k, v in event.materialization.metadata.items()
        }
    return result, landed


def rows_landed(landed: dict) -> dict[tuple[str, str], int]:
    return {key: meta["rows_landed_this_run"] for key, meta in landed.items()}


def query(warehouse, sql: str, params: list | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def count(warehouse, system: str, table: str) -> int:
    return query(warehouse, f"SELECT count(*) FROM {quote('raw_' + system)}.{quote(table)}")[0][0]
