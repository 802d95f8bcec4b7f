"""The per-mapping staging query: raw table -> rules -> typing -> enrichment -> checks.

`build_mapping_query()` returns one SELECT over `raw_<system>.<table>` giving, per source row,
`__rowid`, `__source_id`, every canonical field (typed, enriched), `_enriched` (fields derived)
and `__issues` (list of {field, reason, raw_value, severity}). Severity: an invalid value or a
missing value in a required or identifier field is an 'error' (the record is rejected); an invalid
value in an optional field is a 'warning' (the value becomes NULL, the record is staged).

Each output row depends only on its own source row, with two exceptions the query reports for
incremental staging (stage.py): `outside` lists scalar SQL it reads besides the row (the time of
the latest load, when a record has no modified_at and the table no `_dlt_load_id`), and
`stable_source_id` is False when the source id is the row number (no key, no `_dlt_id`).
`rows=<relation of __rowid>` restricts the query to those rows of the raw table (same output
for them as the unrestricted query).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from sync_platform.engines.canonical import CanonicalEntity, CanonicalField, SystemMapping
from sync_platform.engines.staging.conversion import convert_sql
from sync_platform.engines.staging.enrichment import enrichment_sql
from sync_platform.engines.transforms import SQL_TYPES, CompiledRule, compile_rule, layered_select
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.warehouse import quote


@dataclass
class MappingQuery:
    sql: str
    notes: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # scalar SQL read besides the source row
    stable_source_id: bool = True  # False: the source id is the row number


def raw_relation(mapping: SystemMapping) -> str:
    return f"{quote('raw_' + mapping.source_system)}.{quote(mapping.source_table)}"


def _severity(fields: list[CanonicalField]) -> str:
    return "error" if any(f.required or f.identifier for f in fields) else "warning"


def _issue(condition: str, field_name: str, reason: str, raw: str, severity: str) -> str:
    return (f"CASE WHEN {condition} THEN {{'field': {literal(field_name)}, 'reason': {reason}, "
            f"'raw_value': CAST({raw} AS VARCHAR), 'severity': {literal(severity)}}} END")


def _fallback_modified(con: duckdb.DuckDBPyConnection, mapping: SystemMapping,
                       columns: set[str]) -> tuple[str, str | None]:
    """When the record has no modified_at: the time of the dlt load that landed it. Second:
    the scalar SQL read besides the row (the latest load time), if that is what it is."""
    if "_dlt_load_id" in columns:
        return ("(CASE WHEN TRY_CAST(_dlt_load_id AS DOUBLE) IS NOT NULL THEN "
                "make_timestamp(CAST(TRY_CAST(_dlt_load_id AS DOUBLE) * 1000000 AS BIGINT)) END)",
                None)
    loads = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = "
        "'_dlt_loads'", ["raw_" + mapping.source_system]).fetchall()[0][0]
    if not loads:
        return "CAST(NULL AS TIMESTAMP)", None
    latest = (f"(SELECT timezone('UTC', max(inserted_at)) FROM "
              f"{quote('raw_' + mapping.source_system)}._dlt_loads WHERE status = 0)")
    return latest, latest


def build_mapping_query(con: duckdb.DuckDBPyConnection, entity: CanonicalEntity,
                        mapping: SystemMapping, columns: set[str], key: list[str],
                        external_id: str | None = None, rows: str | None = None) -> MappingQuery:
    """The staging SELECT of `mapping` (see the module docstring); `rows`: a relation with a
    `__rowid` column, to stage only those rows of the raw table."""
    notes: list[str] = []
    stable_source_id = True
    fields = {f.name: f for f in entity.fields}
    compiled: list[tuple[int, CompiledRule]] = []
    for i, rule in enumerate(mapping.applied_rules()):
        unknown = [t for t in rule.targets if t not in fields]
        missing = [s for s in rule.sources if s not in columns]
        if unknown or missing:
            notes.append(f"rule {rule.sources}->{rule.targets} skipped: "
                         + (f"unknown target(s) {unknown}" if unknown else f"no column(s) {missing}"))
            continue
        try:
            compiled.append((i, compile_rule(rule, {c: quote(c) for c in rule.sources}, f"__r{i}_")))
        except ValueError as exc:
            notes.append(f"rule {rule.sources}->{rule.targets} skipped: {exc}")

    # 1. rules: pre-typed value per field (rules for the same target: first non-NULL, in order)
    outputs: dict[str, list[str]] = {}
    for _, rule in compiled:
        for target, expr in rule.outputs.items():
            outputs.setdefault(target, []).append(expr)
    for target, exprs in outputs.items():
        if len(exprs) > 1:
            notes.append(f"{len(exprs)} rules fill {target}: first non-NULL wins")
    pre = {name: (exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})")
           for name, exprs in outputs.items()}
    if key and all(k in columns for k in key):
        source_id = "concat_ws('|', " + ", ".join(f"CAST({quote(k)} AS VARCHAR)" for k in key) + ")"
    elif "_dlt_id" in columns:
        notes.append(f"no usable primary key {key}: source_id is dlt's _dlt_id")
        source_id = "_dlt_id"
    else:
        notes.append(f"no usable primary key {key}: source_id is the row number")
        source_id = "CAST(__rowid AS VARCHAR)"
        stable_source_id = False
    checks = [(c, rule_i) for rule_i, rule in compiled for c in rule.checks]
    platform_id = (f"nullif(trim(CAST({quote(external_id)} AS VARCHAR)), '')"
                   if external_id in columns else "CAST(NULL AS VARCHAR)")
    fallback, outside = _fallback_modified(con, mapping, columns)
    level1 = ["__rowid", f"{source_id} AS __source_id", f"{platform_id} AS __platform_id",
              f"{fallback} AS __fallback_modified"]
    level1 += [f"{pre[n]} AS {quote('__v_' + n)}" for n in pre]
    level1 += [f"{c.condition} AS __c{j}" for j, (c, _) in enumerate(checks)]
    level1 += [f"{c.raw_value} AS __raw{j}" for j, (c, _) in enumerate(checks)]
    only = f" WHERE rowid IN (SELECT __rowid FROM {rows})" if rows else ""
    base = f"(SELECT rowid AS __rowid, * FROM {raw_relation(mapping)}{only})"
    sql1 = layered_select(base, [rule for _, rule in compiled], level1)

    # 2. typing: convert each value to its field type (types learned by DESCRIBE)
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {sql1}").fetchall()}
    typed = {n: convert_sql(quote("__v_" + n), types["__v_" + n], fields[n].type) for n in pre}

    # 3. invalid values in optional fields become NULL (warning); required/identifier: error
    issues: list[str] = []
    nulled: dict[str, list[str]] = {}
    for j, (check, _) in enumerate(checks):
        hit = [fields[t] for t in check.targets]
        severity = _severity(hit)
        issues.append(_issue(f"__c{j}", ",".join(check.targets), literal(check.reason),
                             f"__raw{j}", severity))
        if severity == "warning":
            for t in check.targets:
                nulled.setdefault(t, []).append(f"__c{j}")
    for n in pre:
        failed = f"({quote('__v_' + n)} IS NOT NULL AND {quote('__t_' + n)} IS NULL)"
        issues.append(_issue(failed, n, literal(f"cannot convert to {fields[n].type}"),
                             quote("__v_" + n), _severity([fields[n]])))
        if _severity([fields[n]]) == "warning":
            nulled.setdefault(n, []).append(failed)
    level3 = {}
    for n in pre:
        conds = nulled.get(n, [])
        t = quote("__t_" + n)
        level3[n] = f"(CASE WHEN {' OR '.join(conds)} THEN NULL ELSE {t} END)" if conds else t
    for f in entity.fields:
        level3.setdefault(f.name, f"CAST(NULL AS {_sql_type(f)})")

    # 4. enrichment, modified_at fallback, is_deleted default
    value = {n: quote("__n_" + n) for n in fields}
    final = {n: value[n] for n in fields}
    derived: dict[str, str] = {}
    for name, expr in enrichment_sql(entity, value).items():
        final[name] = expr
        derived[name] = f"({value[name]} IS DISTINCT FROM {quote('__f_' + name)})"
    if "modified_at" in fields:
        final["modified_at"] = f"COALESCE({value['modified_at']}, __fallback_modified)"
        derived["modified_at"] = f"({value['modified_at']} IS NULL AND __fallback_modified IS NOT NULL)"
    if "is_deleted" in fields and fields["is_deleted"].type == "boolean":
        final["is_deleted"] = f"COALESCE({value['is_deleted']}, FALSE)"
    for f in entity.fields:
        if f.required:
            issues.append(_issue(f"{quote('__f_' + f.name)} IS NULL", f.name,
                                 literal("required field missing"), "NULL", "error"))
    enriched = ("list_filter([" + ", ".join(f"CASE WHEN {cond} THEN {literal(n)} END"
                                            for n, cond in derived.items())
                + "], lambda x: x IS NOT NULL)") if derived else "CAST([] AS VARCHAR[])"
    issue_list = ("list_filter([" + ", ".join(issues) + "], lambda x: x IS NOT NULL)")

    sql2 = _extend(sql1, "__t_", typed)
    sql4 = _extend(_extend(sql2, "__n_", level3), "__f_", final)
    out_cols = ["__rowid", "__source_id", "__platform_id"]
    out_cols += [f"CAST({quote('__f_' + f.name)} AS {_sql_type(f)}) AS {quote(f.name)}"
                 for f in entity.fields]
    out_cols += [f"{enriched} AS _enriched", f"{issue_list} AS __issues"]
    return MappingQuery(f"SELECT {', '.join(out_cols)} FROM ({sql4})", notes,
                        [outside] if outside and "modified_at" in fields else [], stable_source_id)


def _sql_type(f: CanonicalField) -> str:
    return SQL_TYPES[f.type]


def _extend(sql: str, prefix: str, columns: dict[str, str]) -> str:
    """`SELECT *, expr AS "<prefix><name>", ... FROM (sql)`."""
    if not columns:
        return sql
    items = ", ".join(f"{expr} AS {quote(prefix + name)}" for name, expr in columns.items())
    return f"SELECT *, {items} FROM ({sql})"
