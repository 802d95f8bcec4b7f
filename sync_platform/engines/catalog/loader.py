"""Read `systems.yaml`: parse YAML, resolve `${VAR}` references, validate, check secrets exist.

Every problem is reported as `file: path.inside.file: what is wrong`, all at once, and nothing
is written anywhere while loading.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sync_platform import settings
from sync_platform.engines.catalog.errors import CatalogError
from sync_platform.engines.catalog.interpolation import interpolate_tree
from sync_platform.engines.catalog.models import Catalog

M = TypeVar("M", bound=BaseModel)

# Discriminator tags pydantic puts into error locations; they are not part of the file's path.
_UNION_TAGS = {"rest", "sql", "files", "bearer", "api_key", "basic"}


def _format_location(loc: tuple) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
            continue
        if part in _UNION_TAGS and index > 0 and loc[index - 1] not in ("systems",):
            continue
        if str(part).startswith("function-"):
            continue
        parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _describe(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown field (not allowed here; check the spelling)"
    if error["type"] == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        expected = error.get("ctx", {}).get("expected_tags")
        return f"unknown kind {tag!r}; expected one of {expected}"
    return message


# libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python one took
# ~0.5 s of every process that reads the mappings folder (catalog, entities, mappings, rules).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(file: Path) -> Any:
    """Parse a YAML file (safe loader); malformed YAML is a CatalogError naming the line and
    column. Every YAML file of the mappings folder is read through here."""
    try:
        return yaml.load(file.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(file, [(where, f"malformed YAML: {problem}")]) from None


def validate_model(file: Path, model: type[M], data: Any) -> M:
    """Validate parsed data; every problem becomes `file: path.in.file: what is wrong`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(
            file, [(_format_location(e["loc"]), _describe(e)) for e in exc.errors()]
        ) from None


def load_catalog(mappings_dir: Path | None = None, require_secrets: bool = True) -> Catalog:
    """Load and validate `<mappings_dir>/systems.yaml` (default: the configured mappings folder)."""
    folder = Path(mappings_dir) if mappings_dir else settings.mappings_dir()
    file = folder / "systems.yaml"
    if not file.is_file():
        raise CatalogError(file, [("", "file not found")])
    raw = read_yaml(file)
    if not isinstance(raw, dict):
        raise CatalogError(file, [("", "expected a mapping at the top level")])

    variables = {**settings.builtin_variables(), **os.environ}
    data, problems = interpolate_tree(raw, variables)
    if problems:
        raise CatalogError(file, problems)
    catalog = validate_model(file, Catalog, data)
    catalog.source_file = file
    if require_secrets:
        missing = [
            (path, f"environment variable {name} is not set")
            for path, name in catalog.secret_references()
            if not os.environ.get(name)
        ]
        if missing:
            raise CatalogError(file, missing)
    return catalog
