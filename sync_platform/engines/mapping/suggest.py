"""Ad hoc suggestions: map any file or table to another, or to a canonical entity, in memory.

A source/target is a CSV/TSV, Parquet or JSON(L) file path, `path.duckdb::schema.table`, or (target
only) a canonical entity name. Both sides are profiled in an in-memory DuckDB (files are read as
text, as the platform lands them; profiling decides the types) and scored like landed tables,
using what the platform learned under `mappings_dir`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from sync_platform.engines.canonical import load_entities
from sync_platform.engines.mapping.features import targets_from_entity, targets_from_profiles
from sync_platform.engines.mapping.knowledge import Knowledge
from sync_platform.engines.mapping.scoring import Candidate, score_table
from sync_platform.engines.warehouse import quote

MAX_ALTERNATIVES = 2  # per target field, besides the accepted assignment


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relation_for(con: duckdb.DuckDBPyConnection, spec: str, alias: str) -> tuple[str, str]:
    """(relation SQL for profile_relation, table name) of a file or `db.duckdb::schema.table`."""
    if "::" in spec:
        path, table = spec.split("::", 1)
        con.execute(f"attach {_literal(str(Path(path).expanduser()))} as {quote(alias)} (read_only)")
        parts = table.split(".")
        return ".".join(quote(p) for p in [alias, *parts]), parts[-1]
    path = Path(spec).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{spec}: no such file (expected a CSV/Parquet/JSON file, "
                                f"'file.duckdb::schema.table' or an entity name)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        reader = f"read_csv_auto({_literal(str(path))}, all_varchar = true)"
    elif suffix == ".parquet":
        reader = f"read_parquet({_literal(str(path))})"
    elif suffix in (".json", ".jsonl", ".ndjson"):
        reader = f"read_json_auto({_literal(str(path))})"
    else:
        raise ValueError(f"{spec}: unsupported file type {suffix!r}")
    return f"(select * from {reader})", path.stem


def _profiles(con: duckdb.DuckDBPyConnection, spec: str, alias: str) -> list[Any]:
    from sync_platform.engines.profiling import profile_relation

    relation, table = relation_for(con, spec, alias)
    return list(profile_relation(con, relation, alias, table))


def as_dict(c: Candidate) -> dict:
    return {
        "source_field": c.sources[0] if len(c.sources) == 1 else list(c.sources),
        "target_field": c.targets[0] if len(c.targets) == 1 else list(c.targets),
        "kind": c.kind,
        "confidence": round(c.confidence, 4),
        "accepted": c.accepted,
        "rank": c.rank,
        "evidence": c.evidence,
        "transform": [s.model_dump() for s in c.transform],
    }


def suggest(source: str, target: str, mappings_dir: Path | str | None = None) -> list[dict]:
    """Proposals best first: the one-to-one assignment, then up to two alternatives per field."""
    knowledge = Knowledge.load(mappings_dir)
    entities = load_entities(mappings_dir)
    con = duckdb.connect(":memory:")
    try:
        source_profiles = _profiles(con, source, "source")
        if target in entities and not Path(target).exists():
            entity = entities[target]
            targets, scope = targets_from_entity(entity, knowledge), entity.entity
        else:
            targets, scope = targets_from_profiles(_profiles(con, target, "target")), ""
    finally:
        con.close()
    candidates = score_table(source_profiles, targets, entity=scope, knowledge=knowledge)
    keep = [c for c in candidates if c.accepted or c.rank <= MAX_ALTERNATIVES]
    keep.sort(key=lambda c: (not c.accepted, -c.confidence, c.sources, c.targets))
    return [as_dict(c) for c in keep]
