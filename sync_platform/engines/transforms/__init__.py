"""Transforms: the step vocabulary the mapping engine emits, compiled to DuckDB SQL.

`compile_rule(rule, column_sql)` gives a CompiledRule (SQL layers, one output expression per
target and checks with reasons); `register_udfs(con)` registers the Python UDFs the SQL uses
(phones, emails, names, addresses) on a connection; `validate_step(step)` raises ValueError for an
unknown kind or bad params; `TRANSFORM_KINDS` names every kind.
"""

from sync_platform.engines.transforms.compiler import (
    TRANSFORM_KINDS,
    compile_rule,
    layered_select,
    validate_step,
)
from sync_platform.engines.transforms.geo import country_code_sql, state_code_sql
from sync_platform.engines.transforms.model import Check, CompiledRule
from sync_platform.engines.transforms.steps import (
    SQL_TYPES,
    boolean_sql,
    datetime_sql,
    domain_from_email_sql,
    domain_from_url_sql,
)
from sync_platform.engines.transforms.udfs import register_udfs

__all__ = [
    "SQL_TYPES",
    "TRANSFORM_KINDS",
    "Check",
    "CompiledRule",
    "boolean_sql",
    "compile_rule",
    "country_code_sql",
    "datetime_sql",
    "domain_from_email_sql",
    "domain_from_url_sql",
    "layered_select",
    "register_udfs",
    "state_code_sql",
    "validate_step",
]
