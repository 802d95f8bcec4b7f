"""Whether the mapping proposals can be kept as they are: a fingerprint of everything they read.

`propose_mappings` depends only on its inputs: the landed tables with a data_type, their stored
column profiles, the foreign keys found between tables (relationships are rediscovered with
fresh counts every run: only the foreign-key columns the scoring reads count), the catalog's
table specs, the canonical entities, the knowledge learned from corrections, the stored mapping records (human
decisions win), the threshold and the scoring code. When none of these changed since its last
run, proposing again would write the same records: the run keeps them instead (mode
`unchanged`). Incremental profiling keeps a table's profile while less than 5% of its rows
changed, so a small change leaves the proposals as they are.

The fingerprint is stored after each run in `meta.mapping_runs`, computed over the inputs as that
run left them (the mapping YAML it wrote included), so the next run compares like with like.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.warehouse import table_exists

RUNS_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.mapping_runs (
    finished_at TIMESTAMPTZ, fingerprint VARCHAR, mode VARCHAR, mappings BIGINT);
"""
_CODE = [Path(__file__).parent, Path(__file__).parents[1] / "canonical"]


def fingerprint(con: duckdb.DuckDBPyConnection, work: list[tuple], mappings_root: Path,
                threshold: float) -> str:
    """A hash of every input of a proposal run over `work` (see the module docstring)."""
    digest = hashlib.sha256(f"threshold={threshold!r}".encode())

    def add(value: Any) -> None:
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())
        digest.update(b"\x1f")

    for system_name, system, table_name, spec, entity, profiles in work:
        add([system_name, table_name, system.kind, getattr(system, "preset", None),
             spec.model_dump(mode="json"), entity.model_dump(mode="json")])
        add([repr(p) for p in profiles])
    if table_exists(con, "meta", "relationships"):  # what proposals.foreign_keys reads of it
        add(con.execute("SELECT DISTINCT from_system, from_table, from_column FROM meta.relationships "
                        "WHERE kind = 'foreign_key' ORDER BY ALL").fetchall())
    for path in sorted(mappings_root.rglob("*.yaml")) + sorted(mappings_root.rglob("*.yml")):
        add(str(path.relative_to(mappings_root)))
        digest.update(path.read_bytes())
    for folder in _CODE:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def last_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    if not table_exists(con, "meta", "mapping_runs"):
        return None
    rows = con.execute("SELECT fingerprint FROM meta.mapping_runs ORDER BY finished_at DESC "
                       "LIMIT 1").fetchall()
    return rows[0][0] if rows else None


def record_run(con: duckdb.DuckDBPyConnection, fingerprint_: str, mode: str, mappings: int) -> None:
    con.execute(RUNS_DDL)
    con.execute("INSERT INTO meta.mapping_runs VALUES (now(), ?, ?, ?)", [fingerprint_, mode, mappings])


def last_mode(warehouse: Path | str) -> str | None:
    """How the last proposal run went: `proposed` or `unchanged` (None: never ran)."""
    from sync_platform.engines.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        if not table_exists(con, "meta", "mapping_runs"):
            return None
        rows = con.execute("SELECT mode FROM meta.mapping_runs ORDER BY finished_at DESC LIMIT 1"
                           ).fetchall()
    return rows[0][0] if rows else None
