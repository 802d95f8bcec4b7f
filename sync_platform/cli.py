"""The `sync-platform` command: demo, landing, config checks and the sandbox systems."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Column, Table

from sync_platform import settings
from sync_platform.engines.catalog import CatalogError, load_catalog

# Piped output (CI logs, `| less`, tests) has no terminal width: rich would cut tables at 80
# columns, so it gets at least 200 (more when COLUMNS says so); a terminal keeps its own width.
_columns = os.environ.get("COLUMNS", "")
console = Console(width=None if sys.stdout.isatty() else max(200, int(_columns) if _columns.isdigit() else 0))


def _fail(message: str) -> None:
    """Print an error unwrapped (file paths stay copyable) to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
@click.option("--mappings-dir", type=click.Path(file_okay=False), envvar=settings.MAPPINGS_DIR_ENV,
              help="Folder with systems.yaml (default ./mappings; env SYNC_MAPPINGS_DIR).")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar=settings.DATA_DIR_ENV,
              help="Folder for the warehouse, sandbox and state (default ./data; env SYNC_DATA_DIR).")
def main(mappings_dir: str | None, data_dir: str | None) -> None:
    """sync_platform: land, understand, resolve, reconcile and push business data."""
    if mappings_dir:
        os.environ[settings.MAPPINGS_DIR_ENV] = str(Path(mappings_dir).resolve())
    if data_dir:
        os.environ[settings.DATA_DIR_ENV] = str(Path(data_dir).resolve())
    # dlt's per-load notes (e.g. all-null columns it cannot type yet) are not for the terminal
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    from sync_platform.engines.sandbox.env_file import load_sandbox_env

    load_sandbox_env()


# ---------------------------------------------------------------- config


@main.command()
def validate() -> None:
    """Check systems.yaml (fields, references, secrets present) and print the systems."""
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        _fail(str(exc))
    table = Table("system", "kind", "role", "tables", title=str(catalog.source_file))
    for name, system in catalog.systems.items():
        table.add_row(name, system.kind, system.role, ", ".join(system.tables))
    console.print(table)
    console.print(f"{len(catalog.flows)} flows; warehouse {catalog.warehouse_path}")


@main.command()
@click.argument("system")
def discover(system: str) -> None:
    """Show a system's tables and fields as the system describes them."""
    from sync_platform.engines.connectors import ConnectorError, connector_for

    catalog = _catalog()
    if system not in catalog.systems:
        _fail(f"unknown system {system!r}; known: {', '.join(catalog.systems)}")
    try:
        found = connector_for(catalog, system).discover()
    except ConnectorError as exc:
        _fail(str(exc))
    for table_name, fields in found.items():
        table = Table("field", "type", title=f"{system}.{table_name}")
        for field in fields:
            table.add_row(field.name, field.data_type)
        console.print(table)


def _catalog(require_secrets: bool = True):
    try:
        return load_catalog(require_secrets=require_secrets)
    except CatalogError as exc:
        _fail(str(exc))


# ---------------------------------------------------------------- landing


def run_job(job_name: str, systems: list[str] | None = None, storage: str = "local") -> dict:
    """Run a Dagster job (optionally only some systems' landing); returns {asset path: metadata}."""
    from sync_platform.defs import build_definitions
    from sync_platform.instance import get_instance

    catalog = _catalog()
    unknown = [s for s in systems or [] if s not in catalog.systems]
    if unknown:
        _fail(f"unknown system(s) {unknown}; known: {', '.join(catalog.systems)}")
    defs = build_definitions(settings.mappings_dir())
    job = defs.resolve_job_def(job_name)
    selection = None
    if systems:
        graph = defs.resolve_asset_graph()
        selection = [k for k in graph.get_all_asset_keys() if k.path[0] in {f"raw_{s}" for s in systems}]
    with console.status(f"{job_name}: " + (", ".join(systems) if systems else "every system") + " …"):
        # the terminal shows warnings only; full step logs stay in the Dagster instance (UI)
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        result = job.execute_in_process(instance=get_instance(storage), asset_selection=selection,
                                        raise_on_error=False, run_config=quiet)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                click.echo(f"{event.step_key} failed: {error.message.strip()}", err=True)
        _fail(f"{job_name} run {result.run_id} failed")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            click.echo(f"check {check.asset_key.to_user_string()}:{check.check_name} failed: "
                       f"{check.description}", err=True)
    return {tuple(event.materialization.asset_key.path): {
        k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()}


def run_landing(systems: list[str] | None = None, storage: str = "local") -> dict:
    """Land through Dagster; returns {(system, table): metadata} or exits with the failure."""
    materialized = run_job("land_all", systems, storage)
    return {(path[0].removeprefix("raw_"), path[-1]): meta for path, meta in materialized.items()}


def print_landing(landed: dict, title: str) -> None:
    table = Table(title=title)
    table.add_column("system")
    table.add_column("table", no_wrap=True)
    for header in ("rows landed", "rows in warehouse", "schema changes"):
        table.add_column(header, justify="right")
    for (system, name), meta in sorted(landed.items()):
        table.add_row(system, name, str(meta.get("rows_landed_this_run", 0)),
                      str(meta.get("dagster/row_count", 0)), str(meta.get("schema_changes", 0)))
    console.print(table)


@main.command()
@click.argument("systems", nargs=-1)
@click.option("--dagster-storage", type=click.Choice(["local", "postgres"]), default="local",
              help="Dagster instance storage (postgres uses dagster.postgres.yaml).")
def land(systems: tuple[str, ...], dagster_storage: str) -> None:
    """Land the named systems (default: all) into the warehouse, incrementally."""
    landed = run_landing(list(systems) or None, dagster_storage)
    print_landing(landed, "landing")


@main.command()
@click.option("--dagster-storage", type=click.Choice(["local", "postgres"]), default="local")
def understand(dagster_storage: str) -> None:
    """Land, profile, map and stage every system; print what was staged and what awaits review."""
    print_understanding(run_job("understand", storage=dagster_storage))


def print_understanding(materialized: dict) -> None:
    mapping = materialized.get(("mapping", "system_mappings"), {})
    console.print(f"mappings: {mapping.get('mappings', 0)}, rules applied: "
                  f"{mapping.get('rules_applied', 0)}, waiting for review: {mapping.get('review_queue', 0)}")
    table = Table("entity", "read", "staged", "rejected", "warnings", title="staged canonical records")
    for path, meta in sorted(materialized.items()):
        if path[0] == "staged":
            table.add_row(path[1], *(str(meta.get(k, 0)) for k in ("read", "staged", "rejected", "warnings")))
    console.print(table)
    golden = Table("entity", "source records", "golden records", "pairs to review", "merges",
                   "conflicts resolved", title="golden records")
    for path, meta in sorted(materialized.items()):
        if path[0] == "golden":
            golden.add_row(path[1], *(str(meta.get(k, 0)) for k in
                                      ("source_records", "dagster/row_count", "review_pairs", "merges", "conflicts")))
    if golden.row_count:
        console.print(golden)
    console.print("next: sync-platform mappings review")


class ChangeFollower:
    """What the daemon does, in this process: the source-freshness sensor's ticks, the runs they
    request, then declarative automation ticks and their runs, until nothing more is asked."""

    def __init__(self, storage: str = "local"):
        from dagster import build_sensor_context, evaluate_automation_conditions

        from sync_platform.defs import build_definitions
        from sync_platform.instance import get_instance

        self.defs = build_definitions(settings.mappings_dir())
        self.instance = get_instance(storage)
        self.sensor = self.defs.resolve_sensor_def("source_freshness")
        with build_sensor_context(instance=self.instance, definitions=self.defs) as context:
            self.cursor = self.sensor.evaluate_tick(context).cursor  # baseline: what is there now
        self.automation = evaluate_automation_conditions(self.defs, self.instance).cursor

    def run(self, max_rounds: int = 8) -> dict:
        from dagster import build_sensor_context, evaluate_automation_conditions

        job = self.defs.resolve_implicit_global_asset_job_def()
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        landed, materialized, started = [], {}, time.perf_counter()
        with console.status("following the changes (freshness sensor, then automation) …"):
            for rounds in range(max_rounds):
                with build_sensor_context(instance=self.instance, cursor=self.cursor,
                                          definitions=self.defs) as context:
                    tick = self.sensor.evaluate_tick(context)
                self.cursor = tick.cursor
                for request in tick.run_requests:
                    landed.append((rounds, request.tags["sync/system"]))
                    job.execute_in_process(instance=self.instance, run_config=quiet,
                                           asset_selection=list(request.asset_selection))
                evaluation = evaluate_automation_conditions(self.defs, self.instance,
                                                            cursor=self.automation)
                self.automation = evaluation.cursor
                keys = [r.key for r in evaluation.results
                        if r.true_subset.size and hasattr(r.key, "path")]
                if keys:
                    result = job.execute_in_process(instance=self.instance, asset_selection=keys,
                                                    raise_on_error=False, run_config=quiet)
                    for event in result.get_asset_materialization_events():
                        materialized.setdefault(tuple(event.materialization.asset_key.path), []).append(
                            {k: v.value for k, v in event.materialization.metadata.items()})
                elif not tick.run_requests:
                    break
        return {"landed": landed, "materialized": materialized, "seconds": time.perf_counter() - started}


def print_followed(followed: dict) -> None:
    edits = sorted({s for r, s in followed["landed"] if r == 0})
    ripple = sorted({s for r, s in followed["landed"] if r > 0} - set(edits))
    console.print(f"source_freshness saw changes in: {', '.join(edits) or 'nothing'} (only those were "
                  f"landed); then the targets the pushes wrote to: {', '.join(ripple) or 'none'}; "
                  f"followed in {followed['seconds']:.0f} s")
    pushed = {k: v for k, v in followed["materialized"].items() if k[0] == "push"}
    table = Table("target", "push runs", "ledger states (all runs)", "last verified",
                  title="pushed after the edits")
    for path, metas in sorted(pushed.items()):
        states: dict[str, int] = {}
        for meta in metas:
            for state, n in (meta.get("ledger_state_counts") or {}).items():
                states[state] = states.get(state, 0) + int(n)
        table.add_row(path[1], str(len(metas)),
                      ", ".join(f"{a} {b}" for a, b in sorted(states.items())) or "nothing to send",
                      "yes" if metas[-1].get("verified") else "no")
    if table.row_count:
        console.print(table)


def print_sync(materialized: dict) -> None:
    table = Table("target", "differences", "pushable", "created/updated/deleted", "acknowledged",
                  "dead letters", "not sent", "verified", title="reconciliation and push-out")
    for path, meta in sorted(materialized.items()):
        if path[0] != "recon":
            continue
        pushed = materialized.get(("push", path[1]), {})
        states = pushed.get("ledger_state_counts") or {}
        skipped = pushed.get("not_sent_total", 0)
        verified = pushed.get("verified")
        table.add_row(path[1], str(meta.get("dagster/row_count", 0)), str(meta.get("pushable", 0)),
                      f"{meta.get('would_create', 0)}/{meta.get('would_update', 0)}/"
                      f"{meta.get('would_delete', 0)}",
                      str(states.get("acknowledged", 0)), str(pushed.get("dead_lettered", 0)), str(skipped),
                      "-" if verified is None else ("yes" if verified else "no"))
    if table.row_count:
        console.print(table)
        console.print("differences: recon.<entity>__<system>, recon.summary; dead letters: "
                      "sync-platform dlq list; analysts: published/warehouse.duckdb")


@main.command("schema-changes")
@click.option("--system", default=None)
@click.option("--limit", default=50, show_default=True)
def schema_changes(system: str | None, limit: int) -> None:
    """List recorded schema changes (meta.schema_changes), newest first."""
    from sync_platform.engines.warehouse import connect

    catalog = _catalog()
    if not catalog.warehouse_path.exists():
        _fail(f"no warehouse yet at {catalog.warehouse_path}: run `sync-platform land` first")
    with connect(catalog.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT detected_at, system, table_name, column_name, change, old_type, new_type "
            "FROM meta.schema_changes WHERE ? IS NULL OR system = ? ORDER BY detected_at DESC LIMIT ?",
            [system, system, limit],
        ).fetchall()
    table = Table("detected", "system", "table", "column", "change", "old", "new")
    for row in rows:
        table.add_row(*[("" if v is None else str(v)) for v in row])
    console.print(table)


# ---------------------------------------------------------------- mappings


@main.group()
def mappings() -> None:
    """Review, correct and export field mappings; suggest mappings between any two tables."""


def _warehouse_for_reading() -> Path | None:
    catalog = load_catalog(require_secrets=False)
    return catalog.warehouse_path if catalog.warehouse_path.exists() else None


@mappings.command("list")
def mappings_list() -> None:
    """Every mapping with its status and rule counts."""
    from sync_platform.engines.mapping import load_mappings

    table = Table("status", "applied", "to review", "rejected", "confidence")
    table.columns.insert(0, Column("mapping", no_wrap=True))
    loaded = load_mappings(settings.mappings_dir())
    for m in loaded:
        count = lambda *statuses, m=m: str(sum(r.status in statuses for r in m.mapping_rules))  # noqa: E731
        table.add_row(m.id, m.status, count("auto_applied", "approved"), count("proposed"),
                      count("rejected"), f"{m.confidence:.2f}")
    console.print(table)
    for m in loaded:
        if m.status == "paused":
            click.echo(f"paused {m.id}: {m.status_reason}")


@mappings.command("review")
@click.option("--mapping", "mapping_id", default=None, help="Only this mapping.")
@click.option("--limit", default=30, show_default=True)
def mappings_review(mapping_id: str | None, limit: int) -> None:
    """Pending proposals, best first, with sample values side by side and the evidence."""
    from sync_platform.engines.mapping import pending

    items = [i for i in pending(settings.mappings_dir(), _warehouse_for_reading())
             if mapping_id in (None, i["mapping_id"])]
    if not items:
        console.print("nothing to review")
        return
    for item in items[:limit]:
        table = Table(show_header=False, title=f"{item['mapping_id']}: {'+'.join(item['source_fields'])} → "
                      f"{'+'.join(item['target_fields'])}  ({item['kind']}, confidence {item['confidence']:.2f})",
                      title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value", overflow="fold")
        for field, values in item["source_samples"].items():
            table.add_row(f"source {field}", ", ".join(map(str, values[:6])))
        for where, values in list(item["target_samples"].items())[:2]:
            table.add_row(f"already mapped: {where}", ", ".join(map(str, values[:6])))
        if item["transform"]:
            table.add_row("transform", ", ".join(step["kind"] for step in item["transform"]))
        table.add_row("evidence", item["evidence"])
        console.print(table)
    console.print(f"{len(items)} pending. Decide with: sync-platform mappings approve|reject MAPPING FIELD, "
                  "or mappings correct FIELD TARGET --mapping MAPPING")


def _decide(action: str, mapping_id: str, source_field: str, target: str | None = None) -> None:
    from sync_platform.engines import mapping as engine

    try:
        if action == "correct":
            targets = target.split("+") if target and "+" in target else target
            decision = engine.correct(settings.mappings_dir(), mapping_id, source_field, targets,
                                      by=os.environ.get("USER", "user"), warehouse=_warehouse_for_reading())
        else:
            decision = getattr(engine, action)(settings.mappings_dir(), mapping_id, source_field,
                                               by=os.environ.get("USER", "user"),
                                               warehouse=_warehouse_for_reading())
    except (KeyError, FileNotFoundError) as exc:
        _fail(str(exc).strip('"'))
    console.print(f"recorded decision {decision['id']}: {action} {mapping_id} {source_field}"
                  + (f" → {target}" if target else ""))


@mappings.command("approve")
@click.argument("mapping_id")
@click.argument("source_field")
def mappings_approve(mapping_id: str, source_field: str) -> None:
    """Approve the proposed rule of SOURCE_FIELD in MAPPING_ID."""
    _decide("approve", mapping_id, source_field)


@mappings.command("reject")
@click.argument("mapping_id")
@click.argument("source_field")
def mappings_reject(mapping_id: str, source_field: str) -> None:
    """Reject the rule of SOURCE_FIELD in MAPPING_ID (never proposed again for this pair)."""
    _decide("reject", mapping_id, source_field)


@mappings.command("correct")
@click.argument("source_field")
@click.argument("target_field")
@click.option("--mapping", "mapping_id", default=None,
              help="The mapping (needed when the source field name is in several mappings).")
def mappings_correct(source_field: str, target_field: str, mapping_id: str | None) -> None:
    """Map SOURCE_FIELD to TARGET_FIELD (first+last for 1:n) instead, and learn from it."""
    from sync_platform.engines.mapping import load_mappings

    if mapping_id is None:
        owners = [m.id for m in load_mappings(settings.mappings_dir())
                  if any(source_field in r.sources for r in m.mapping_rules)]
        if len(owners) != 1:
            _fail(f"{source_field!r} is in {len(owners)} mappings {owners}; name one with --mapping")
        mapping_id = owners[0]
    _decide("correct", mapping_id, source_field, target_field)


@mappings.command("explain")
def mappings_explain() -> None:
    """What the analyzer learned from decisions, and from which decision."""
    from sync_platform.engines.mapping import explain

    learned = explain(settings.mappings_dir())
    if not learned:
        console.print("nothing learned yet: decisions made with approve/reject/correct teach the analyzer")
        return
    table = Table("kind", "what", "because")
    for item in learned:
        because = item.pop("because", "")
        kind = item.pop("kind")
        what = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("decision",))
        table.add_row(kind, what, because)
    console.print(table)


@mappings.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "markdown"]), default="markdown", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None)
@click.option("--include-proposed", is_flag=True, help="Also list rules still waiting for review.")
def mappings_export(fmt: str, out: str | None, include_proposed: bool) -> None:
    """The mapping document: Source System, Source Field, Target System, Target Field, notes."""
    from sync_platform.engines.mapping import export_document, load_mappings

    text = export_document(load_mappings(settings.mappings_dir()), format=fmt, include_proposed=include_proposed)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        click.echo(text)


@mappings.command("suggest")
@click.option("--source", required=True, help="CSV/Parquet/JSON file or path.duckdb::schema.table")
@click.option("--target", required=True, help="Same, or a canonical entity name (e.g. contact)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def mappings_suggest(source: str, target: str, fmt: str) -> None:
    """Propose field correspondences between any two tables, with confidence and evidence."""
    import json

    from sync_platform.engines.mapping import suggest

    try:
        proposals = suggest(source, target, settings.mappings_dir())
    except (FileNotFoundError, ValueError, KeyError) as exc:
        _fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(proposals, indent=2, default=str))
        return
    table = Table("source", "target", "kind", "confidence", "evidence", title=f"{source} → {target}")
    for p in proposals:
        join = lambda v: "+".join(v) if isinstance(v, list) else str(v)  # noqa: E731
        table.add_row(join(p["source_field"]), join(p["target_field"]), p["kind"],
                      f"{p['confidence']:.2f}", p["evidence"])
    console.print(table)


# ---------------------------------------------------------------- resolve exported files


def _file_options(values: tuple[str, ...], option: str, bare: str | None = None) -> dict[str, str]:
    """`FILE=VALUE` options as {FILE: VALUE}; a value without `=` is stored under `bare`."""
    out: dict[str, str] = {}
    for value in values:
        file, sep, rest = value.rpartition("=")
        if not sep and bare is not None:
            file, rest = bare, value
        elif not sep or not file or not rest:
            _fail(f"{option} {value!r}: expected FILE=VALUE")
        out[file] = rest
    return out


@main.command("resolve")
@click.argument("files", nargs=-1, required=True)
@click.option("--entity", required=True, help="Canonical entity of the records, e.g. contact.")
@click.option("--out", type=click.Path(dir_okay=False), default="clusters.csv", show_default=True,
              help="CSV written with source, record_id, golden_id.")
@click.option("--key", "keys", multiple=True,
              help="Record key column: COLUMN for every file, or FILE=COLUMN (repeatable). "
                   "Default: detected; the row number when no column is unique.")
@click.option("--name", "names", multiple=True,
              help="FILE=SYSTEM: the source name written for FILE (default: its file stem).")
def resolve_command(files: tuple[str, ...], entity: str, out: str, keys: tuple[str, ...],
                    names: tuple[str, ...]) -> None:
    """Find the same records across exported files (CSV/TSV/Parquet/JSON or db.duckdb::schema.table).

    Each file is one system's export in its own columns; it is profiled and mapped to ENTITY
    (auto-applied mappings plus the top proposal where nothing is certain), staged and resolved
    in a temporary warehouse. Nothing is connected or stored besides the output CSV.
    """
    from rich import box
    from rich.markup import escape

    from sync_platform.engines.identity.adhoc import ALL_FILES, AdhocError, resolve_files

    try:
        with console.status(f"profiling, mapping and resolving {len(files)} file(s) …"):
            result = resolve_files(entity, list(files), out=Path(out),
                                   keys=_file_options(keys, "--key", ALL_FILES) or None,
                                   names=_file_options(names, "--name"),
                                   mappings_dir=settings.mappings_dir())
    except (AdhocError, CatalogError, OSError) as exc:
        _fail(str(exc))
    for report in result.files:
        console.print(f"\n[bold]{escape(report.file)}[/bold] → source {escape(repr(report.source))}",
                      soft_wrap=True)
        console.print(f"rows read: {report.rows}; key: "
                      + (f"{report.key} ({report.key_origin})" if report.key else "row number")
                      + f" — {report.key_note}", markup=False)
        table = Table(Column("field", no_wrap=True), Column("source column", overflow="fold"),
                      Column("confidence", justify="right"), Column("used", no_wrap=True),
                      Column("transform", overflow="fold"), box=box.SIMPLE_HEAD)
        for use in report.fields:
            table.add_row("+".join(use.targets), escape("+".join(use.sources)), f"{use.confidence:.2f}",
                          use.used, " → ".join(use.steps) or "copy")
        console.print(table)
        if report.not_used:
            console.print(f"not used: {', '.join(report.not_used)}", markup=False)
        if report.warnings:
            console.print(f"{report.warnings} value(s) could not be converted and were left empty")
        if report.unresolved:
            console.print(f"{report.unresolved} row(s) marked deleted were not resolved "
                          "(empty golden_id)")
    console.print(f"\nrecords: {result.records}; golden records: {result.golden_records}; "
                  f"clusters with more than one record: {result.multi_member_clusters}; "
                  f"uncertain pairs (not merged): {result.resolution.review_pairs}")
    console.print(f"wrote {result.out}", soft_wrap=True, markup=False)


# ---------------------------------------------------------------- review queue and matches


@main.command("review")
@click.option("--limit", default=40, show_default=True)
def review(limit: int) -> None:
    """Everything waiting for a person: mapping proposals and uncertain matches."""
    from sync_platform.engines.review_queue import review_queue

    items = review_queue(settings.mappings_dir(), _warehouse_for_reading())
    if not items:
        console.print("nothing to review")
        return
    table = Table("kind", Column("id", no_wrap=True), "what", "confidence", "decide with")
    for item in items[:limit]:
        table.add_row(item.kind, item.id, item.subject, f"{item.confidence:.2f}", item.decide_with)
    console.print(table)
    counts = {k: sum(i.kind == k for i in items) for k in ("mapping", "match", "push")}
    console.print(f"{counts['mapping']} mapping proposals and {counts['match']} matches pending"
                  + (f", {counts['push']} pushes held" if counts["push"] else "") +
                  "; details: sync-platform mappings review / sync-platform matches review"
                  " (or all of them in sync-platform review-ui)")


@main.group()
def matches() -> None:
    """Review uncertain matches of golden records: merge, split or not a match."""


def _warehouse_or_fail() -> Path:
    warehouse = _warehouse_for_reading()
    if warehouse is None:
        _fail("no warehouse yet: run the resolve job first (sync-platform demo)")
    return warehouse


@matches.command("review")
@click.option("--entity", type=click.Choice(["contact", "customer", "employee"]), default=None)
@click.option("--limit", default=10, show_default=True)
def matches_review(entity: str | None, limit: int) -> None:
    """The uncertain pairs of the last run, both records side by side, with the evidence."""
    from sync_platform.engines.identity.review import pending_matches

    items = pending_matches(_warehouse_or_fail(), entity, settings.mappings_dir())
    if not items:
        console.print("no matches to review")
        return
    for item in items[:limit]:
        table = Table(Column("field", style="bold"), Column(item.key_a, overflow="fold"),
                      Column(item.key_b, overflow="fold"), "",
                      title=f"{item.id}  score {item.score:.3f}  ({item.reason})",
                      title_justify="left")
        table.add_row("golden id", item.golden_a or "", item.golden_b or "",
                      "same" if item.golden_a == item.golden_b else "")
        for name in dict.fromkeys([*item.record_a, *item.record_b]):
            a, b = item.record_a.get(name), item.record_b.get(name)
            if a is None and b is None:
                continue
            table.add_row(name, "" if a is None else str(a), "" if b is None else str(b),
                          "=" if a == b else "≠")
        table.add_row("evidence", item.evidence, "", "")
        console.print(table)
    console.print(f"{len(items)} pending. Decide with: sync-platform matches merge|split|"
                  "not-a-match ID")


def _match_decision(action: str, target: tuple[str, ...], entity: str | None,
                    note: str | None) -> None:
    from sync_platform.engines.identity.review import decide, split_record

    who = os.environ.get("USER", "user")
    warehouse = _warehouse_or_fail()
    try:
        if len(target) == 1 and "|" not in target[0]:
            decision = decide(warehouse, action, item_id=target[0], who=who, note=note,
                              mappings_dir=settings.mappings_dir())
        elif len(target) == 2 and entity:
            decision = decide(warehouse, action, records=(target[0], target[1]), entity=entity,
                              who=who, note=note, mappings_dir=settings.mappings_dir())
        elif len(target) == 1 and action == "split" and entity:
            decision = split_record(warehouse, entity, target[0], who=who, note=note,
                                    mappings_dir=settings.mappings_dir())
        else:
            _fail("give a review id (see `sync-platform matches review`), or --entity and two "
                  "record keys system|table|id (split also takes one record key)")
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip('"'))
    console.print(f"recorded {decision.id}: {action.replace('_', '-')} {decision.record} with "
                  f"{', '.join(decision.with_)}; the next resolve run applies it")


def _decision_command(action: str, help_text: str) -> None:
    @matches.command(action.replace("_", "-"), help=help_text)
    @click.argument("target", nargs=-1, required=True)
    @click.option("--entity", type=click.Choice(["contact", "customer", "employee"]), default=None,
                  help="Needed when TARGET is record keys instead of a review id.")
    @click.option("--note", default=None, help="Why (kept with the decision).")
    def _command(target: tuple[str, ...], entity: str | None, note: str | None) -> None:
        _match_decision(action, target, entity, note)


_decision_command("merge", "Same real-world entity: always one golden record (ID, or two keys).")
_decision_command("not_a_match", "Different entities: never one golden record (ID, or two keys).")
_decision_command("split", "Separate records now in one golden record (ID or two keys), or take "
                  "one record (one key) out of its golden record.")


@matches.command("accept")
@click.argument("golden_id")
@click.option("--entity", type=click.Choice(["contact", "customer", "employee"]), required=True)
@click.option("--note", default=None, help="Why (kept with the decision).")
def matches_accept(golden_id: str, entity: str, note: str | None) -> None:
    """Accept a golden record held for review (too large or loose) as one entity."""
    from sync_platform.engines.identity.review import accept_cluster

    try:
        decision = accept_cluster(_warehouse_or_fail(), entity, golden_id,
                                  who=os.environ.get("USER", "user"), note=note,
                                  mappings_dir=settings.mappings_dir())
    except KeyError as exc:
        _fail(str(exc).strip('"'))
    console.print(f"recorded {decision.id}: accepted {golden_id} ({len(decision.with_) + 1} "
                  "records) as one entity; the next resolve run releases it")


@matches.command("list")
@click.option("--entity", type=click.Choice(["contact", "customer", "employee"]), default=None)
def matches_list(entity: str | None) -> None:
    """The recorded decisions, oldest first."""
    from sync_platform.engines.identity.config import RESOLVED_ENTITIES
    from sync_platform.engines.identity.decisions import load_decisions

    table = Table("id", "entity", "action", "record", "with", "who", "when")
    for name in [entity] if entity else RESOLVED_ENTITIES:
        for d in load_decisions(name, settings.mappings_dir()).decisions:
            table.add_row(d.id, name, d.action, d.record, ", ".join(d.with_), d.who,
                          f"{d.when:%Y-%m-%d %H:%M}")
    console.print(table)


# ---------------------------------------------------------------- diff any two tables


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@main.command("diff")
@click.option("--left", required=True, help="CSV/TSV/Parquet/JSON file or path.duckdb::schema.table")
@click.option("--right", required=True, help="Same, for the other side.")
@click.option("--key", required=True, help="Key column(s), comma-separated: id or id,region.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write one row per difference to this .csv or .parquet file.")
@click.option("--strictness", type=click.Choice(["exact", "normalized", "loose"]),
              default="normalized", show_default=True)
@click.option("--columns", default=None, help="Only these columns, comma-separated (default: all shared).")
@click.option("--fail-on-diff", is_flag=True, help="Exit 1 when there are differences.")
def diff_command(left: str, right: str, key: str, out: str | None, strictness: str,
                 columns: str | None, fail_on_diff: bool) -> None:
    """Compare two tables row by row on KEY: missing rows, differing fields, duplicate/NULL keys.

    Phones, emails, numbers, dates and booleans are compared by meaning under `normalized`
    (kinds inferred from the values); `exact` compares text byte for byte; `loose` also ignores
    case and punctuation.
    """
    import duckdb
    from rich import box
    from rich.markup import escape

    from sync_platform.engines.reconcile import diff_sources

    try:
        with console.status("comparing …"):
            diff = diff_sources(left, right, _names(key) or [], columns=_names(columns),
                                strictness=strictness, out=Path(out) if out else None)
    except (FileNotFoundError, ValueError, OSError, duckdb.Error) as exc:
        _fail(str(exc))
    r = diff.result
    console.print(f"{left} ↔ {right} on {', '.join(r.key)} ({strictness})", markup=False,
                  soft_wrap=True)
    summary = Table(Column("", no_wrap=True), Column("rows", justify="right"), box=box.SIMPLE_HEAD)
    summary.add_row("rows left", str(r.rows_left))
    summary.add_row("rows right", str(r.rows_right))
    summary.add_row("matched keys", str(r.matched))
    summary.add_row("  with differing fields", str(r.mismatched_rows))
    for field_name, count in r.mismatches.items():
        kind = r.kinds.get(field_name, "exact" if strictness == "exact" else "text")
        summary.add_row(f"    {escape(field_name)} ({kind})", str(count))
    summary.add_row("missing in right", str(r.missing_in_right))
    summary.add_row("missing in left", str(r.missing_in_left))
    summary.add_row("duplicate keys", str(r.duplicate_keys))
    summary.add_row("NULL-key rows (left/right)", f"{r.null_key_rows_left}/{r.null_key_rows_right}")
    summary.add_row("seconds", f"{r.seconds:.2f}")
    console.print(summary)
    for side, names in (("left", r.columns_only_left), ("right", r.columns_only_right)):
        if names:
            console.print(f"only on the {side} (not compared): {', '.join(names)}", markup=False)
    if diff.out is not None:
        console.print(f"wrote {r.differences} difference(s) to {diff.out}", markup=False, soft_wrap=True)
    elif diff.preview:
        shown = Table(*[Column(escape(c), overflow="fold") for c in diff.columns], box=box.SIMPLE_HEAD,
                      title=f"first {len(diff.preview)} of {r.differences} difference(s)")
        for row in diff.preview:
            shown.add_row(*[escape("" if v is None else str(v)) for v in row])
        console.print(shown)
    else:
        console.print("no differences")
    if fail_on_diff and r.has_differences:
        sys.exit(1)


# ---------------------------------------------------------------- push-out: dead letters, approvals


@main.group()
def dlq() -> None:
    """Dead letters of the push: list, replay (from the current golden record) or discard."""


def _push_warehouse() -> Path:
    warehouse = _catalog().warehouse_path
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse}: nothing has been pushed yet")
    return warehouse


def _renderer(spec: str | None):
    """`module:function` taking a dead-letter row and returning the current payload (or None)."""
    if not spec:
        return None
    import importlib

    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        _fail(f"cannot load renderer {spec!r}: {exc}")


@dlq.command("list")
@click.option("--target", default=None, help="Only this target system.")
@click.option("--status", type=click.Choice(["open", "replayed", "discarded", "all"]), default="open",
              show_default=True)
@click.option("--limit", default=50, show_default=True)
def dlq_list(target: str | None, status: str, limit: int) -> None:
    from sync_platform.engines.push import list_dead_letters

    rows = list_dead_letters(_push_warehouse(), None if status == "all" else status, target, limit)
    table = Table(Column("id", no_wrap=True), "target", "golden id", "class", "http", "attempts", "status",
                  Column("message", overflow="fold"), title=f"dead letters ({status})")
    for r in rows:
        table.add_row(r["dlq_id"], f"{r['target']}.{r['table_name']}", str(r["golden_id"]),
                      str(r["error_class"]), str(r["http_status"] or ""), str(r["attempts"]),
                      r["status"], (r["message"] or "")[:200])
    console.print(table)
    console.print(f"{len(rows)} dead letters; replay with `sync-platform dlq replay <id>...`")


@dlq.command("replay")
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Every open dead letter (of --target).")
@click.option("--target", default=None)
@click.option("--renderer", default=None,
              help="module:function rebuilding a payload (default: the current golden record "
                   "rendered for the target; else the newest payload the ledger holds).")
def dlq_replay(ids: tuple[str, ...], replay_all: bool, target: str | None, renderer: str | None) -> None:
    from sync_platform.engines.push import PushAuthError, replay
    from sync_platform.engines.push.redact import MaskedPayload

    if not ids and not replay_all:
        _fail("give dead-letter ids, or --all")
    catalog, warehouse = _catalog(), _push_warehouse()
    try:
        result = replay(catalog, _renderer(renderer) or _golden_or_ledger(catalog, warehouse),
                        ids=list(ids) or None, target=target)
    except (PushAuthError, MaskedPayload) as exc:
        _fail(str(exc))
    states = result["report"].states if result["report"] else {}
    console.print(f"replayed {result['replayed']} (golden record gone: {result['gone']}); "
                  f"ledger states now: {states or 'nothing to do'}")


def _golden_or_ledger(catalog, warehouse: Path):
    """Rebuild from the current golden record where the dead letter's target is a flow's
    target table; else the newest payload the ledger holds."""
    from sync_platform.engines.push.cycle import golden_rebuild
    from sync_platform.engines.push.dlq import ledger_payload

    golden, ledger = golden_rebuild(catalog, settings.mappings_dir()), ledger_payload(warehouse)

    def rebuild(row: dict):
        try:
            return golden(row)
        except LookupError:
            return ledger(row)

    return rebuild


@dlq.command("discard")
@click.argument("ids", nargs=-1, required=True)
@click.option("--reason", default="discarded by a person", show_default=True)
def dlq_discard(ids: tuple[str, ...], reason: str) -> None:
    from sync_platform.engines.push import discard

    console.print(f"discarded {discard(_push_warehouse(), list(ids), reason=reason)} dead letters")


def _targets(names: tuple[str, ...]) -> list:
    from sync_platform.engines.push.cycle import plan_for

    catalog = _catalog()
    if not catalog.warehouse_path.exists():
        _fail(f"no warehouse yet at {catalog.warehouse_path}: run `sync-platform demo` or the "
              "`resolve` job first")
    plan = plan_for(catalog, mappings_dir=settings.mappings_dir())
    for name, why in plan.skipped:
        console.print(f"[dim]not reconciled: {name}: {why}[/dim]")
    known = {t.name: t for t in plan.targets}
    unknown = [n for n in names if n not in known]
    if unknown:
        _fail(f"unknown target(s) {unknown}; known: {', '.join(known) or 'none'}")
    return [known[n] for n in names] if names else list(known.values())


@main.command("reconcile")
@click.option("--target", "names", multiple=True, help="entity__system (default: every target).")
@click.option("--strictness", type=click.Choice(["exact", "normalized", "loose"]), default=None,
              help="Default: reconcile.strictness in systems.yaml.")
def reconcile_command(names: tuple[str, ...], strictness: str | None) -> None:
    """Reconcile golden records against each target's live copy (recon.<entity>__<system>),
    then publish the analysts' read-only copy of the warehouse."""
    from sync_platform.engines.push.cycle import reconcile_targets

    targets = _targets(names)
    with console.status(f"reconciling {len(targets)} target tables …"):
        results, published = reconcile_targets(_catalog(), targets, strictness)
    table = Table("target", "golden", "target rows", "matched", "missing in target",
                  "extra in target", "mismatched records", "pushable", "s", title="reconciliation")
    for r in results:
        table.add_row(r.target.name, *(str(v) for v in (
            r.golden_records, r.target_rows, r.matched, r.missing_in_target, r.extra_in_target,
            r.mismatched_records, r.pushable)), f"{r.seconds:.2f}")
    console.print(table)
    if published:
        console.print(f"analysts' copy: {published.path} ({published.tables} tables; open it with "
                      "`duckdb -readonly`), details: recon.summary")


@main.command("push")
@click.argument("changes_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--target", "names", multiple=True,
              help="entity__system to push from its reconciliation (default: every target).")
@click.option("--dry-run", is_flag=True, help="Show creates/updates/deletes per target; write nothing.")
@click.option("--approve", is_flag=True, help="Let a reviewed mass change go out.")
@click.option("--allow-mass-delete", is_flag=True, help="Let deletes above push.max_delete_share go out.")
def push_command(changes_file: str | None, names: tuple[str, ...], dry_run: bool, approve: bool,
                 allow_mass_delete: bool) -> None:
    """Push each target's change set from its reconciliation, land it again and verify; or,
    given CHANGES_FILE, push those changes (JSON lines, one change per line)."""
    import json

    from sync_platform.engines.push import PushAuthError, push

    if changes_file is None:
        _push_targets(names, dry_run, approve, allow_mass_delete)
        return
    lines = Path(changes_file).read_text(encoding="utf-8").splitlines()
    try:
        changes = [json.loads(line) for line in lines if line.strip()]
    except ValueError as exc:
        _fail(f"{changes_file}: not JSON lines: {exc}")
    try:
        report = push(_catalog(), changes, dry_run=dry_run)
    except PushAuthError as exc:
        _fail(str(exc))
    table = Table("target", "create", "update", "delete", "review", "unchanged",
                  title="push plan (dry run)" if dry_run else "push")
    for name, counts in sorted(report.plan.items()):
        table.add_row(name, *[str(counts.get(k, 0)) for k in ("create", "update", "delete", "review",
                                                              "unchanged")])
    console.print(table)
    for blocked in report.blocked:
        console.print(f"blocked: {blocked['target']}.{blocked['table_name']} would change "
                      f"{blocked['changes']} records ({blocked['share']:.0%} > "
                      f"{blocked['threshold']:.0%}): sync-platform push-approve {blocked['approval_id']}")
    if report.invalid:
        console.print(f"{report.invalid} invalid changes dead-lettered (sync-platform dlq list)")
    if not dry_run:
        console.print(f"ledger states: {report.states}; {report.requests} requests")


def _push_targets(names: tuple[str, ...], dry_run: bool, approve: bool, allow_mass_delete: bool) -> None:
    from sync_platform.engines.push import PushAuthError
    from sync_platform.engines.push.cycle import push_target, reconcile_targets

    catalog, targets = _catalog(), _targets(names)
    reconcile_targets(catalog, targets, publish_copy=False)
    table = Table("target", "create", "update", "delete", "not sent", "acknowledged", "dead letters",
                  "other", "verified", title="push plan (dry run)" if dry_run else "push")
    for t in targets:
        with console.status(f"{t.name}: {'planning' if dry_run else 'pushing, landing again, verifying'} …"):
            try:
                cycle = push_target(catalog, t, dry_run=dry_run, approve=approve,
                                    allow_mass_delete=allow_mass_delete)
            except PushAuthError as exc:
                _fail(str(exc))
        cs, states = cycle.change_set, dict(cycle.report.states if cycle.report else {})
        for state, n in (cycle.deferred_report.states.items() if cycle.deferred_report else []):
            states[state] = states.get(state, 0) + n
        other = {k: v for k, v in states.items() if k not in ("acknowledged", "rejected")}
        table.add_row(t.name, str(cs.count("create")), str(cs.count("update") + len(cs.deferred)),
                      str(cs.count("delete")), str(sum(cs.skipped.values())),
                      str(states.get("acknowledged", 0)), str(states.get("rejected", 0)),
                      ", ".join(f"{k} {v}" for k, v in sorted(other.items())) or "",
                      "-" if cycle.after is None else ("yes" if cycle.verified else
                                                       f"no: {len(cycle.unexplained)} unexplained"))
        for blocked in cycle.report.blocked if cycle.report else []:
            console.print(f"blocked: {blocked['target']}.{blocked['table_name']} would change "
                          f"{blocked['changes']} records: sync-platform push-approve {blocked['approval_id']}")
    console.print(table)


@main.command("status")
@click.option("--write/--no-write", default=True, show_default=True,
              help="Also store the figures in ops.health (and ops.health_history).")
def status_command(write: bool) -> None:
    """Integration health per system and flow: last landing and push, lag against the schedule,
    records, errors, dead letters, schema drift, pending reviews, verified."""
    from sync_platform.engines.health import compute_health, write_health

    catalog = _catalog(require_secrets=False)  # reads the warehouse only
    rows = compute_health(catalog, settings.mappings_dir())
    if write and catalog.warehouse_path.exists():
        write_health(catalog.warehouse_path, rows)
    colour = {"ok": "green", "warning": "yellow", "failing": "red", "never_run": "dim"}

    def when(value) -> str:
        return "" if value is None else f"{value:%Y-%m-%d %H:%M}"

    systems = Table("system", "status", "last landing", "rows", "staged", "rejected", "dead letters",
                    "schema changes 7d", "reviews", "why", title="systems")
    for r in (r for r in rows if r.scope == "system"):
        systems.add_row(r.name, f"[{colour[r.status]}]{r.status}[/]", when(r.last_landing),
                        *(str(v if v is not None else "") for v in (
                            r.rows_in_warehouse, r.staged, r.rejected, r.dead_letters,
                            r.schema_changes_7d, r.pending_reviews)), r.reason)
    console.print(systems)
    flows = Table("flow", "systems", "status", "last push", "lag min", "every min", "pushed",
                  "error rate", "dead letters", "verified", "why", title="flows")
    for r in (r for r in rows if r.scope == "flow"):
        flows.add_row(r.name, r.systems, f"[{colour[r.status]}]{r.status}[/]", when(r.last_push),
                      "" if r.lag_minutes is None else f"{r.lag_minutes:.0f}",
                      "" if r.expected_every_minutes is None else f"{r.expected_every_minutes:.0f}",
                      "" if r.pushed_last_cycle is None else str(r.pushed_last_cycle),
                      "" if r.error_rate is None else f"{r.error_rate:.1%}", str(r.dead_letters),
                      {True: "yes", False: "no", None: ""}[r.verified], r.reason)
    console.print(flows)
    worst = {r.status for r in rows}
    console.print("everything in sync" if worst <= {"ok"} else
                  f"{sum(r.status == 'failing' for r in rows)} failing, "
                  f"{sum(r.status == 'warning' for r in rows)} warning, "
                  f"{sum(r.status == 'never_run' for r in rows)} never run")


@main.command("flow-done")
@click.argument("flow")
@click.option("--by", default=lambda: os.environ.get("USER", "someone"), help="Who did it.")
@click.option("--note", default="")
def flow_done(flow: str, by: str, note: str) -> None:
    """Record that a person did a manual flow's checklist (health tracks its cadence)."""
    from sync_platform.engines.health import record_manual_run

    catalog = _catalog(require_secrets=False)
    found = next((f for f in catalog.flows if f.name == flow), None)
    if found is None or found.timing.manual is None:
        manual = [f.name for f in catalog.flows if f.timing.manual is not None]
        _fail(f"{flow!r} is not a manual flow; manual flows: {', '.join(manual) or 'none'}")
    record_manual_run(catalog.warehouse_path, flow, by, note)
    console.print(f"{flow}: done by {by}; checklist: " + "; ".join(found.timing.manual.checklist))


@main.command("push-approve")
@click.argument("approval_id")
def push_approve(approval_id: str) -> None:
    """Approve a push blocked by the mass-change guard; its writes go out with the next push."""
    from sync_platform.engines.push import approve_push

    try:
        released = approve_push(_push_warehouse(), approval_id, by=os.environ.get("USER", "cli"))
    except KeyError as exc:
        _fail(str(exc.args[0]))
    console.print(f"approved {approval_id}: {released} writes released")


@main.command("push-cancel")
@click.argument("approval_id")
def push_cancel(approval_id: str) -> None:
    """Cancel a push blocked by the mass-change guard; its held writes are never sent."""
    from sync_platform.engines.push import cancel_push

    try:
        cancelled = cancel_push(_push_warehouse(), approval_id, by=os.environ.get("USER", "cli"))
    except (KeyError, ValueError) as exc:
        _fail(str(exc.args[0]))
    console.print(f"cancelled {approval_id}: {cancelled} writes will not be sent")


@main.command("push-review")
@click.option("--decide", "key", default=None, help="Idempotency key of the review to decide.")
@click.option("--action", type=click.Choice(["create", "match", "skip"]), default=None)
@click.option("--target-key", default=None, help="With --action match: the target record's id.")
def push_review(key: str | None, action: str | None, target_key: str | None) -> None:
    """Uncertain matches the push did not create (list), or decide one."""
    from sync_platform.engines.push import decide_review, open_reviews

    if key:
        try:
            decide_review(_catalog(), key, action or "", target_key, by=os.environ.get("USER", "cli"))
        except (KeyError, ValueError) as exc:
            _fail(str(exc.args[0]))
        console.print(f"decided {key}: {action}; the next push or push-resume delivers it")
        return
    table = Table(Column("key", no_wrap=True), "target", "golden id", "reason",
                  Column("candidates", overflow="fold"), title="push review")
    for row in open_reviews(_push_warehouse()):
        table.add_row(row["idempotency_key"], f"{row['target']}.{row['table_name']}",
                      *[str(row[k]) for k in ("golden_id", "reason", "candidates")])
    console.print(table)


@main.command("push-resume")
@click.option("--target", "targets", multiple=True, help="Only these targets (repeatable).")
@click.option("--force", is_flag=True, help="Also send parked work before its not-before time.")
def push_resume(targets: tuple[str, ...], force: bool) -> None:
    """Deliver what the push ledger holds ready: after a crash, a parked Retry-After, an outage."""
    from sync_platform.engines.push import PushAuthError, resume

    try:
        states = resume(_catalog(), list(targets) or None, force=force)
    except PushAuthError as exc:
        _fail(str(exc))
    console.print(f"push ledger: {states or 'empty'}")


# ---------------------------------------------------------------- demo


@main.command()
@click.option("--size", default=2000, show_default=True, help="Real-world people in the sandbox.")
@click.option("--seed", default=42, show_default=True)
@click.option("--dagster-storage", type=click.Choice(["local", "postgres"]), default="local",
              help="Dagster instance storage: local files, or PostgreSQL (dagster.postgres.yaml).")
def demo(size: int, seed: int, dagster_storage: str) -> None:
    """Seed and start the sandbox, land every system, mutate the sandbox, land the changes."""
    import shutil

    from sync_platform.engines.sandbox import Sandbox

    data = settings.data_dir()
    console.rule("sync_platform demo")
    console.print(f"data folder: {data}")
    sandbox = Sandbox(settings.sandbox_dir(), seed=seed, size=size)
    with console.status(f"seeding sandbox systems (seed {seed}, size {size}) …"):
        seeded = sandbox.seed(reset=True)
    seeded_table = Table("system", "table", "rows", title="sandbox systems seeded")
    for system, tables in seeded.items():
        for name, count in tables.items():
            seeded_table.add_row(system, name, str(count))
    console.print(seeded_table)
    # a fresh warehouse, so the demo shows a first full load and then an incremental one
    try:
        catalog = load_catalog(require_secrets=False)  # the sandbox provides the secrets below
    except CatalogError as exc:
        _fail(str(exc))
    catalog.warehouse_path.unlink(missing_ok=True)
    shutil.rmtree(settings.dlt_pipelines_dir(), ignore_errors=True)
    urls = sandbox.start(ports={name: 0 for name in Sandbox.HTTP_SYSTEMS})
    os.environ.update(sandbox.env())
    try:
        console.print("sandbox APIs: " + ", ".join(f"{k} {v}" for k, v in urls.items()))
        print_landing(run_landing(storage=dagster_storage), "1st landing: everything")
        print_landing(run_landing(storage=dagster_storage), "2nd landing, nothing changed: 0 rows expected")
        report = sandbox.mutate(edits=5, inserts=3, deletes=2, new_field="x_loyalty_tier")
        changed = Table("system", "table", "records changed in the sandbox", title="sandbox mutation")
        for system, tables in report.changed.items():
            for name, ids in tables.items():
                changed.add_row(system, name, str(len(ids)))
        console.print(changed)
        print_landing(run_landing(storage=dagster_storage), "3rd landing: exactly the changed rows, new field recorded")
        console.rule("profile, map to the canonical model, stage, resolve golden records")
        print_understanding(run_job("resolve", storage=dagster_storage))
        console.rule("reconcile every target, push the change sets, land again, verify")
        print_sync(run_job("push_all", storage=dagster_storage))
        console.rule("edit the sandbox: the platform notices and carries the edits to the targets")
        follow = ChangeFollower(dagster_storage)
        edited = sandbox.mutate(edits=3, inserts=1, deletes=0, seed=seed + 1,
                                systems=["crm", "hr", "accounting", "warehouse"])
        console.print("sandbox edits: " + ", ".join(
            f"{system}.{table} {len(ids)}" for system, tables in edited.changed.items()
            for table, ids in tables.items()))
        print_followed(follow.run())
    finally:
        sandbox.stop()
    from sync_platform.engines.review_queue import review_queue

    queue = review_queue(settings.mappings_dir(), catalog.warehouse_path)
    console.print(f"review queue: {sum(i.kind == 'mapping' for i in queue)} mapping proposals, "
                  f"{sum(i.kind == 'match' for i in queue)} uncertain matches "
                  "(sync-platform review; sync-platform matches review)")
    console.print(
        f"\nwarehouse: {catalog.warehouse_path}\n"
        "explore: sync-platform schema-changes | duckdb -readonly <warehouse>\n"
        "UI: sync-platform sandbox start && make ui   (then open http://127.0.0.1:3000)"
    )


# ---------------------------------------------------------------- sandbox


@main.group()
def sandbox() -> None:
    """The embedded sandbox systems (crm, marketing, accounting, hr, payroll, warehouse, shop)."""


def _pid_file() -> Path:
    return settings.sandbox_dir() / "sandbox.pid"


def _running_pid() -> int | None:
    path = _pid_file()
    if not path.is_file():
        return None
    pid = int(path.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, ValueError):
        return None
    return pid


@sandbox.command("start")
@click.option("--size", default=2000, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--reseed", is_flag=True, help="Regenerate the data even if it exists.")
@click.option("--base-port", default=8701, show_default=True,
              help="crm on this port, marketing +1, shop +2; 0 picks free ports.")
@click.option("--foreground", is_flag=True, help="Serve in this process until Ctrl-C.")
def sandbox_start(size: int, seed: int, reseed: bool, base_port: int, foreground: bool) -> None:
    """Start the HTTP sandbox systems (seeding first if needed), in the background."""
    if _running_pid():
        _fail(f"sandbox already running (pid {_running_pid()}); `sync-platform sandbox stop` first")
    args = ["--size", str(size), "--seed", str(seed), "--base-port", str(base_port)]
    args += ["--reseed"] if reseed else []
    if foreground:
        _serve(size, seed, reseed, base_port)
        return
    log = settings.sandbox_dir() / "sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    from sync_platform.engines.sandbox.env_file import sandbox_env_path

    sandbox_env_path().unlink(missing_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "sync_platform.cli", "sandbox", "start",
                                    "--foreground", *args], stdout=out, stderr=out,
                                   start_new_session=True, env=os.environ.copy())
    deadline = time.time() + 300
    while not sandbox_env_path().exists():
        if process.poll() is not None or time.time() > deadline:
            _fail(f"sandbox did not start; see {log}")
        time.sleep(0.2)
    console.print(f"sandbox running (pid {process.pid}); connection settings in {sandbox_env_path()}")


def _serve(size: int, seed: int, reseed: bool, base_port: int) -> None:
    from sync_platform.engines.sandbox import Sandbox
    from sync_platform.engines.sandbox.env_file import sandbox_env_path, write_sandbox_env

    box = Sandbox(settings.sandbox_dir(), seed=seed, size=size)
    if reseed or not (settings.sandbox_dir() / "crm.sqlite").exists():
        box.seed(reset=True)
    ports = {name: base_port + offset if base_port else 0 for offset, name in enumerate(Sandbox.HTTP_SYSTEMS)}
    box.start(ports=ports)
    _pid_file().write_text(str(os.getpid()))
    write_sandbox_env(box.env())
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"sandbox serving: {box.env()}")
    while not stop["now"]:
        time.sleep(0.3)
    box.stop()
    sandbox_env_path().unlink(missing_ok=True)
    _pid_file().unlink(missing_ok=True)


@sandbox.command("stop")
def sandbox_stop() -> None:
    """Stop the background sandbox."""
    pid = _running_pid()
    if pid is None:
        console.print("sandbox is not running")
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if _running_pid() is None:
            break
        time.sleep(0.1)
    console.print(f"sandbox stopped (pid {pid})")


@sandbox.command("status")
def sandbox_status() -> None:
    """Whether the sandbox runs, where, and its request counters."""
    import requests

    from sync_platform.engines.sandbox.env_file import read_sandbox_env

    pid = _running_pid()
    if pid is None:
        console.print("sandbox is not running")
        return
    env = read_sandbox_env()
    table = Table("system", "url", "requests", "by status", title=f"sandbox pid {pid}")
    for system in ("crm", "marketing", "shop"):
        url = env.get(f"{system.upper()}_BASE_URL", "")
        stats = requests.get(f"{url}/__sandbox/stats", timeout=5).json() if url else {}
        table.add_row(system, url, str(stats.get("requests", "")), str(stats.get("by_status", "")))
    console.print(table)


@sandbox.command("seed")
@click.option("--size", default=2000, show_default=True)
@click.option("--seed", default=42, show_default=True)
def sandbox_seed(size: int, seed: int) -> None:
    """(Re)generate every sandbox system's data from a seed."""
    from sync_platform.engines.sandbox import Sandbox

    with console.status("seeding …"):
        counts = Sandbox(settings.sandbox_dir(), seed=seed, size=size).seed(reset=True)
    for system, tables in counts.items():
        console.print(f"{system}: " + ", ".join(f"{t} {n}" for t, n in tables.items()))


@sandbox.command("mutate")
@click.option("--edits", default=10, show_default=True)
@click.option("--inserts", default=5, show_default=True)
@click.option("--deletes", default=2, show_default=True)
@click.option("--new-field", default=None, help="Add a custom field, e.g. x_loyalty_tier.")
@click.option("--system", "systems", multiple=True, help="Only these systems (repeatable).")
def sandbox_mutate(edits: int, inserts: int, deletes: int, new_field: str | None, systems: tuple[str, ...]) -> None:
    """Edit, insert and delete records in the sandbox systems (works while they run)."""
    from sync_platform.engines.sandbox import Sandbox

    report = Sandbox(settings.sandbox_dir()).mutate(edits=edits, inserts=inserts, deletes=deletes,
                                                    new_field=new_field, systems=systems or None)
    for system, tables in report.changed.items():
        console.print(f"{system}: " + ", ".join(f"{t} {len(ids)} changed" for t, ids in tables.items()))


@sandbox.command("faults")
@click.argument("system", type=click.Choice(["crm", "marketing", "shop"]))
@click.option("--rate-limit", type=int, default=None, help="Max requests per window (429 beyond).")
@click.option("--rate-window", type=float, default=1.0, show_default=True)
@click.option("--error-rate", type=float, default=0.0, show_default=True)
@click.option("--error-burst", type=int, default=0, show_default=True)
@click.option("--latency-ms", type=int, default=0, show_default=True)
@click.option("--drop-rate", type=float, default=0.0, show_default=True)
@click.option("--down/--up", default=False)
def sandbox_faults(system: str, rate_limit: int | None, rate_window: float, error_rate: float,
                   error_burst: int, latency_ms: int, drop_rate: float, down: bool) -> None:
    """Set a running HTTP system's faults (no options: clear them)."""
    import requests

    from sync_platform.engines.sandbox.env_file import read_sandbox_env

    url = read_sandbox_env().get(f"{system.upper()}_BASE_URL")
    if not url or _running_pid() is None:
        _fail("sandbox is not running: `sync-platform sandbox start`")
    body = {"rate_limit": rate_limit, "rate_window_s": rate_window, "error_rate": error_rate,
            "error_burst": error_burst, "latency_ms": latency_ms, "drop_rate": drop_rate, "down": down}
    response = requests.post(f"{url}/__sandbox/faults", json=body, timeout=5)
    response.raise_for_status()
    console.print(f"{system} faults: {response.json()}")


from sync_platform.cli_map import map_command  # noqa: E402 - registered after `main` exists
from sync_platform.cli_review_ui import review_ui_command  # noqa: E402

main.add_command(map_command)
main.add_command(review_ui_command)

if __name__ == "__main__":
    main()
