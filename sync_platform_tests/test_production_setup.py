"""The production setup for real: the PostgreSQL instance file, its start commands, its secrets.

Each test that needs PostgreSQL creates its own database with a unique name at 127.0.0.1:5432
and drops it afterwards; they skip with the reason when no server is reachable.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from click.testing import CliRunner

from sync_platform_tests.conftest import REPO, fresh_postgres_database

PRODUCTION_CONFIG = REPO / "dagster.postgres.yaml"
ENV_TEMPLATE = REPO / "deploy" / "sync-platform.env.example"
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _dsn(database: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={database}"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test only, dropped afterwards."""
    name = f"sync_platform_test_{uuid.uuid4().hex[:12]}"
    fresh_postgres_database(name)  # skips when PostgreSQL is unreachable
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production_home(data_dir: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME holding the production instance file (as deploy/run.sh installs it), with
    the connection in the environment pointing at the fresh database."""
    for key, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
                       "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "",
                       "DAGSTER_PG_DB": pg_database}.items():
        monkeypatch.setenv(key, value)
    home = Path(os.environ["DAGSTER_HOME"])  # the data_dir fixture's temporary home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PRODUCTION_CONFIG, home / "dagster.yaml")
    return home


# ---------------------------------------------------------------- the instance file


def test_production_instance_is_postgres_with_a_run_queue_and_the_writer_pool(production_home):
    from dagster import DagsterInstance
    from dagster._core.instance.config import PoolGranularity
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    config = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    connection = config["storage"]["postgres"]["postgres_db"]
    # every connection setting, the password above all, comes from the environment
    assert all(isinstance(v, dict) and set(v) == {"env"} for k, v in connection.items() if k != "scheme")
    assert connection["password"] == {"env": "DAGSTER_PG_PASSWORD"}

    instance = DagsterInstance.get()
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        queue = concurrency.run_queue_config
        assert 1 <= queue.max_concurrent_runs <= 8
        assert queue.should_block_op_concurrency_limited_runs  # the queue honours pool slots
        # one warehouse writer: every step in pool duckdb_writer claims the one slot
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.pool_config.pool_granularity == PoolGranularity.OP
        assert instance.event_log_storage.supports_global_concurrency_limits
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()


def _secret_variables() -> set[str]:
    """Every environment variable mappings/systems.yaml names: `*_env` fields and ${VAR}."""
    found: set[str] = set()

    def walk(node, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            if key.endswith("_env"):
                found.add(node)
            found.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", node))

    walk(yaml.safe_load((REPO / "mappings" / "systems.yaml").read_text()))
    return found


def test_env_template_lists_every_secret_and_the_start_commands_use_one_script():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_TEMPLATE.read_text(), re.MULTILINE))
    needed = _secret_variables() | {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER",
                                    "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB", "DAGSTER_HOME",
                                    "SYNC_DATA_DIR", "SYNC_MAPPINGS_DIR"}
    missing = sorted(needed - listed)
    assert not missing, f"add to {ENV_TEMPLATE.relative_to(REPO)}: {missing}"
    # the template holds names, never values of secrets
    for line in ENV_TEMPLATE.read_text().splitlines():
        if re.match(r"^[A-Z_]*(TOKEN|PASSWORD)=", line):
            assert line.split("=", 1)[1] == "", line

    makefile = (REPO / "Makefile").read_text()
    for command in ("daemon", "webserver"):
        assert f"deploy/run.sh {command}" in makefile
        unit = (REPO / "deploy" / "systemd" / f"sync-platform-{command}.service").read_text()
        assert re.search(rf"^ExecStart=\S*deploy/run.sh {command}$", unit, re.MULTILINE), unit
        assert "EnvironmentFile=" in unit
    script = (REPO / "deploy" / "run.sh").read_text()
    assert "dagster.postgres.yaml" in script and os.access(REPO / "deploy" / "run.sh", os.X_OK)


# ---------------------------------------------------------------- the demo on PostgreSQL


def test_full_demo_runs_with_postgres_instance_storage(data_dir, mappings_dir, production_home,
                                                       pg_database, monkeypatch):
    """`sync-platform demo` end to end (landing, resolve, push, following the edits) with the
    production instance file as $DAGSTER_HOME/dagster.yaml: every run and materialization is in
    the fresh PostgreSQL database and nothing in local SQLite."""
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    from sync_platform.cli import main
    from sync_platform_tests.test_cli import assert_demo_outcome

    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(main, ["demo", "--size", "120"], catch_exceptions=False)
    print(result.output)  # shown with the failure (or with pytest -rP)
    assert result.exit_code == 0, result.output
    assert "3rd landing" in result.output and "reconciliation and push-out" in result.output
    assert "pushed after the edits" in result.output  # the follow-the-edits part ran too
    assert_demo_outcome(result.output, data_dir)

    instance = DagsterInstance.get()
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        runs = instance.get_runs()
        jobs = Counter(run.job_name for run in runs)
        # three landings, resolve, push_all, then the runs that followed the edits
        assert jobs["land_all"] == 3 and jobs["resolve"] == 1 and jobs["push_all"] == 1, jobs
        assert jobs["__ASSET_JOB"] >= 2, jobs
        failed = [(r.job_name, r.run_id) for r in runs if r.status != DagsterRunStatus.SUCCESS]
        assert not failed, failed
        materialized = {key.to_user_string() for key in instance.get_asset_keys()
                        if instance.get_latest_materialization_event(key) is not None}
    finally:
        instance.dispose()
    for stage in ("raw_", "profile/", "staged/", "golden/", "recon/", "push/"):
        assert any(key.startswith(stage) for key in materialized), (stage, sorted(materialized))
    assert {"mapping/system_mappings", "published/warehouse", "ops/health"} <= materialized

    with psycopg.connect(_dsn(pg_database)) as con:
        stored_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        events = dict(con.execute(
            "SELECT dagster_event_type, count(*) FROM event_logs GROUP BY 1").fetchall())
        keys = {row[0] for row in con.execute("SELECT asset_key FROM asset_keys").fetchall()}
        checks = dict(con.execute(
            "SELECT check_name, count(*) FROM asset_check_executions GROUP BY 1").fetchall())
        pools = dict(con.execute(
            'SELECT concurrency_key, "limit" FROM concurrency_limits').fetchall())
    assert stored_runs == len(runs)
    assert events[DagsterEventType.ASSET_MATERIALIZATION.value] >= len(materialized)
    assert events[DagsterEventType.RUN_SUCCESS.value] == len(runs)
    assert len(keys) >= len(materialized)
    # the gates ran and were recorded in PostgreSQL: golden, recon and push checks
    assert checks.get("golden_ids_unique") and checks.get("no_volume_drop") and checks.get("verified")
    # the one-writer pool lives in the instance too (steps claimed its slot)
    assert pools == {"duckdb_writer": 1}
    # nothing went to a local SQLite instance
    assert not list(production_home.rglob("*.db")), list(production_home.rglob("*.db"))


# ---------------------------------------------------------------- warehouse backups


def test_backup_waits_for_the_writer_then_copies_a_readable_warehouse(production_home, tmp_path):
    """`deploy/run.sh backup` pauses the duckdb_writer pool through the PostgreSQL instance: no
    new writer starts, the running one finishes, the copy is taken, the limit comes back."""
    import threading
    import time

    import duckdb
    from dagster import DagsterInstance

    from sync_platform.instance import WRITER_POOL, backup_warehouse

    backups, warehouse_copy = tmp_path / "backups", tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("CREATE SCHEMA raw_crm; CREATE TABLE raw_crm.contacts AS SELECT range AS id FROM range(1000)")
    instance = DagsterInstance.get()
    storage = instance.event_log_storage
    try:
        storage.initialize_concurrency_limit_to_default(WRITER_POOL)  # as the first run does
        assert storage.claim_concurrency_slot(WRITER_POOL, "run-a", "land_crm").is_claimed
        with pytest.raises(TimeoutError, match="land_crm"):  # a writer that does not finish
            backup_warehouse(backups, instance, warehouse_copy, timeout_s=1)
        assert storage.get_concurrency_info(WRITER_POOL).slot_count == 1  # limit restored

        done: dict = {}
        worker = threading.Thread(target=lambda: done.update(
            path=backup_warehouse(backups, instance, warehouse_copy, timeout_s=60)))
        worker.start()
        time.sleep(3)
        assert worker.is_alive() and not list(backups.glob("*.duckdb"))  # waits for the writer
        # meanwhile no other writer may start
        assert not storage.claim_concurrency_slot(WRITER_POOL, "run-b", "land_hr").is_claimed
        storage.free_concurrency_slots_for_run("run-a")  # the running writer finishes
        worker.join(60)
        assert not worker.is_alive() and done["path"].is_file()
        info = storage.get_concurrency_info(WRITER_POOL)
        assert info.slot_count == 1  # writers may go again (the waiting step gets the slot)
        storage.free_concurrency_slots_for_run("run-b")
    finally:
        instance.dispose()
    with duckdb.connect(str(warehouse_copy), read_only=True) as a, \
            duckdb.connect(str(done["path"]), read_only=True) as b:
        query = "SELECT count(*) FROM raw_crm.contacts"
        assert a.execute(query).fetchall() == b.execute(query).fetchall() != [(0,)]
    assert not list(backups.glob("*.partial"))


# ---------------------------------------------------------------- daemon + webserver


STOP_AUTOMATION = """
{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
    ... on RepositoryLocation { repositories {
        sensors { id name sensorState { status } }
        schedules { id name scheduleState { status } } } } } } } } }
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) { __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on Error { message } } }
"""
INSTANCE = """
{ instance { runQueuingSupported runQueueConfig { maxConcurrentRuns isOpConcurrencyAware }
    concurrencyLimit(concurrencyKey: "duckdb_writer") { limit slotCount }
    daemonHealth { allDaemonStatuses { daemonType required healthy } } } }
"""


def _start(command: str, env: dict[str, str], log: Path):
    import subprocess

    with open(log, "wb") as out:
        return subprocess.Popen([str(REPO / "deploy" / "run.sh"), command], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(condition, timeout_s: float, what: str, logs: list[Path]):
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def _step_window(instance, run_id: str) -> tuple[float, float]:
    from dagster import DagsterEventType

    def times(kind):
        return [r.event_log_entry.timestamp for r in instance.get_records_for_run(run_id, of_type=kind).records]

    return min(times(DagsterEventType.STEP_START)), max(times(DagsterEventType.STEP_SUCCESS))


def test_daemon_and_webserver_start_commands_run_queued_landings_on_postgres(
        sandbox, production_home, pg_database, tmp_path):
    """deploy/run.sh webserver + daemon (the make targets' and systemd units' command) with the
    secrets in an env file: two landing runs launched from the UI's API go through the run
    queue, the daemon launches them, their warehouse writes never overlap, PostgreSQL has it all."""
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    from sync_platform_tests.defs.test_dagster_ui import (
        Webserver,
        free_port,
        stop_process_group,
        wait_for_location,
    )

    port = free_port()
    env_file = tmp_path / "sync-platform.env"  # as /etc/sync-platform/sync-platform.env would be
    env_file.write_text(f"DAGSTER_PG_DB={pg_database}\nDAGSTER_WEBSERVER_PORT={port}\n"
                        "DAGSTER_WEBSERVER_HOST=127.0.0.1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_PG_DB", "PYTEST_CURRENT_TEST")}
    env["SYNC_ENV_FILE"] = str(env_file)
    logs = [tmp_path / "webserver.log", tmp_path / "daemon.log"]
    server = Webserver(f"http://127.0.0.1:{port}", env, Path(env["SYNC_MAPPINGS_DIR"]), logs[0])
    processes = [_start("webserver", env, logs[0])]
    try:
        location = wait_for_location(server, processes[0])
        # a controlled test: the sensors and schedules that would start work of their own are
        # stopped before the daemon starts (the alert sensors keep running, as in production)
        instigators = server.graphql(STOP_AUTOMATION)["workspaceOrError"]["locationEntries"][0]
        [repo] = instigators["locationOrLoadError"]["repositories"]
        for s in repo["sensors"]:
            if s["name"] in ("source_freshness", "automation") and s["sensorState"]["status"] == "RUNNING":
                server.graphql(f'mutation {{ stopSensor(id: "{s["id"]}") {{ __typename }} }}')
        for s in repo["schedules"]:
            if s["scheduleState"]["status"] == "RUNNING":
                server.graphql(f'mutation {{ stopRunningSchedule(id: "{s["id"]}") {{ __typename }} }}')

        processes.append(_start("daemon", env, logs[1]))

        def daemons_healthy():
            statuses = server.graphql(INSTANCE)["instance"]["daemonHealth"]["allDaemonStatuses"]
            healthy = {d["daemonType"] for d in statuses if d["healthy"]}
            return healthy >= {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "ASSET"} and healthy

        _wait(daemons_healthy, 120, "healthy daemons", logs)
        info = server.graphql(INSTANCE)["instance"]
        assert info["runQueuingSupported"] and info["runQueueConfig"]["isOpConcurrencyAware"]
        assert info["concurrencyLimit"]["limit"] == 1  # the pool's default limit (slots made on first use)

        run_ids = []
        for system in ("hr", "payroll"):
            params = {"selector": {"repositoryLocationName": location["name"],
                                   "repositoryName": "__repository__", "jobName": "land_all",
                                   "assetSelection": [{"path": [f"raw_{system}", "employees"]}]},
                      "mode": "default",
                      "executionMetadata": {"tags": [{"key": "sync/system", "value": system}]}}
            launched = server.graphql(LAUNCH, {"params": params})["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            run_ids.append(launched["run"]["runId"])

        instance = DagsterInstance.get()
        try:
            def finished():
                runs = [instance.get_run_by_id(r) for r in run_ids]
                return all(r.is_finished for r in runs) and runs

            runs = _wait(finished, 240, "both landing runs to finish", logs)
            for run in runs:
                failures = [str(r.event_log_entry.dagster_event.event_specific_data) for r in
                            instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_FAILURE).records]
                assert run.status == DagsterRunStatus.SUCCESS, (run.job_name, failures)
                kinds = {r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(run.run_id).records}
                assert {DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING} <= kinds  # via the queue
            assert instance.event_log_storage.get_concurrency_info("duckdb_writer").slot_count == 1
            # the one-writer pool held across runs: the second landing waited for the first
            first, second = sorted(_step_window(instance, r.run_id) for r in runs)
            assert first[1] <= second[0], f"two warehouse writers at once: {first} {second}"
        finally:
            instance.dispose()
    finally:
        for process in reversed(processes):
            stop_process_group(process)

    with psycopg.connect(_dsn(pg_database)) as con:
        stored = con.execute("SELECT count(*) FROM runs WHERE run_id = ANY(%s) AND status = 'SUCCESS'",
                             [run_ids]).fetchone()[0]
        keys = {row[0] for row in con.execute("SELECT asset_key FROM asset_keys").fetchall()}
        heartbeats = {row[0] for row in con.execute("SELECT daemon_type FROM daemon_heartbeats").fetchall()}
    assert stored == 2
    assert {'["raw_hr", "employees"]', '["raw_payroll", "employees"]'} <= keys
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "ASSET"} <= heartbeats


def test_every_job_starts_its_steps_from_a_forkserver(mappings_dir):
    """Runs launched by the daemon (jobs, schedules, sensors, automation) start their steps from
    one forkserver that imported the code location, not a fresh interpreter per step. The
    daemon test above runs real landings through it."""
    from dagster import RepositoryDefinition

    from sync_platform.defs import EXECUTOR, build_definitions

    defs = build_definitions(mappings_dir)
    repo: RepositoryDefinition = defs.get_repository_def()
    jobs = [job for job in repo.get_all_jobs() if not job.name.startswith("__ASSET_JOB")]
    assert {"land_all", "understand", "resolve", "reconcile", "push_all", "sync"} <= {j.name for j in jobs}
    for job in repo.get_all_jobs():  # the implicit asset jobs (automation, UI launches) too
        assert job.executor_def.name == EXECUTOR.name, job.name
    assert EXECUTOR.name == "multiprocess_forkserver"
