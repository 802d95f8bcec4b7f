"""The mapping store: SystemMapping YAML files, their mirror in DuckDB, and the export document.

Files: `mappings/<system>/<entity>.yaml` holds the mapping of a system table to an entity. When a
system has a second table for the same entity (marketing `contacts` and `contacts_archived`), the
second one is written to `mappings/<system>/<table>__<entity>.yaml`. A file, once written, keeps
its name: the record's `id` inside the file is what identifies it, the name is only for people.

Tables: `meta.system_mappings` mirrors the YAML records (one row per mapping, rules as JSON);
`meta.mapping_proposals` holds every scored candidate of the last run (one row per candidate).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from sync_platform import settings
from sync_platform.engines.canonical import SystemMapping
from sync_platform.engines.catalog.loader import read_yaml, validate_model
from sync_platform.engines.mapping.scoring import Candidate
from sync_platform.engines.warehouse import markdown_table

NOT_SYSTEM_FOLDERS = {"entities", "knowledge", "matches", "survivorship"}
HEADER = ("# Field mapping of {source} to {target} (written by the platform, reviewed by people).\n"
          "# status per rule: auto_applied (confidence >= threshold), proposed (review queue),\n"
          "# approved / rejected (human decisions: never changed by automatic runs).\n")

SYSTEM_MAPPINGS_DDL = """
create table if not exists meta.system_mappings (
    id varchar primary key, source_system varchar, source_table varchar, target_system varchar,
    entity_type varchar, mapping_rules json, confidence double,
    last_updated timestamp with time zone, status varchar, status_reason varchar)
"""
PROPOSALS_DDL = """
create table if not exists meta.mapping_proposals (
    mapping_id varchar, source_fields varchar[], target_fields varchar[], kind varchar,
    confidence double, rank integer, evidence varchar, transform json, status varchar,
    proposed_at timestamp with time zone)
"""


def mappings_root(mappings_dir: Path | str | None) -> Path:
    """The mappings folder (default: the configured one)."""
    return Path(mappings_dir) if mappings_dir else settings.mappings_dir()


def _records(mappings_dir: Path | str | None) -> dict[str, tuple[Path, SystemMapping]]:
    """id -> (file, record) of every mapping YAML, each file read once; a hand-edit that breaks
    a record is an error naming the file and the field."""
    root = mappings_root(mappings_dir)
    found: dict[str, tuple[Path, SystemMapping]] = {}
    if not root.exists():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in NOT_SYSTEM_FOLDERS or folder.name.startswith("."):
            continue
        for file in sorted(folder.glob("*.yaml")):
            raw = read_yaml(file) or {}
            if isinstance(raw, dict) and "id" in raw:
                found[str(raw["id"])] = (file, validate_model(file, SystemMapping, raw))
    return found


def mapping_files(mappings_dir: Path | str | None = None) -> dict[str, Path]:
    return {mapping_id: file for mapping_id, (file, _) in _records(mappings_dir).items()}


def load_mappings(mappings_dir: Path | str | None = None) -> list[SystemMapping]:
    """Every SystemMapping record under the mappings folder."""
    return [mapping for _, mapping in _records(mappings_dir).values()]


def load_mapping(mappings_dir: Path | str | None, mapping_id: str) -> SystemMapping:
    record = _records(mappings_dir).get(mapping_id)
    if record is None:
        raise KeyError(f"no mapping {mapping_id!r} under {mappings_root(mappings_dir)}")
    return record[1]


def mapping_path(mappings_dir: Path | str | None, mapping: SystemMapping) -> Path:
    existing = mapping_files(mappings_dir)
    if mapping.id in existing:
        return existing[mapping.id]
    folder = mappings_root(mappings_dir) / mapping.source_system
    taken = {file for mid, file in existing.items() if mid != mapping.id}
    suffix = "" if mapping.target_system == "canonical" else f"@{mapping.target_system}"
    first = folder / f"{mapping.entity_type}{suffix}.yaml"
    if first not in taken:
        return first
    return folder / f"{mapping.source_table}__{mapping.entity_type}{suffix}.yaml"


def save_mapping(mappings_dir: Path | str | None, mapping: SystemMapping) -> Path:
    path = mapping_path(mappings_dir, mapping)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(mapping.model_dump(mode="json", exclude_none=True), sort_keys=False,
                          allow_unicode=True, width=100)
    target = mapping.entity_type if mapping.target_system == "canonical" else (
        f"{mapping.target_system}.{mapping.entity_type}")
    path.write_text(HEADER.format(source=f"{mapping.source_system}.{mapping.source_table}",
                                  target=target) + body, encoding="utf-8")
    return path


# --- DuckDB mirror -------------------------------------------------------------------------------
def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute(SYSTEM_MAPPINGS_DDL)
    con.execute(PROPOSALS_DDL)


def write_system_mappings(con: duckdb.DuckDBPyConnection, mappings: list[SystemMapping]) -> None:
    ensure_tables(con)
    for m in mappings:
        rules = json.dumps([r.model_dump(mode="json") for r in m.mapping_rules])
        con.execute("delete from meta.system_mappings where id = ?", [m.id])
        con.execute("insert into meta.system_mappings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [m.id, m.source_system, m.source_table, m.target_system, m.entity_type, rules,
                     m.confidence, m.last_updated, m.status, m.status_reason])


def read_system_mappings(con: duckdb.DuckDBPyConnection) -> list[SystemMapping]:
    rows = con.sql("select id, source_system, source_table, target_system, entity_type, "
                   "mapping_rules, confidence, last_updated, status, status_reason "
                   "from meta.system_mappings order by id").fetchall()
    keys = ("id", "source_system", "source_table", "target_system", "entity_type",
            "mapping_rules", "confidence", "last_updated", "status", "status_reason")
    out = []
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        record["mapping_rules"] = json.loads(record["mapping_rules"])
        out.append(SystemMapping.model_validate(record))
    return out


def write_proposals(con: duckdb.DuckDBPyConnection, mapping: SystemMapping,
                    candidates: list[Candidate]) -> None:
    """Replace the candidates of one mapping with this run's (one row per candidate)."""
    ensure_tables(con)
    now = datetime.now(UTC)
    status = {(tuple(r.sources), tuple(r.targets)): r.status for r in mapping.mapping_rules}
    con.execute("delete from meta.mapping_proposals where mapping_id = ?", [mapping.id])
    rows = [[mapping.id, c.sources, c.targets, c.kind, round(c.confidence, 4), c.rank, c.evidence,
             json.dumps([s.model_dump() for s in c.transform]),
             status.get((tuple(c.sources), tuple(c.targets)), "candidate"), now]
            for c in candidates]
    if rows:
        con.executemany("insert into meta.mapping_proposals values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows)


# --- export --------------------------------------------------------------------------------------
EXPORT_COLUMNS = ["Source System", "Source Field", "Target System", "Target Field",
                  "Transformation notes"]


def export_document(mappings: list[SystemMapping], format: str = "csv",
                    include_proposed: bool = False) -> str:
    """The mapping document (one row per rule) as CSV or Markdown; applied rules by default."""
    from sync_platform.engines.mapping.steps import notes

    rows = []
    for m in sorted(mappings, key=lambda m: m.id):
        target_system = m.entity_type if m.target_system == "canonical" else m.target_system
        target_table = m.entity_type
        for rule in m.mapping_rules:
            if not (rule.applied or include_proposed and rule.status == "proposed"):
                continue
            note = notes(rule.transform)
            if rule.status != "approved" or rule.decided_by:
                note += f" [{rule.status}, confidence {rule.confidence:.2f}]"
            rows.append((m.source_system, ", ".join(f"{m.source_table}.{s}" for s in rule.sources),
                         "canonical" if m.target_system == "canonical" else target_system,
                         ", ".join(f"{target_table}.{t}" for t in rule.targets), note))
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(rows)
        return buffer.getvalue()
    if format == "markdown":
        return markdown_table(EXPORT_COLUMNS, rows, max_width=80) + "\n"
    raise ValueError(f"unknown format {format!r}; expected 'csv' or 'markdown'")
