"""The running sandbox's connection variables, shared with other processes through a file.

`sync-platform sandbox start` writes `<data>/sandbox/sandbox.env` (URLs and the sandbox's own
throwaway tokens); the CLI, `dagster dev` and run workers read it so that they reach the sandbox
without any setup. Variables already set in the environment always win.
"""

from __future__ import annotations

import os
from pathlib import Path

from sync_platform import settings


def sandbox_env_path() -> Path:
    return settings.sandbox_dir() / "sandbox.env"


def write_sandbox_env(env: dict[str, str]) -> Path:
    path = sandbox_env_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())), encoding="utf-8")
    return path


def read_sandbox_env() -> dict[str, str]:
    path = sandbox_env_path()
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def load_sandbox_env() -> dict[str, str]:
    """Put the sandbox's variables into os.environ where not already set; returns what was added."""
    added = {k: v for k, v in read_sandbox_env().items() if k not in os.environ}
    os.environ.update(added)
    return added
