"""Where the platform keeps its files: mappings folder, data folder, Dagster home.

Every path is read from the environment at call time (never at import time), so one
install can serve any set of systems and tests can point a run at temporary folders.
"""

from __future__ import annotations

import os
from pathlib import Path

MAPPINGS_DIR_ENV = "SYNC_MAPPINGS_DIR"
DATA_DIR_ENV = "SYNC_DATA_DIR"
WAREHOUSE_ENV = "SYNC_WAREHOUSE"


def mappings_dir() -> Path:
    """The folder holding systems.yaml, entities/ and learned knowledge."""
    return Path(os.environ.get(MAPPINGS_DIR_ENV) or Path.cwd() / "mappings").resolve()


def data_dir() -> Path:
    """The folder for the warehouse, sandbox files and dlt state (created on demand)."""
    path = Path(os.environ.get(DATA_DIR_ENV) or Path.cwd() / "data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sandbox_dir() -> Path:
    return data_dir() / "sandbox"


def dlt_pipelines_dir() -> Path:
    """dlt's local working folder; state itself is restored from the warehouse each run."""
    return data_dir() / "dlt_pipelines"


def builtin_variables() -> dict[str, str]:
    """Variables that systems.yaml may reference even when the environment does not set them."""
    return {DATA_DIR_ENV: str(data_dir()), MAPPINGS_DIR_ENV: str(mappings_dir())}
