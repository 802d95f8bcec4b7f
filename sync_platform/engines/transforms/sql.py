"""Small SQL-building helpers shared by the transform steps: literals and null/blank tests."""

from __future__ import annotations

from typing import Any


def literal(value: Any) -> str:
    """A Python value as a DuckDB SQL literal (strings quoted, None as NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def text(expr: str) -> str:
    """The value as VARCHAR (binds for every input type)."""
    return f"CAST({expr} AS VARCHAR)"


def clean_text(expr: str) -> str:
    """Trimmed text with inner whitespace collapsed; blank becomes NULL."""
    return f"NULLIF(regexp_replace(trim({text(expr)}), '\\s+', ' ', 'g'), '')"


def not_blank(expr: str) -> str:
    """True when the value carries something (not NULL, not only whitespace)."""
    return f"(NULLIF(trim({text(expr)}), '') IS NOT NULL)"


def lookup(mapping: dict[str, str], key_sql: str) -> str:
    """`mapping[key]` as a DuckDB MAP lookup (NULL when the key is absent)."""
    entries = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(mapping.items()))
    return f"(MAP {{{entries}}})[{key_sql}]"
