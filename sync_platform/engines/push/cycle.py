"""One sync cycle for a target table: reconcile, gate, push the change set, re-land, verify.

`reconcile_targets` writes the recon tables (and publishes the analysts' copy);
`recon_gates` says whether a target's reconciliation is safe to push from (volume drop, empty
source or target, mass change); `push_target` builds the change set (changeset.py), pushes it
through the delivery engine (deferred address changes in a second pass), lands the target again
and reconciles once more: the cycle is **verified** when every pushable difference left is a
known reject (an open dead letter, a pending match review, a held or parked write, or a change
the flow rules skipped), i.e. nothing the platform believes it delivered is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_platform.engines.catalog.models import Catalog
from sync_platform.engines.connectors import connector_for, normalized
from sync_platform.engines.push.changeset import ChangeSet, ChangeSummary, build_change_set
from sync_platform.engines.push.deliver import PushReport, push
from sync_platform.engines.reconcile.golden import ReconResult, reconcile_target
from sync_platform.engines.reconcile.ownership import TargetPlan, TargetTable, target_plan
from sync_platform.engines.reconcile.publish import Published, publish
from sync_platform.engines.warehouse import connect, quote, table_exists

CYCLES_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.sync_cycles (
    finished_at TIMESTAMPTZ, target_table VARCHAR, system VARCHAR, table_name VARCHAR,
    entity VARCHAR, flows VARCHAR, dry_run BOOLEAN, creates BIGINT, updates BIGINT, deletes BIGINT,
    not_sent BIGINT, acknowledged BIGINT, rejected BIGINT, other_states BIGINT, requests BIGINT,
    remaining BIGINT, known_rejects BIGINT, verified BOOLEAN, seconds DOUBLE);
"""
GOLDEN_ENTITIES_SQL = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'golden' "
                       "AND table_name NOT LIKE '%\\_%' ESCAPE '\\'")


@dataclass
class Gate:
    name: str
    passed: bool
    detail: str


@dataclass
class PushCycle:
    target: TargetTable
    change_set: ChangeSet
    report: PushReport | None = None
    deferred_report: PushReport | None = None
    after: ReconResult | None = None  # the reconciliation after re-landing the target
    remaining: int = 0  # pushable differences left (records)
    known_rejects: int = 0  # of those, explained by dead letters, reviews, held/parked writes
    unexplained: list[str] = field(default_factory=list)  # golden ids left unexplained (sample)
    landed_rows: int | None = None
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return self.after is not None and self.remaining == self.known_rejects


def golden_entities(warehouse: Path | str) -> set[str]:
    with connect(warehouse, read_only=True) as con:
        return {r[0] for r in con.execute(GOLDEN_ENTITIES_SQL).fetchall()}


def plan_for(catalog: Catalog, entities: list[str] | None = None,
             mappings_dir: Path | str | None = None) -> TargetPlan:
    """The target tables of the flows, for entities that have golden records."""
    warehouse = catalog.warehouse_path
    known = golden_entities(warehouse) if Path(warehouse).exists() else set()
    return target_plan(catalog, mappings_dir, entities, known)


def reconcile_targets(catalog: Catalog, targets: list[TargetTable], strictness: str | None = None,
                      publish_copy: bool = True) -> tuple[list[ReconResult], Published | None]:
    """Reconcile each target table, then publish the analysts' copy once."""
    results = []
    with connect(catalog.warehouse_path) as con:
        for t in targets:
            results.append(reconcile_target(con, t, strictness or catalog.reconcile.strictness))
    published = publish(catalog.warehouse_path) if publish_copy else None
    return results, published


def native_names(catalog: Catalog, system: str, table: str) -> dict[str, str]:
    """Landed column -> the field name the target itself uses (from its own schema, read now:
    a target that cannot describe itself cannot be pushed to either)."""
    fields = connector_for(catalog, system).discover().get(table, [])
    return {normalized(f.name): f.name for f in fields}


def initial_sync(catalog: Catalog, t: TargetTable) -> bool:
    """Nothing was ever delivered to this target table (its first sync is a full load)."""
    with connect(catalog.warehouse_path, read_only=True) as con:
        if not table_exists(con, "ops", "push_ledger"):
            return True
        return not con.execute("SELECT count(*) FROM ops.push_ledger WHERE target = ? AND table_name = ? "
                               "AND state = 'acknowledged'", [t.system, t.table]).fetchall()[0][0]


def recon_gates(catalog: Catalog, result: ReconResult, change_set: ChangeSummary | None = None,
                first_sync: bool = False) -> list[Gate]:
    """Blocking gates before pushing to a target: its landed copy did not collapse, neither side
    is empty, and the change set would not rewrite a suspicious share of the target (the same
    limits as the push's mass-change guard; a target's first sync is its initial load)."""
    cfg = catalog.reconcile
    gates = []
    previous = result.previous_target_rows
    drop = (1 - result.target_rows / previous) if previous else 0.0
    gates.append(Gate("no_volume_drop", drop <= cfg.max_volume_drop,
                      f"target rows {result.target_rows} vs {previous} at the last reconciliation "
                      f"({drop:.0%} drop, limit {cfg.max_volume_drop:.0%})" if previous
                      else f"first reconciliation: {result.target_rows} target rows"))
    gates.append(Gate("golden_not_empty", result.golden_records > 0,
                      f"{result.golden_records} golden {result.target.entity} records"))
    empty_target = result.target_rows == 0 and (previous or 0) > 0
    gates.append(Gate("target_not_emptied", not empty_target,
                      f"{result.target_rows} live rows in {result.target.system}.{result.target.table}"))
    if change_set is not None:
        n, limit = change_set.data_changes, catalog.push.mass_change_share
        share = n / max(result.target_rows, 1)
        ok = first_sync or n < catalog.push.mass_change_min or share <= limit
        gates.append(Gate("no_mass_change", ok, f"{n} data changes for {result.target_rows} target "
                          f"rows ({share:.0%}, limit {limit:.0%} above {catalog.push.mass_change_min} "
                          f"changes){'; first sync: initial load' if first_sync else ''}"))
    return gates


def _known_rejects(con: Any, t: TargetTable, golden_ids: list[str]) -> set[str]:
    if not golden_ids:
        return set()
    con.execute("CREATE OR REPLACE TEMP TABLE _left_ids (golden_id VARCHAR)")
    con.executemany("INSERT INTO _left_ids VALUES (?)", [[g] for g in golden_ids])
    explained: set[str] = set()
    queries = [
        ("dead_letters", "SELECT golden_id FROM ops.dead_letters WHERE target = ? AND table_name = ? "
         "AND status = 'open'"),
        ("push_review", "SELECT golden_id FROM ops.push_review WHERE target = ? AND table_name = ? "
         "AND status = 'open'"),
        ("push_ledger", "SELECT golden_id FROM ops.push_ledger WHERE target = ? AND table_name = ? "
         "AND state IN ('held', 'parked', 'review', 'in_doubt', 'rejected')"),
    ]
    for table, sql in queries:
        if table_exists(con, "ops", table):
            explained |= {r[0] for r in con.execute(
                f"SELECT golden_id FROM _left_ids WHERE golden_id IN ({sql})",
                [t.system, t.table]).fetchall()}
    xref = f"golden.{quote(t.golden_table + '_xref')}"
    explained |= {r[0] for r in con.execute(
        f"SELECT golden_id FROM _left_ids WHERE golden_id IN (SELECT golden_id FROM {xref} "
        "WHERE review_status = 'held')").fetchall()}
    return explained


def push_target(catalog: Catalog, t: TargetTable, *, dry_run: bool = False, approve: bool = False,
                allow_mass_delete: bool = False, verify: bool = True,
                land: Callable[[Catalog, str, list[str]], Any] | None = None,
                strictness: str | None = None) -> PushCycle:
    """Push one target table's change set from its fresh recon table; then (unless dry run)
    land the target again and verify. `land`: how to re-land (default: the landing engine)."""
    started = time.perf_counter()
    names = native_names(catalog, t.system, t.table)
    with connect(catalog.warehouse_path) as con:
        change_set = build_change_set(con, t, names, max_delete_share=catalog.push.max_delete_share,
                                      allow_mass_delete=allow_mass_delete)
    cycle = PushCycle(t, change_set)
    if dry_run:
        cycle.report = push(catalog, change_set.changes + change_set.deferred, dry_run=True)
        cycle.seconds = time.perf_counter() - started
        record_cycle(catalog, cycle)
        return cycle
    approve = approve or initial_sync(catalog, t)  # the first sync is the initial load
    cycle.report = push(catalog, change_set.changes, approve=approve)
    if change_set.deferred:
        cycle.deferred_report = push(catalog, change_set.deferred, approve=approve)
    if verify:
        if land is None:
            from sync_platform.engines.landing import land as land_system

            land = land_system
        landed = land(catalog, t.system, [t.table])
        tables = getattr(landed, "tables", {}) or {}
        cycle.landed_rows = getattr(tables.get(t.table), "rows_landed", None)
        with connect(catalog.warehouse_path) as con:
            cycle.after = reconcile_target(con, t, strictness or catalog.reconcile.strictness)
            left = [r[0] for r in con.execute(
                f"SELECT DISTINCT golden_id FROM recon.{quote(t.name)} WHERE pushable "
                "AND golden_id IS NOT NULL").fetchall()]
            explained = _known_rejects(con, t, left)
        skipped_ids = change_set.skipped_ids
        cycle.remaining = len(left)
        cycle.known_rejects = len([g for g in left if g in explained or g in skipped_ids])
        cycle.unexplained = sorted(g for g in left if g not in explained and g not in skipped_ids)[:20]
    cycle.seconds = time.perf_counter() - started
    record_cycle(catalog, cycle)
    return cycle


def record_cycle(catalog: Catalog, cycle: PushCycle) -> None:
    """One row per push cycle in ops.sync_cycles (health and status read it)."""
    states: dict[str, int] = {}
    requests = 0
    for report in (cycle.report, cycle.deferred_report):
        if report is not None:
            requests += report.requests
            for state, n in report.states.items():
                states[state] = states.get(state, 0) + n
    cs, t = cycle.change_set, cycle.target
    other = sum(n for k, n in states.items() if k not in ("acknowledged", "rejected"))
    with connect(catalog.warehouse_path) as con:
        con.execute(CYCLES_DDL)
        con.execute("INSERT INTO ops.sync_cycles VALUES (now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?)",
                    [t.name, t.system, t.table, t.entity, ",".join(f.name for f in t.flows),
                     cycle.after is None, cs.count("create"), cs.count("update") + len(cs.deferred),
                     cs.count("delete"), sum(cs.skipped.values()), states.get("acknowledged", 0),
                     states.get("rejected", 0), other, requests, cycle.remaining,
                     cycle.known_rejects, cycle.verified if cycle.after is not None else None,
                     cycle.seconds])



def golden_rebuild(catalog: Catalog, mappings_dir: Path | str | None = None
                   ) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A dead-letter replay rebuild: the payload from the *current* golden record, rendered
    through the target's outbound mapping (the same fields the dead write carried; all rendered
    fields for a create), so a fix upstream is what gets replayed."""
    import json

    from sync_platform.engines.push.changeset import render_payload

    targets = {(t.golden_table, t.system, t.table): t
               for t in plan_for(catalog, mappings_dir=mappings_dir).targets}
    names: dict[tuple[str, str], dict[str, str]] = {}

    def rebuild(row: dict[str, Any]) -> dict[str, Any] | None:
        t = targets.get((row["entity"], row["target"], row["table_name"]))
        if t is None:
            raise LookupError(f"{row['target']}.{row['table_name']} is not a target of a flow for "
                              f"{row['entity']}: give a --renderer")
        if (t.system, t.table) not in names:
            names[(t.system, t.table)] = native_names(catalog, t.system, t.table)
        with connect(catalog.warehouse_path, read_only=True) as con:
            before = con.execute("SELECT payload FROM ops.push_ledger WHERE idempotency_key = ?",
                                 [row["idempotency_key"]]).fetchall()
            fields = None
            if before and before[0][0] and row.get("operation") != "create":
                fields = list(json.loads(before[0][0])) or None
            return render_payload(con, t, row["golden_id"], names[(t.system, t.table)], fields)

    return rebuild
