"""The Dagster instance the CLI uses: $DAGSTER_HOME, or `<data>/dagster_home` made on demand.

The instance config is the project's `dagster.yaml` (local storage, one DuckDB writer pool) or,
with storage "postgres", `dagster.postgres.yaml` (the production instance: dagster-postgres, the
run queue, the pool) in `<data>/dagster_home_postgres`, the folder deploy/run.sh also uses when
DAGSTER_HOME is not set.

Backups of the warehouse file go through the instance too: `writers_paused` sets the
`duckdb_writer` pool to 0 slots and waits until no step holds one, so the copy is taken while
nothing writes (`python -m sync_platform.instance backup FOLDER`, `deploy/run.sh backup FOLDER`).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterInstance

from sync_platform import settings

WRITER_POOL = "duckdb_writer"

_FALLBACK = "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n"
PG_DEFAULTS = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
               "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": "dagster"}
TEMPLATES = {"local": "dagster.yaml", "postgres": "dagster.postgres.yaml"}


def instance_template(storage: str = "local") -> Path | None:
    """The instance config for `storage`: in the current folder (a project checkout), else
    beside the installed package (an editable install run from elsewhere)."""
    name = TEMPLATES[storage]
    for folder in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (folder / name).is_file():
            return folder / name
    return None


def ensure_dagster_home(storage: str = "local") -> Path:
    """Point DAGSTER_HOME at a folder holding the chosen instance config and return it.

    Local storage keeps a DAGSTER_HOME the user set (and a dagster.yaml already there);
    PostgreSQL storage uses its own folder and always takes the current dagster.postgres.yaml.
    """
    if storage not in TEMPLATES:
        raise ValueError(f"unknown Dagster storage {storage!r}; expected one of {', '.join(TEMPLATES)}")
    if storage == "local":
        home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir() / "dagster_home")
    else:
        home = settings.data_dir() / "dagster_home_postgres"
        for key, value in PG_DEFAULTS.items():
            os.environ.setdefault(key, value)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    template = instance_template(storage)
    if storage != "local" or not config.exists():
        if template is not None:
            shutil.copyfile(template, config)
        elif storage == "local":
            config.write_text(_FALLBACK, encoding="utf-8")
        else:
            raise FileNotFoundError(f"{TEMPLATES[storage]} not found: run from the project folder")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(storage: str = "local") -> DagsterInstance:
    ensure_dagster_home(storage)
    return DagsterInstance.get()


@contextmanager
def writers_paused(instance: DagsterInstance, pool: str = WRITER_POOL, timeout_s: float = 3600.0,
                   poll_s: float = 2.0) -> Iterator[None]:
    """Hold the warehouse still: no step of the pool may start, and the one running has finished.

    The pool's limit is set to 0 (queued runs and waiting steps stay waiting), then this waits
    until no slot is claimed; afterwards the limit is restored. Raises TimeoutError when a writer
    is still busy after `timeout_s` (the limit is restored then too).
    """
    storage = instance.event_log_storage
    info = storage.get_concurrency_info(pool)
    limit = info.limit if info.limit is not None else (instance.global_op_concurrency_default_limit or 1)
    storage.set_concurrency_slots(pool, 0)
    try:
        deadline = time.monotonic() + timeout_s
        while busy := storage.get_concurrency_info(pool).claimed_slots:
            if time.monotonic() > deadline:
                steps = ", ".join(f"{s.step_key} (run {s.run_id})" for s in busy)
                raise TimeoutError(f"pool {pool} still busy after {timeout_s:.0f} s: {steps}")
            time.sleep(poll_s)
        yield
    finally:
        storage.set_concurrency_slots(pool, limit)


@contextmanager
def _locked(warehouse: Path, patience_s: float = 60.0):
    """A write connection to the warehouse, waiting while another process briefly holds it."""
    import duckdb

    from sync_platform.engines.warehouse import connect

    deadline = time.monotonic() + patience_s
    while True:
        try:
            opened = connect(warehouse)
            con = opened.__enter__()
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        yield con
    finally:
        opened.__exit__(None, None, None)


def backup_warehouse(folder: Path | str, instance: DagsterInstance | None = None,
                     warehouse: Path | str | None = None, timeout_s: float = 3600.0) -> Path:
    """Copy the DuckDB warehouse to `folder/<name>-<UTC time>.duckdb` while writers are paused.

    The copy is made under the warehouse's own write lock after a CHECKPOINT (so it is complete
    and consistent even if something outside the pool, e.g. an alert sensor, wanted to write) and
    is opened read-only once to prove it is a readable database.
    """
    import duckdb

    from sync_platform.engines.catalog import load_catalog

    source = Path(warehouse) if warehouse else load_catalog(require_secrets=False).warehouse_path
    if not source.is_file():
        raise FileNotFoundError(f"no warehouse at {source}")
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = target_dir / f"{source.stem}-{stamp}.duckdb"
    partial = target.with_name(target.name + ".partial")
    owned = instance is None
    instance = instance or DagsterInstance.get()
    try:
        with writers_paused(instance, timeout_s=timeout_s), _locked(source) as con:
            con.execute("CHECKPOINT")
            shutil.copyfile(source, partial)
    finally:
        if owned:
            instance.dispose()
    with duckdb.connect(str(partial), read_only=True) as check:
        check.execute("SELECT count(*) FROM information_schema.tables").fetchall()
    os.replace(partial, target)
    return target


def main(argv: list[str]) -> int:
    """`python -m sync_platform.instance backup FOLDER` (the instance from $DAGSTER_HOME)."""
    if len(argv) != 2 or argv[0] != "backup":
        print("usage: python -m sync_platform.instance backup FOLDER", file=sys.stderr)
        return 2
    print(f"warehouse backed up to {backup_warehouse(argv[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
