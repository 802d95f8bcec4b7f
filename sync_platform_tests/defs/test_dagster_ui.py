"""The Dagster UI for real: `dagster-webserver` serves the project's workspace.yaml.

One webserver per module (a subprocess on a free loopback port, with a temporary DAGSTER_HOME and
the test data and mappings folders). The GraphQL API must list every stage's assets, the quality
gates, the sensors and the schedules that the definitions declare. Headless Chromium then opens
the asset graph with every group expanded and saves `test-artifacts/dagster_asset_graph.png`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from sync_platform_tests.browser import artifact, chromium_page  # noqa: F401
from sync_platform_tests.conftest import REPO, handwritten_mappings

LOAD_TIMEOUT_S = 120  # the code location loads in ~10 s on 2 idle cores

WORKSPACE_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename
          ... on PythonError { message stack }
          ... on RepositoryLocation { name repositories { name
              assetNodes { assetKey { path } groupName isMaterializable pools
                assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } } }
              sensors { name sensorType defaultStatus }
              schedules { name cronSchedule pipelineName defaultStatus }
              jobs { name } } } } } }
    ... on PythonError { message } } }
"""


@dataclass
class Webserver:
    url: str
    env: dict[str, str]
    mappings: Path
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                 timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def executable(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def wait_for_location(server: Webserver, process: subprocess.Popen,
                      timeout_s: float = LOAD_TIMEOUT_S) -> dict:
    """Poll GraphQL until the code location has loaded; return it (fail on a load error)."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, f"dagster-webserver exited:\n{server.log_tail()}"
        assert time.monotonic() < deadline, f"code location not loaded:\n{server.log_tail()}"
        location = _location(server)
        if location is not None:
            return location
        time.sleep(0.5)


def _location(server: Webserver) -> dict | None:
    """The code location once it has loaded (None while it is still loading)."""
    try:
        data = server.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    except requests.RequestException:
        return None  # not listening yet
    assert data["__typename"] == "Workspace", data
    [entry] = data["locationEntries"]
    loaded = entry["locationOrLoadError"]
    if loaded is None:
        return None
    assert loaded["__typename"] == "RepositoryLocation", \
        loaded.get("message", "") + "".join(loaded.get("stack") or [])[-2000:]
    return loaded


def stop_process_group(process: subprocess.Popen) -> None:
    """End the webserver and its code server (own process group, started by this module)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):  # the code server may outlive its parent
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Webserver, dict]]:
    """A running dagster-webserver with the code location loaded, and that location."""
    root = tmp_path_factory.mktemp("dagster_ui")
    data, home = root / "data", root / "dagster_home"
    data.mkdir()
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    mappings = handwritten_mappings(root / "mappings")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_") and k != "SYNC_WAREHOUSE"}
    env.update(SYNC_DATA_DIR=str(data), SYNC_MAPPINGS_DIR=str(mappings), DAGSTER_HOME=str(home))
    server = Webserver(f"http://127.0.0.1:{free_port()}", env, mappings, root / "webserver.log")
    with open(server.log, "wb") as log:
        process = subprocess.Popen(
            [executable("dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
             "-p", server.url.rsplit(":", 1)[1]],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield server, wait_for_location(server, process)
    finally:
        stop_process_group(process)


def _expected(server: Webserver, monkeypatch: pytest.MonkeyPatch):
    """The definitions as this process builds them from the same catalog and mappings."""
    for name in ("SYNC_DATA_DIR", "SYNC_MAPPINGS_DIR"):
        monkeypatch.setenv(name, server.env[name])
    from sync_platform.defs import build_definitions
    from sync_platform.engines.catalog import load_catalog

    defs = build_definitions(server.mappings)
    return defs, load_catalog(server.mappings, require_secrets=False)


def test_graphql_lists_every_stage_gate_sensor_and_schedule(webserver, monkeypatch):
    server, location = webserver
    [repo] = location["repositories"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
    defs, catalog = _expected(server, monkeypatch)
    graph = defs.resolve_asset_graph()

    # exactly the assets the definitions declare, in their groups
    declared = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {key: n["groupName"] for key, n in nodes.items()} == declared

    # every stage of the flow is there
    def stage(prefix: str) -> set[str]:
        return {key for key in nodes if key.startswith(prefix)}

    for system, spec in catalog.systems.items():
        assert {f"source/{system}/{t}" for t in spec.tables} <= stage(f"source/{system}/"), system
        assert {f"raw_{system}/{t}" for t in spec.tables} <= stage(f"raw_{system}/"), system
        assert f"profile/{system}" in nodes
        assert {nodes[k]["groupName"] for k in stage(f"raw_{system}/")} == {system}
    for key in ("meta/schema_snapshots", "meta/relationships", "mapping/system_mappings",
                "published/warehouse", "ops/health"):
        assert key in nodes, key
    for prefix in ("staged/", "golden/", "recon/", "push/"):
        assert stage(prefix), f"no {prefix}* assets"
    targets = {k.removeprefix("recon/") for k in stage("recon/")}
    assert targets == {k.removeprefix("push/") for k in stage("push/")}  # every target is pushed
    assert {t.split("__")[0] for t in targets} <= {k.removeprefix("golden/") for k in stage("golden/")}
    # everything Dagster materializes writes the warehouse, so it is in the one-writer pool
    for key, node in nodes.items():
        assert node["isMaterializable"] == (not key.startswith("source/")), key
        if node["isMaterializable"]:
            assert node["pools"] == ["duckdb_writer"], key

    # the quality gates: the same checks with the same blocking flags
    checks = {(key, c["name"]): c["blocking"] for key, n in nodes.items()
              for c in n["assetChecksOrError"]["checks"]}
    assert checks == {(c.asset_key.to_user_string(), c.name): graph.get_check_spec(c).blocking
                      for c in graph.asset_check_keys}
    for key in stage("golden/"):
        assert {name for (k, name), blocking in checks.items() if k == key and blocking} >= {
            "golden_ids_unique", "records_in_one_cluster", "required_fields_present"}, key
    for key in stage("recon/"):
        assert {name for (k, name), blocking in checks.items() if k == key and blocking} == {
            "no_volume_drop", "golden_not_empty", "target_not_emptied", "no_mass_change"}, key
    for key in stage("push/"):
        assert (key, "verified") in checks, key
    for key in stage("staged/"):
        assert checks[(key, "counts_reconcile")] is True, key
    assert ("mapping/system_mappings", "mappings_active") in checks
    assert ("meta/schema_snapshots", "schema_drift") in checks

    # sensors: freshness, automation and the alert sensors, the first two running by default
    repository = defs.get_repository_def()
    sensors = {s["name"]: s for s in repo["sensors"]}
    assert {name: s["sensorType"] for name, s in sensors.items()} == {
        s.name: s.sensor_type.value for s in repository.sensor_defs}
    assert {"source_freshness", "automation", "alert_on_run_failure", "alert_on_run_success",
            "alert_on_health"} <= set(sensors)
    assert sensors["automation"]["sensorType"] == "AUTO_MATERIALIZE"  # declarative automation
    assert sensors["alert_on_run_failure"]["sensorType"] == "RUN_STATUS"
    for name in ("source_freshness", "automation"):
        assert sensors[name]["defaultStatus"] == "RUNNING", name

    # a schedule per cron flow (its own job) and the hourly schema discovery
    schedules = {s["name"]: s for s in repo["schedules"]}
    timed = [f for f in catalog.flows if f.timing.cron]
    assert timed, "the sandbox catalog has cron flows"
    assert set(schedules) == {"schema_discovery"} | {f"flow_{f.name}_schedule" for f in timed}
    assert schedules["schema_discovery"]["cronSchedule"] == catalog.discovery.cron
    jobs = {j["name"] for j in repo["jobs"]}
    for flow in timed:
        schedule = schedules[f"flow_{flow.name}_schedule"]
        assert schedule["cronSchedule"] == flow.timing.cron
        assert schedule["pipelineName"] == f"flow_{flow.name}" and schedule["pipelineName"] in jobs
        assert schedule["defaultStatus"] == "RUNNING"
    assert {"land_all", "understand", "resolve", "reconcile", "push_all", "sync"} <= jobs


def test_asset_graph_renders_in_chromium(webserver, chromium_page):  # noqa: F811
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    server, location = webserver
    [repo] = location["repositories"]
    groups = sorted({n["groupName"] for n in repo["assetNodes"]})
    materializable = sum(n["isMaterializable"] for n in repo["assetNodes"])
    page = chromium_page
    page.set_viewport_size({"width": 1800, "height": 2400})  # the whole graph at a readable zoom
    expanded = ",".join(f"global@global:{group}" for group in groups)  # the UI's own URL state
    page.goto(f"{server.url}/asset-groups?expanded={quote(expanded)}")
    # rendered: a node of the understanding stage and the launch button counting every asset
    node = page.get_by_text("system_mappings", exact=True).first
    try:
        node.wait_for(timeout=20_000)
    except PlaywrightTimeout:  # the URL state changed with a Dagster upgrade: use the menu
        page.goto(f"{server.url}/asset-groups")
        page.get_by_text(f"Materialize all ({materializable})").wait_for()
        page.mouse.click(1650, 200, button="right")  # empty canvas: the graph's context menu
        page.get_by_text("Expand all groups").locator("visible=true").first.click()
        node.wait_for()
    page.get_by_text(f"Materialize all ({materializable})").wait_for()
    page.get_by_role("button", name="Hide navigation").click()
    page.locator('button:has([aria-label="panel_show_right"])').click()  # the asset tree sidebar
    for group in groups:  # the sidebar is closed: these are the graph's group boxes
        assert page.get_by_text(group, exact=True).count(), group
    for name in ("schema_snapshots", "relationships", "health"):
        page.get_by_text(name, exact=True).first.wait_for()
    page.wait_for_timeout(500)  # edges are drawn after the nodes
    page.screenshot(path=str(artifact("dagster_asset_graph.png")))
    assert artifact("dagster_asset_graph.png").stat().st_size > 20_000
