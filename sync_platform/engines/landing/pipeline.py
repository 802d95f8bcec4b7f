"""Run one system's landing: fresh dlt source and pipeline, merge into raw_<system>, log schema.

dlt keeps each table's cursor in the warehouse (`raw_<system>._dlt_pipeline_state`) and commits
it together with the data: a run that fails before its load completes advances nothing, and the
next run reads again from the last committed cursor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dlt
import duckdb
from dlt.pipeline.exceptions import PipelineStepFailed

from sync_platform import settings
from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors import connector_for
from sync_platform.engines.landing.destination import (
    WarehouseSecretMissing,
    dlt_destination,
    landing_settings,
    load_file_format,
    uses_postgres,
)
from sync_platform.engines.landing.mirror import MirrorResult, mirror_system
from sync_platform.engines.landing.schema_log import SchemaChange, record_schema_changes
from sync_platform.engines.landing.stats import table_stats
from sync_platform.engines.warehouse import compact_when_needed, connect, quote

# Extracted data from which dlt's normalisation (the per-row schema inference and type coercion
# that dominates a REST landing's CPU) runs on every core: an initial load of a large table. Below
# it, starting the worker processes costs more than they save.
PARALLEL_NORMALIZE_BYTES = 32 * 2**20
# Extracted item files are split every this many rows so that parallel workers have files to share.
EXTRACT_FILE_MAX_ITEMS = 50_000


class LandingError(Exception):
    """A landing run failed; the message says which system, which step and why."""


@dataclass(frozen=True)
class TableLanded:
    table_name: str
    rows_landed: int  # rows read and merged by this run
    row_count: int  # rows in the warehouse table after the run


@dataclass(frozen=True)
class LandingResult:
    system: str
    load_id: str | None
    tables: dict[str, TableLanded]
    schema_changes: list[SchemaChange]
    seconds: float
    mirror: MirrorResult | None = None  # destination postgres: what was copied into DuckDB


def _plain_intermediate_files() -> None:
    """dlt gzips the item files it writes between extract, normalize and load; those are
    temporary here (the load files are Parquet), and gzip was ~10-20% of a REST system's landing
    CPU. A value configured by the user (toml, environment) wins."""
    if dlt.config.get("data_writer.disable_compression") is None:
        dlt.config["data_writer.disable_compression"] = True
    if dlt.config.get("data_writer.file_max_items") is None:
        dlt.config["data_writer.file_max_items"] = EXTRACT_FILE_MAX_ITEMS


def _extracted_bytes(pipeline: dlt.Pipeline) -> int:
    """Size of the item files extracted and not normalised yet."""
    total = 0
    for load_id in pipeline.list_extracted_load_packages():
        info = pipeline.get_load_package_info(load_id)
        total += sum(job.file_size for jobs in info.jobs.values() for job in jobs)
    return total


def _normalize_on_every_core_when_large(pipeline: dlt.Pipeline) -> None:
    """Let `pipeline.run` normalise with one worker per core when the extracted data is large
    (an initial load of a large table). `run` calls
    `self.normalize()` between extract and load, in the Dagster path (dagster-dlt) and in `land`
    alike; a `normalize.workers` configured by the user (toml, environment) wins."""
    serial = pipeline.normalize

    def normalize(workers: int = 1) -> object:
        cores = os.cpu_count() or 1
        if workers == 1 and cores > 1 and dlt.config.get("normalize.workers") is None \
                and _extracted_bytes(pipeline) >= PARALLEL_NORMALIZE_BYTES:
            workers = cores
        return serial(workers=workers)

    pipeline.normalize = normalize  # type: ignore[method-assign]


def landing_pipeline(catalog: Catalog, system: str, progress: str | None = None,
                     strict: bool = True,
                     connection: duckdb.DuckDBPyConnection | None = None) -> dlt.Pipeline:
    """The dlt pipeline of one system (one per system, state restored from the destination:
    the DuckDB warehouse, or PostgreSQL with `warehouse.destination: postgres`). `strict=False`:
    for Dagster definitions, built without the PostgreSQL secret if it is not set yet.
    `connection`: an open connection to the DuckDB warehouse to load over (see landing_run)."""
    _plain_intermediate_files()
    pipeline = dlt.pipeline(
        pipeline_name=f"land_{system}",
        pipelines_dir=str(settings.dlt_pipelines_dir()),
        destination=dlt.destinations.duckdb(connection) if connection is not None
        else dlt_destination(catalog, strict),
        dataset_name=f"raw_{system}",
        progress=progress,
    )
    _normalize_on_every_core_when_large(pipeline)
    return pipeline


@contextmanager
def landing_run(catalog: Catalog, system: str, progress: str | None = None) -> Iterator[dlt.Pipeline]:
    """The pipeline for one landing run of `system`. Into DuckDB, its loads go over one warehouse
    connection held for the run and closed (one checkpoint) when it ends: on its own dlt opens
    and closes the file about four times a run, each close a checkpoint (0.15 s per system and
    run at 1M rows, measured). A warehouse another process holds fails at once, as dlt would:
    the caller decides whether to retry. After a run the landed tables are compacted when they
    need it (`warehouse.compact_when_needed`: a merge deletes and appends rows). Into
    PostgreSQL: the plain pipeline."""
    if uses_postgres(catalog):
        yield landing_pipeline(catalog, system, progress)
        return
    with connect(catalog.warehouse_path, wait_s=0) as con:
        yield landing_pipeline(catalog, system, progress, connection=con)
        schema = f"raw_{system}"
        compact_when_needed(con, [f"{quote(schema)}.{quote(table)}" for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? ORDER BY 1", [schema]).fetchall()])


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def warehouse_locked(exc: BaseException) -> bool:
    """The load failed because another process held the warehouse file (DuckDB allows one
    writer: a sensor recording alert state, an analyst with the file open read-write)."""
    cause = _root_cause(exc)
    return type(cause).__name__ == "IOException" and "lock" in str(cause).lower()


def describe_failure(system: str, exc: BaseException) -> str:
    """A message a person can act on: system, step, cause, and what happens to the cursor."""
    step = exc.step if isinstance(exc, PipelineStepFailed) else "run"
    cause = _root_cause(exc)
    response = getattr(cause, "response", None)
    if response is not None:
        detail = f"HTTP {response.status_code} from {response.request.method} {response.url.split('?')[0]}"
        body = (response.text or "")[:300]
        detail += f": {body}" if body else ""
    else:
        detail = f"{type(cause).__name__}: {cause}"
    return (
        f"Landing of system '{system}' failed during {step}: {detail}. "
        "Nothing from this run was committed and the change cursor did not advance; "
        "the next run re-reads from the last committed position."
    )


def rows_by_table(pipeline: dlt.Pipeline, load_id: str | None = None,
                  mirrored: MirrorResult | None = None) -> dict[str, int]:
    """Rows each table got from this run's load. Landing into PostgreSQL: as the mirror counted
    them (dlt's CSV writer counts fields, not rows, for row items)."""
    if mirrored is not None:
        return dict(mirrored.rows_by_load.get(load_id, {})) if load_id else {}
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace else None
    return dict(info.row_counts) if info else {}


def finish_load(catalog: Catalog, system: str, load_id: str | None, rows: dict[str, int]) -> tuple[
    dict[str, TableLanded], list[SchemaChange]
]:
    """After a committed load: log schema changes and collect per-table counts (from the DuckDB
    warehouse: with destination postgres, call `mirror_system` first)."""
    changes = record_schema_changes(catalog.warehouse_path, system, load_id)
    landed_tables = [t for t in rows if not t.startswith("_dlt")]
    known = set(catalog.systems[system].tables) | set(landed_tables)
    stats = table_stats(catalog.warehouse_path, f"raw_{system}", sorted(known), preview_rows=0)
    tables = {
        name: TableLanded(name, rows.get(name, 0), s.row_count) for name, s in stats.items()
    }
    return tables, changes


def land(
    catalog: Catalog, system: str, tables: Sequence[str] | None = None, progress: str | None = None
) -> LandingResult:
    """Land one system without Dagster (CLI, benchmarks, notebooks)."""
    started = time.perf_counter()
    source = connector_for(catalog, system).source(tables)
    try:
        with landing_run(catalog, system, progress) as pipeline:
            pipeline.drop()  # local state is restored from the warehouse, as in the Dagster path
            with landing_settings(catalog):
                info = pipeline.run(source, loader_file_format=load_file_format(catalog))
            info.raise_on_failed_jobs()
    except WarehouseSecretMissing as exc:
        raise LandingError(f"Landing of system '{system}' cannot start: {exc}") from None
    except Exception as exc:
        raise LandingError(describe_failure(system, exc)) from exc
    load_id = info.loads_ids[-1] if info.loads_ids else None
    mirrored = mirror_after_landing(catalog, system)
    landed, changes = finish_load(catalog, system, load_id, rows_by_table(pipeline, load_id, mirrored))
    return LandingResult(system, load_id, landed, changes, time.perf_counter() - started, mirrored)


def mirror_after_landing(catalog: Catalog, system: str) -> MirrorResult | None:
    """With destination postgres: copy every load PostgreSQL holds and DuckDB lacks (this run's,
    and any an earlier failed mirror left behind). A failure here loses nothing: the rows and
    cursors are committed in PostgreSQL and the next run mirrors them."""
    if not uses_postgres(catalog):
        return None
    try:
        return mirror_system(catalog, system)
    except Exception as exc:
        raise LandingError(
            f"Landing of system '{system}' into PostgreSQL succeeded, but mirroring it into the "
            f"DuckDB warehouse failed: {type(exc).__name__}: {exc}. The rows and the cursor are "
            "committed in PostgreSQL; the next landing run of this system mirrors them."
        ) from exc
