"""`${VAR}` and `${VAR:-default}` references in config values, resolved from the environment.

Innermost references resolve first, so a default may itself reference a variable:
`${ACCOUNTING_DATABASE_URL:-sqlite:///${SYNC_DATA_DIR}/sandbox/accounting.sqlite}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^${}]*))?\}")


class UnsetVariable(Exception):
    def __init__(self, name: str):
        super().__init__(f"environment variable {name} is not set and has no default")
        self.name = name


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Resolve every reference in one string; raise UnsetVariable for a missing one."""
    while True:
        match = _REFERENCE.search(value)
        if match is None:
            return value
        name, default = match.group(1), match.group(2)
        resolved = variables.get(name) or default
        if resolved is None:
            raise UnsetVariable(name)
        value = value[: match.start()] + resolved + value[match.end() :]


def interpolate_tree(
    data: Any, variables: Mapping[str, str], path: str = ""
) -> tuple[Any, list[tuple[str, str]]]:
    """Resolve references in every string of a parsed YAML tree; returns (tree, problems)."""
    problems: list[tuple[str, str]] = []
    if isinstance(data, str):
        try:
            return interpolate(data, variables), problems
        except UnsetVariable as exc:
            return data, [(path, str(exc))]
    if isinstance(data, dict):
        out = {}
        for key, item in data.items():
            out[key], found = interpolate_tree(item, variables, f"{path}.{key}" if path else str(key))
            problems += found
        return out, problems
    if isinstance(data, list):
        items = []
        for index, item in enumerate(data):
            resolved, found = interpolate_tree(item, variables, f"{path}[{index}]")
            items.append(resolved)
            problems += found
        return items, problems
    return data, problems
