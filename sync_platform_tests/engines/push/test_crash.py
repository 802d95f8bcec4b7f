"""Crash safety: kill -9 at random points, and two overlapping runs of the same push.

After a rerun every change is acknowledged exactly once, the target holds each record once, and
no write was acknowledged twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync_platform.engines.push import push

from .helpers import crm_contacts, ledger_states, query, store_counts

REPO = Path(__file__).resolve().parents[3]
N = 60


def worker(prefix: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sync_platform_tests.engines.push.push_worker",
                             str(N), prefix], cwd=REPO, env=dict(os.environ), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")


def assert_exactly_once(sandbox, warehouse: Path, prefix: str) -> None:
    counts = store_counts(sandbox, "crm", "Contact", prefix)
    assert len(counts) == N and set(counts.values()) == {1}
    assert ledger_states(warehouse, prefix) == {"acknowledged": N}
    acks = query(warehouse, "SELECT golden_id, count(*) FROM ops.audit_log WHERE outcome LIKE "
                            "'acknowledged%' AND golden_id LIKE ? GROUP BY 1 HAVING count(*) > 1",
                 [f"{prefix}-%"])
    assert acks == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_kill_9_at_random_points_then_rerun(sandbox, push_catalog, seed: int) -> None:
    sandbox.set_faults("crm", latency_ms=60)  # requests in flight when the kill lands
    rng = random.Random(seed)
    prefix = f"k{seed}"
    proc = worker(prefix)
    wait_ready(proc)
    time.sleep(rng.uniform(0.2, 0.8))
    proc.send_signal(signal.SIGKILL)
    proc.wait()  # reaped: its pid is gone, so the rerun sees the owner dead at once
    at_kill = ledger_states(push_catalog.warehouse_path, prefix)
    report = push(push_catalog, crm_contacts(N, prefix=prefix))
    assert report.states == {"acknowledged": N}
    assert_exactly_once(sandbox, push_catalog.warehouse_path, prefix)
    # every write in flight at the kill was looked up: confirmed if it had landed, else re-sent
    resolved = query(push_catalog.warehouse_path, "SELECT count(*) FROM ops.audit_log WHERE outcome IN "
                     "('acknowledged_after_lookup', 'resend')")[0][0]
    assert resolved == at_kill.get("sent", 0)


def test_two_overlapping_runs_of_the_same_push(sandbox, push_catalog) -> None:
    sandbox.set_faults("crm", latency_ms=20)
    procs = [worker("o"), worker("o")]
    for proc in procs:
        wait_ready(proc)
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        outputs.append(out + err[-2000:])
        assert proc.returncode == 0, err[-2000:]
    assert_exactly_once(sandbox, push_catalog.warehouse_path, "o")
    outcomes = query(push_catalog.warehouse_path, "SELECT outcome, error_class, count(*) FROM ops.audit_log "
                     "GROUP BY ALL")
    # each write attempted once in total: the runs never claimed the same rows
    assert outcomes == [("acknowledged", None, N)], (outcomes, outputs)
