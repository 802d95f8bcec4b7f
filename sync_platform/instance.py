"""The Dagster instance the CLI uses: $DAGSTER_HOME, or `<data>/dagster_home` made on demand.

The instance config is the project's `dagster.yaml` (local storage, one DuckDB writer pool) or,
with storage "postgres", `dagster.postgres.yaml` (dagster-postgres).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dagster import DagsterInstance

from sync_platform import settings

_FALLBACK = "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n"
_PG_DEFAULTS = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
                "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": "dagster"}


def ensure_dagster_home(storage: str = "local") -> Path:
    """Point DAGSTER_HOME at a folder holding the chosen instance config and return it.

    Local storage keeps a DAGSTER_HOME the user set; PostgreSQL storage uses its own folder.
    """
    if storage == "local":
        home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir() / "dagster_home")
    else:
        home = settings.data_dir() / "dagster_home_postgres"
        for key, value in _PG_DEFAULTS.items():
            os.environ.setdefault(key, value)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    template = Path.cwd() / ("dagster.yaml" if storage == "local" else "dagster.postgres.yaml")
    if storage != "local" or not config.exists():
        if template.is_file():
            shutil.copyfile(template, config)
        elif storage == "local":
            config.write_text(_FALLBACK, encoding="utf-8")
        else:
            raise FileNotFoundError(f"{template} not found: run from the project folder")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(storage: str = "local") -> DagsterInstance:
    ensure_dagster_home(storage)
    return DagsterInstance.get()
