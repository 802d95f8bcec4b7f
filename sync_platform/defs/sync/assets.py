"""`recon/<entity>__<system>`, `published/warehouse` and `push/<entity>__<system>` assets.

Reconciliation per target table is gated by blocking checks (volume drop, empty golden side,
emptied target, mass change); the push of a target table runs only after its reconciliation and
the golden checks passed, then lands the target again and reports whether the cycle verified.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from sync_platform.defs.golden.assets import golden_key
from sync_platform.defs.ingest.assets import WRITER_POOL, raw_key
from sync_platform.defs.resources import PlatformResource
from sync_platform.engines.reconcile.ownership import FlowTarget, TargetTable
from sync_platform.engines.warehouse import markdown_table

RECON_GATES = ("no_volume_drop", "golden_not_empty", "target_not_emptied", "no_mass_change")
PUBLISHED = AssetKey(["published", "warehouse"])


class PushConfig(Config):
    """Run config of a push asset (launchpad)."""

    dry_run: bool = False  # plan only: creates / updates / deletes, nothing written
    approve_mass_change: bool = False  # a reviewed mass change may go out
    allow_mass_delete: bool = False  # deletes above push.max_delete_share may go out


def recon_key(t: FlowTarget | TargetTable) -> AssetKey:
    return AssetKey(["recon", t.name])


def push_key(t: FlowTarget | TargetTable) -> AssetKey:
    return AssetKey(["push", t.name])


def _find(platform: PlatformResource, name: str) -> TargetTable:
    """The target table with its columns and owners as the mappings say now."""
    from dagster import Failure

    from sync_platform.engines.push.cycle import plan_for

    plan = plan_for(platform.catalog(), mappings_dir=platform.folder())
    for t in plan.targets:
        if t.name == name:
            return t
    why = "; ".join(w for n, w in plan.skipped if n == name) or "not a flow target any more"
    raise Failure(f"{name} cannot be reconciled: {why}")


def recon_asset(target: FlowTarget) -> AssetsDefinition:
    key = recon_key(target)

    @asset(
        key=key,
        group_name="reconcile",
        deps=[golden_key(target.entity), raw_key(target.system, target.table)],
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description=f"Golden {target.entity} records rendered as {target.system}.{target.table} "
        f"vs its live copy: recon.{target.name} (missing_in_target, extra_in_target, "
        "field_mismatch; owner per field).",
        check_specs=[AssetCheckSpec(name, asset=key, blocking=True) for name in RECON_GATES],
    )
    def _recon(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.push.changeset import summarize_change_set
        from sync_platform.engines.push.cycle import initial_sync, recon_gates
        from sync_platform.engines.reconcile.golden import reconcile_target
        from sync_platform.engines.warehouse import connect

        catalog = platform.catalog()
        t = _find(platform, target.name)
        with connect(catalog.warehouse_path) as con:
            result = reconcile_target(con, t, catalog.reconcile.strictness)
            plan = summarize_change_set(con, t, max_delete_share=catalog.push.max_delete_share)
            preview = con.execute(
                f"SELECT kind, field, golden_value, target_value, owner, pushable FROM {result.table} "
                "ORDER BY kind, field LIMIT 15").fetchall()
        context.log.info(f"{t.name}: {result.differences} differences, {result.pushable} pushable")
        yield MaterializeResult(metadata={
            "dagster/row_count": MetadataValue.int(result.differences),
            "golden_records": MetadataValue.int(result.golden_records),
            "target_rows": MetadataValue.int(result.target_rows),
            "matched": MetadataValue.int(result.matched),
            "missing_in_target": MetadataValue.int(result.missing_in_target),
            "extra_in_target": MetadataValue.int(result.extra_in_target),
            "mismatched_records": MetadataValue.int(result.mismatched_records),
            "pushable": MetadataValue.int(result.pushable),
            "would_create": MetadataValue.int(plan.creates),
            "would_update": MetadataValue.int(plan.updates + plan.deferred),
            "would_delete": MetadataValue.int(plan.deletes),
            "not_sent": MetadataValue.md(markdown_table(["why", "records"], sorted(plan.skipped.items()))),
            "mismatches_by_field": MetadataValue.md(markdown_table(
                ["field", "owner", "records"],
                [(f, next((c.owner for c in t.columns if c.column == f), t.system), n)
                 for f, n in result.field_mismatches.items()])),
            "preview": MetadataValue.md(markdown_table(
                ["kind", "field", "golden", "target", "owner", "pushable"], preview)),
            "strictness": MetadataValue.text(result.strictness),
            "mode": MetadataValue.text(result.mode),
            "full_reason": MetadataValue.text(result.reason or "-"),
            "affected_keys": MetadataValue.int(result.affected_keys),
            "affected_golden_ids": MetadataValue.int(result.affected_golden_ids),
        })
        for gate in recon_gates(catalog, result, plan, initial_sync(catalog, t)):
            yield AssetCheckResult(check_name=gate.name, passed=gate.passed, description=gate.detail)

    return _recon


def published_asset(targets: list[FlowTarget]) -> AssetsDefinition:
    @asset(
        key=PUBLISHED,
        group_name="reconcile",
        deps=[recon_key(t) for t in targets],
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description="Read-only copy of the warehouse for analysts (published/warehouse.duckdb), "
        "swapped in atomically after each reconciliation: an open analyst session never blocks "
        "the pipeline.",
    )
    def _published(context: AssetExecutionContext, platform: PlatformResource):
        from sync_platform.engines.reconcile.publish import publish

        done = publish(platform.catalog().warehouse_path)
        context.log.info(f"published {done.tables} tables to {done.path}")
        return MaterializeResult(metadata={
            "path": MetadataValue.path(str(done.path)),
            "tables": MetadataValue.int(done.tables),
            "dagster/row_count": MetadataValue.int(done.rows),
            "seconds": MetadataValue.float(round(done.seconds, 2)),
        })

    return _published


def push_asset(target: FlowTarget, flows_md: str = "") -> AssetsDefinition:
    key = push_key(target)

    @asset(
        key=key,
        group_name="push",
        deps=[recon_key(target)],
        pool=WRITER_POOL,
        kinds={"python"},
        description=f"Push golden {target.entity} records to {target.system}.{target.table} "
        f"(flows: {', '.join(target.flows)}; mode {target.mode}), then land it "
        "again and verify: the remaining differences must all be known rejects."
        + (f"\n\n{flows_md}" if flows_md else ""),
        check_specs=[AssetCheckSpec("verified", asset=key, blocking=False,
                                    description="after the push and a fresh landing, every "
                                    "pushable difference left is a known reject")],
    )
    def _push(context: AssetExecutionContext, config: PushConfig, platform: PlatformResource):
        from sync_platform.engines.push.cycle import push_target

        catalog = platform.catalog()
        t = _find(platform, target.name)
        cycle = push_target(catalog, t, dry_run=config.dry_run, approve=config.approve_mass_change,
                            allow_mass_delete=config.allow_mass_delete)
        report = cycle.report
        states = dict(report.states) if report else {}
        if cycle.deferred_report:
            for state, n in cycle.deferred_report.states.items():
                states[f"{state} (second pass)"] = n
        plan_rows = [(table, op, n) for table, ops in (report.plan if report else {}).items()
                     for op, n in sorted(ops.items())]
        metadata = {
            "dagster/row_count": MetadataValue.int(len(cycle.change_set.changes)),
            "dry_run": MetadataValue.bool(config.dry_run),
            "plan": MetadataValue.md(markdown_table(["table", "operation", "records"], plan_rows)),
            "ledger_states": MetadataValue.md(markdown_table(["state", "records"], sorted(states.items()))),
            "ledger_state_counts": MetadataValue.json(states),
            "not_sent_total": MetadataValue.int(sum(cycle.change_set.skipped.values())),
            "requests": MetadataValue.int(report.requests if report else 0),
            "dead_lettered": MetadataValue.int(states.get("rejected", 0) + (report.invalid if report else 0)),
            "blocked_for_approval": MetadataValue.int(len(report.blocked) if report else 0),
            "not_sent": MetadataValue.md(markdown_table(["why", "records"],
                                                        sorted(cycle.change_set.skipped.items()))),
            "seconds": MetadataValue.float(round(cycle.seconds, 2)),
        }
        if cycle.after is not None:
            metadata.update({
                "verified": MetadataValue.bool(cycle.verified),
                "remaining_differences": MetadataValue.int(cycle.remaining),
                "known_rejects": MetadataValue.int(cycle.known_rejects),
            })
        context.log.info(f"{t.name}: {states}; verified={cycle.verified}")
        yield MaterializeResult(metadata=metadata)
        if cycle.after is not None:
            yield AssetCheckResult(
                check_name="verified", passed=cycle.verified, severity=AssetCheckSeverity.WARN,
                description=f"{cycle.remaining} records still differ, {cycle.known_rejects} of them "
                f"known rejects; unexplained: {', '.join(cycle.unexplained[:5]) or 'none'}")
        else:
            yield AssetCheckResult(check_name="verified", passed=True,
                                   description="dry run: nothing written, nothing to verify")

    return _push


def sync_assets(catalog, mappings_dir=None) -> tuple[list[AssetsDefinition], list[AssetsDefinition],
                                                      list[AssetsDefinition]]:
    """(recon assets + published copy, push assets) for every target table of the flows."""
    from sync_platform.engines.canonical import load_entities
    from sync_platform.engines.flowmap import map_description
    from sync_platform.engines.identity.keyed import golden_entity_names
    from sync_platform.engines.reconcile.ownership import flow_targets

    entities = load_entities(mappings_dir)
    targets = flow_targets(catalog, entities, golden_entity_names(catalog, entities))
    recon = [recon_asset(t) for t in targets]
    published = [published_asset(targets)] if targets else []
    return recon, published, [push_asset(t, map_description(catalog, mappings_dir, system=t.system))
                              for t in targets]
