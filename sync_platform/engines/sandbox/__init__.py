"""The embedded default world: messy, overlapping business systems running locally.

`Sandbox` seeds seven systems from a deterministic ground truth (crm = Salesforce REST,
marketing = HubSpot v3, shop = Shopify Admin REST, accounting = QuickBooks-style SQL,
payroll = SQL target, warehouse = SQL, hr = BambooHR CSV exports), serves the three HTTP ones,
mutates them realistically and injects faults into the HTTP ones.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from . import hr_files, rest_seed, sql_systems, truth
from .crm_api import CrmApi
from .faults import FaultSettings
from .http_base import RestApi, SandboxServer
from .marketing_api import MarketingApi
from .mutations import MutationReport, mutate
from .shop_api import ShopApi
from .store import RecordStore
from .world import World, build_world

__all__ = ["FaultSettings", "MutationReport", "Sandbox", "serve_forever"]

TOKENS = {"crm": "sandbox-crm-token", "marketing": "sandbox-marketing-token",
          "shop": "sandbox-shop-token"}
DEFAULT_PORTS = {"crm": 8701, "marketing": 8702, "shop": 8703}

_WORLD: World | None = None  # shared with forked seeding workers


class Sandbox:
    """All sandbox systems under one root folder."""

    SYSTEMS = ("crm", "marketing", "accounting", "hr", "payroll", "warehouse", "shop")
    HTTP_SYSTEMS = ("crm", "marketing", "shop")
    SOURCE_SYSTEMS = ("crm", "marketing", "accounting", "hr", "warehouse")
    TOKENS = TOKENS

    def __init__(self, root: Path, seed: int = 42, size: int = 2000,
                 accounting_url: str | None = None, crm_page_size: int = 2000,
                 workers: int | None = None):
        """`crm_page_size` is the server-level default SOQL batch (tests use small pages);
        `workers` is the number of seeding processes (default: 2 if the machine has them)."""
        self.root = Path(root).resolve()
        self.seed_value = seed
        self.size = size
        self.accounting_url = accounting_url or sql_systems.sqlite_url(self.root / "accounting.sqlite")
        self.payroll_url = sql_systems.sqlite_url(self.root / "payroll.sqlite")
        self.warehouse_url = sql_systems.sqlite_url(self.root / "warehouse.sqlite")
        self.hr_dir = self.root / "hr" / "exports"
        self.crm_page_size = crm_page_size
        self.workers = workers
        self.servers: dict[str, SandboxServer] = {}
        self._faults: dict[str, FaultSettings] = {}
        self._lock = threading.Lock()

    # -- paths ---------------------------------------------------------------------------------

    def store(self, system: str) -> RecordStore:
        """The record store of an HTTP system."""
        if system not in self.HTTP_SYSTEMS:
            raise ValueError(f"{system!r} is not an HTTP system")
        return RecordStore(self.root / f"{system}.sqlite")

    def ground_truth_path(self) -> Path:
        return self.root / "truth" / "entities.csv"

    @property
    def state_path(self) -> Path:
        return self.root / "sandbox.json"

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_state(self, **changes) -> None:
        state = self._state()
        state.update(changes)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_path)

    # -- seeding -------------------------------------------------------------------------------

    def seed(self, reset: bool = True) -> dict[str, dict[str, int]]:
        """Write all systems from the ground truth; returns {system: {table: row_count}}.

        With reset=False an already seeded root (same seed and size) is left as it is.
        """
        state = self._state()
        if not reset and state.get("counts") and state.get("seed") == self.seed_value \
                and state.get("size") == self.size:
            return state["counts"]
        global _WORLD
        self.root.mkdir(parents=True, exist_ok=True)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small objects: cyclic GC passes would dominate seeding
        try:
            _WORLD = build_world(self.seed_value, self.size)
            gc.freeze()  # keep forked workers from copying the world's pages
            counts = self._seed_all()
        finally:
            _WORLD = None
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()
        self._save_state(seed=self.seed_value, size=self.size, counts=counts, mutations=0,
                         accounting_url=self.accounting_url, next_ids=None)
        return counts

    def _seed_all(self) -> dict[str, dict[str, int]]:
        parts_dir = self.root / "truth" / "parts"
        cfg = {"root": str(self.root), "seed": self.seed_value, "accounting": self.accounting_url,
               "payroll": self.payroll_url, "warehouse": self.warehouse_url,
               "hr": str(self.hr_dir)}
        jobs = [(s, cfg) for s in self.SYSTEMS]
        workers = self.workers if self.workers is not None else min(2, os.cpu_count() or 1)
        if workers > 1 and self.size >= 20_000 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                results = pool.map(_seed_system, jobs, chunksize=1)
        else:
            results = [_seed_system(job) for job in jobs]
        truth.combine([parts_dir / f"{s}.csv" for s in self.SYSTEMS], self.ground_truth_path())
        parts_dir.rmdir()
        return dict(zip(self.SYSTEMS, results, strict=True))

    # -- servers -------------------------------------------------------------------------------

    def _api(self, system: str) -> RestApi:
        store = self.store(system)
        if system == "crm":
            return CrmApi(store, TOKENS["crm"], self.seed_value, page_size=self.crm_page_size)
        if system == "marketing":
            return MarketingApi(store, TOKENS["marketing"], self.seed_value)
        return ShopApi(store, TOKENS["shop"], self.seed_value)

    def start(self, host: str = "127.0.0.1", ports: dict[str, int] | None = None
              ) -> dict[str, str]:
        """Start the crm, marketing and shop servers (port 0 = ephemeral); returns base URLs."""
        ports = {**DEFAULT_PORTS, **(ports or {})}
        with self._lock:
            for system in self.HTTP_SYSTEMS:
                if system in self.servers:
                    continue
                api = self._api(system)
                server = SandboxServer(api, host, ports[system], self._faults.get(system))
                if isinstance(api, CrmApi):
                    api.fault_state = server.faults
                self.servers[system] = server.start()
        urls = {s: srv.url for s, srv in self.servers.items()}
        self._save_state(urls=urls)
        return urls

    def stop(self) -> None:
        """Stop the servers started by `start` (idempotent)."""
        with self._lock:
            for server in self.servers.values():
                server.stop()
            self.servers.clear()
        if self.state_path.exists():
            self._save_state(urls={})

    def env(self) -> dict[str, str]:
        """Environment variables the platform's config reads to reach this sandbox."""
        out = {
            "CRM_TOKEN": TOKENS["crm"], "MARKETING_TOKEN": TOKENS["marketing"],
            "SHOP_TOKEN": TOKENS["shop"], "ACCOUNTING_DATABASE_URL": self.accounting_url,
            "PAYROLL_DATABASE_URL": self.payroll_url,
            "WAREHOUSE_DATABASE_URL": self.warehouse_url, "HR_EXPORT_DIR": str(self.hr_dir),
        }
        urls = {s: srv.url for s, srv in self.servers.items()} or self._state().get("urls") or {}
        for system, url in urls.items():
            out[f"{system.upper()}_BASE_URL"] = url
        return out

    # -- faults and stats ----------------------------------------------------------------------

    def set_faults(self, system: str, **settings) -> None:
        """Replace the fault settings of an HTTP system (unset fields take their defaults)."""
        if system not in self.HTTP_SYSTEMS:
            raise ValueError(f"faults apply to HTTP systems only ({', '.join(self.HTTP_SYSTEMS)})")
        value = FaultSettings(**settings)
        self._faults[system] = value
        server = self.servers.get(system)
        if server is not None:
            server.faults.replace(value)

    def stats(self, system: str) -> dict:
        """Request counters of a running HTTP system (zeros when it is not running)."""
        if system not in self.HTTP_SYSTEMS:
            raise ValueError(f"{system!r} is not an HTTP system")
        server = self.servers.get(system)
        if server is None:
            return {"requests": 0, "total": 0, "by_status": {},
                    "faults": {"rate_limited": 0, "errors": 0, "dropped": 0}}
        return server.faults.stats()

    # -- mutations -----------------------------------------------------------------------------

    def mutate(self, edits: int = 10, inserts: int = 5, deletes: int = 2,
               new_field: str | None = None, systems: Iterable[str] | None = None,
               seed: int | None = None) -> MutationReport:
        """Edit, insert and soft-delete records in the selected systems (default: sources)."""
        selected = list(systems) if systems is not None else list(self.SOURCE_SYSTEMS)
        unknown = [s for s in selected if s not in self.SYSTEMS]
        if unknown:
            raise ValueError(f"unknown systems: {unknown}")
        n = int(self._state().get("mutations", 0)) + 1
        self._save_state(mutations=n)
        rng_seed = f"{self.seed_value}:mutation:{n}" if seed is None else f"{seed}:mutation"
        return mutate(self, selected, edits, inserts, deletes, new_field, rng_seed)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _seed_system(job: tuple[str, dict]) -> dict[str, int]:
    system, cfg = job
    world = _WORLD
    assert world is not None
    tw = truth.TruthWriter(system)
    seed = cfg["seed"]
    root = Path(cfg["root"])
    if system in ("crm", "marketing", "shop"):
        store = RecordStore(root / f"{system}.sqlite")
        if system == "crm":
            counts = rest_seed.seed_crm(world, store, seed, tw)
        elif system == "marketing":
            counts = rest_seed.seed_marketing(world, store, seed, tw)
        else:
            totals: dict[str, int] = {}
            for sku, _loc, qty in sql_systems.warehouse_levels(world, seed):
                totals[sku] = totals.get(sku, 0) + qty
            counts = rest_seed.seed_shop(world, store, seed, tw, totals)
    elif system == "accounting":
        counts = sql_systems.seed_accounting(world, cfg["accounting"], seed, tw)
    elif system == "payroll":
        counts = sql_systems.seed_payroll(world, cfg["payroll"], seed, tw)
    elif system == "warehouse":
        counts = sql_systems.seed_warehouse(world, cfg["warehouse"], seed, tw,
                                            sql_systems.warehouse_levels(world, seed))
    else:
        counts = hr_files.seed_hr(world, Path(cfg["hr"]), seed, tw)
    tw.write_part(root / "truth" / "parts" / f"{system}.csv")
    return counts


def serve_forever(root: Path, host: str = "127.0.0.1", ports: dict[str, int] | None = None,
                  seed: int = 42, size: int = 2000) -> None:
    """Seed if needed, start the HTTP systems and block until SIGTERM/SIGINT, then stop."""
    sb = Sandbox(root, seed=seed, size=size)
    sb.seed(reset=False)
    sb.start(host, ports)
    done = threading.Event()

    def _stop(_signum, _frame) -> None:
        done.set()

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        sb.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        time.sleep(0)
