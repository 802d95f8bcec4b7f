"""The one error type for bad configuration: it names the file, the path inside it and the problem."""

from __future__ import annotations

from pathlib import Path


class CatalogError(Exception):
    """Configuration that cannot be used. `problems` lists (path inside the file, message)."""

    def __init__(self, file: Path | str, problems: list[tuple[str, str]]):
        self.file = str(file)
        self.problems = problems
        lines = [f"{self.file}: {path or '<top>'}: {message}" for path, message in problems]
        super().__init__("invalid configuration\n" + "\n".join(lines))
