"""Typing staged values: SQL that converts an expression of a known DuckDB type to a canonical
field type (string|integer|decimal|boolean|date|datetime). Datetimes become UTC TIMESTAMPs."""

from __future__ import annotations

from sync_platform.engines.transforms import SQL_TYPES, boolean_sql, datetime_sql
from sync_platform.engines.transforms.steps import date_sql

_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}
_NUMBERS = _INTEGERS | {"FLOAT", "DOUBLE", "REAL"}


def _numeric(duck_type: str) -> bool:
    return duck_type in _NUMBERS or duck_type.startswith("DECIMAL")


def convert_sql(expr: str, duck_type: str, field_type: str) -> str:
    """`expr` (of DuckDB type `duck_type`) as the SQL type of `field_type`; NULL when it does not
    convert (the caller reports non-NULL inputs that came out NULL)."""
    target = SQL_TYPES[field_type]
    duck_type = duck_type.upper()
    if duck_type == '"NULL"' or duck_type == "NULL":
        return f"CAST(NULL AS {target})"
    if field_type == "string":
        return expr if duck_type == "VARCHAR" else f"CAST({expr} AS VARCHAR)"
    if field_type == "boolean":
        return expr if duck_type == "BOOLEAN" else boolean_sql(expr, {})
    if field_type in ("integer", "decimal"):
        if _numeric(duck_type) or duck_type == "BOOLEAN":
            return f"TRY_CAST({expr} AS {target})"
        return f"TRY_CAST(NULLIF(trim(CAST({expr} AS VARCHAR)), '') AS {target})"
    if field_type == "date":
        if duck_type == "DATE":
            return expr
        if duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"CAST(timezone('UTC', {expr}) AS DATE)"
        if duck_type.startswith("TIMESTAMP"):
            return f"CAST({expr} AS DATE)"
        return date_sql(expr, {})
    # datetime
    if duck_type == "TIMESTAMP":
        return expr
    if duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"timezone('UTC', {expr})"
    if duck_type.startswith("TIMESTAMP") or duck_type == "DATE":
        return f"CAST({expr} AS TIMESTAMP)"
    return datetime_sql(expr, {})
