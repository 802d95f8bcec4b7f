"""Persistence of profiles and relationships in the warehouse: `meta.column_profiles` and
`meta.relationships` (lists stored as JSON text)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import duckdb

from sync_platform.engines.canonical import SemanticType
from sync_platform.engines.profiling.models import ColumnProfile, Relationship
from sync_platform.engines.warehouse import table_exists

PROFILES_DDL = """
CREATE TABLE IF NOT EXISTS meta.column_profiles (
  system VARCHAR, table_name VARCHAR, column_name VARCHAR, data_type VARCHAR,
  row_count BIGINT, sampled BOOLEAN, sample_size BIGINT, null_count BIGINT, null_rate DOUBLE,
  distinct_count BIGINT, uniqueness DOUBLE, min_value VARCHAR, max_value VARCHAR,
  min_length BIGINT, max_length BIGINT, avg_length DOUBLE, top_values VARCHAR,
  semantic_type VARCHAR, semantic_confidence DOUBLE, value_format VARCHAR, pattern VARCHAR,
  sample_values VARCHAR, profiled_at TIMESTAMP
)"""
RELATIONSHIPS_DDL = """
CREATE TABLE IF NOT EXISTS meta.relationships (
  from_system VARCHAR, from_table VARCHAR, from_column VARCHAR, to_system VARCHAR,
  to_table VARCHAR, to_column VARCHAR, kind VARCHAR, coverage DOUBLE, from_distinct BIGINT,
  evidence VARCHAR, confidence DOUBLE, discovered_at TIMESTAMP
)"""
PROFILE_FIELDS = [f.name for f in fields(ColumnProfile)]
RELATIONSHIP_FIELDS = [f.name for f in fields(Relationship)]


def write_profiles(con: duckdb.DuckDBPyConnection, profiles: list[ColumnProfile], system: str,
                   tables: list[str]) -> None:
    """Replace the rows of `system`'s `tables` in meta.column_profiles with `profiles`."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(PROFILES_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        _replace_profiles(con, profiles, system, tables)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _replace_profiles(con: duckdb.DuckDBPyConnection, profiles: list[ColumnProfile], system: str,
                      tables: list[str]) -> None:
    con.execute("DELETE FROM meta.column_profiles WHERE system = ? AND list_contains(?, "
                "table_name)", [system, tables])
    rows = []
    for p in profiles:
        row = asdict(p)
        row["top_values"] = json.dumps([[v, c] for v, c in p.top_values])
        row["sample_values"] = json.dumps(p.sample_values)
        row["semantic_type"] = str(p.semantic_type)
        rows.append([row[f] for f in PROFILE_FIELDS])
    if rows:
        marks = ", ".join("?" for _ in PROFILE_FIELDS)
        con.executemany(f"INSERT INTO meta.column_profiles ({', '.join(PROFILE_FIELDS)}, "
                        f"profiled_at) VALUES ({marks}, now()::TIMESTAMP)", rows)


def read_profiles(con: duckdb.DuckDBPyConnection, system: str | None = None) -> list[ColumnProfile]:
    if not table_exists(con, "meta", "column_profiles"):
        return []
    where, params = ("WHERE system = ?", [system]) if system else ("", [])
    result = con.sql(f"SELECT {', '.join(PROFILE_FIELDS)} FROM meta.column_profiles {where} "
                     "ORDER BY system, table_name, rowid", params=params).fetchall()
    profiles = []
    for values in result:
        row = dict(zip(PROFILE_FIELDS, values, strict=True))
        row["top_values"] = [(v, int(c)) for v, c in json.loads(row["top_values"] or "[]")]
        row["sample_values"] = json.loads(row["sample_values"] or "[]")
        row["semantic_type"] = SemanticType(row["semantic_type"])
        profiles.append(ColumnProfile(**row))
    return profiles


def write_relationships(con: duckdb.DuckDBPyConnection, relationships: list[Relationship],
                        systems: list[str] | None = None) -> None:
    """Replace meta.relationships (only rows starting in `systems`, when given)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(RELATIONSHIPS_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        if systems is None:
            con.execute("DELETE FROM meta.relationships")
        else:
            con.execute("DELETE FROM meta.relationships WHERE list_contains(?, from_system)",
                        [systems])
        rows = [[asdict(r)[f] for f in RELATIONSHIP_FIELDS] for r in relationships]
        if rows:
            marks = ", ".join("?" for _ in RELATIONSHIP_FIELDS)
            con.executemany(f"INSERT INTO meta.relationships ({', '.join(RELATIONSHIP_FIELDS)}, "
                            f"discovered_at) VALUES ({marks}, now()::TIMESTAMP)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def read_relationships(con: duckdb.DuckDBPyConnection) -> list[Relationship]:
    if not table_exists(con, "meta", "relationships"):
        return []
    result = con.sql(f"SELECT {', '.join(RELATIONSHIP_FIELDS)} FROM meta.relationships "
                     "ORDER BY kind DESC, from_system, from_table, from_column").fetchall()
    return [Relationship(**dict(zip(RELATIONSHIP_FIELDS, r, strict=True))) for r in result]


# -- what each stored profile was computed from (incremental profiling) ----------------------

PROFILED_TABLES_DDL = """
CREATE TABLE IF NOT EXISTS meta.profiled_tables (
  system VARCHAR, table_name VARCHAR, row_count BIGINT, columns VARCHAR,
  profiler_version INTEGER, reason VARCHAR, profiled_at TIMESTAMP
)"""
# one 64-bit hash per landed row (its values but dlt's own columns) when the table was profiled
ROW_HASHES_DDL = """
CREATE TABLE IF NOT EXISTS meta.profiled_row_hashes (
  system VARCHAR, table_name VARCHAR, row_hash UBIGINT
)"""


def read_profiled_tables(con: duckdb.DuckDBPyConnection, system: str) -> dict[str, dict]:
    """The stored state of `system`'s profiled tables, by table name."""
    if not table_exists(con, "meta", "profiled_tables"):
        return {}
    rows = con.execute("SELECT table_name, row_count, columns, profiler_version, profiled_at "
                       "FROM meta.profiled_tables WHERE system = ?", [system]).fetchall()
    return {r[0]: {"row_count": r[1], "columns": [tuple(c) for c in json.loads(r[2] or "[]")],
                   "profiler_version": r[3], "profiled_at": r[4]} for r in rows}


def write_profile_state(con: duckdb.DuckDBPyConnection, profiles: list[ColumnProfile],
                        system: str, tables: list[str], state: list[dict],
                        hashes: dict[str, str]) -> None:
    """In one transaction: replace the profiles of `tables` (as write_profiles) and what they
    were computed from: a `meta.profiled_tables` row per table (`state`: table_name,
    row_count, columns, profiler_version, reason, profiled_at in naive UTC) and its row hashes
    (`hashes`: table -> a temp table of `row_hash`)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(PROFILES_DDL)
    con.execute(PROFILED_TABLES_DDL)
    con.execute(ROW_HASHES_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        _replace_profiles(con, profiles, system, tables)
        con.execute("DELETE FROM meta.profiled_tables WHERE system = ? AND list_contains(?, "
                    "table_name)", [system, tables])
        con.execute("DELETE FROM meta.profiled_row_hashes WHERE system = ? AND list_contains(?, "
                    "table_name)", [system, tables])
        for s in state:
            con.execute("INSERT INTO meta.profiled_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [system, s["table_name"], s["row_count"], json.dumps(s["columns"]),
                         s["profiler_version"], s["reason"], s["profiled_at"]])
            if s["table_name"] in hashes:
                con.execute(f"INSERT INTO meta.profiled_row_hashes SELECT ?, ?, row_hash "
                            f"FROM {hashes[s['table_name']]}", [system, s["table_name"]])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
