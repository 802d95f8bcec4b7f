"""Fault injection on the HTTP systems: 429s, 5xx bursts and rates, drops, outages, stats."""

from __future__ import annotations

import time

import pytest
import requests

from sync_platform.engines.sandbox import Sandbox

from .helpers import API, crm, hs, shop

LIMITS = f"{API}/limits"


def test_rate_limits_in_each_product_style(clean_faults: Sandbox) -> None:
    sb = clean_faults
    for system in Sandbox.HTTP_SYSTEMS:
        sb.set_faults(system, rate_limit=2, rate_window_s=30)
    assert [crm(sb, LIMITS).status_code for _ in range(3)] == [200, 200, 429]
    r = crm(sb, LIMITS)
    assert r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert float(r.headers["Retry-After"]) > 0
    ok = hs(sb, "/crm/v3/objects/contacts")
    assert ok.headers["X-HubSpot-RateLimit-Max"] == "2"
    hs(sb, "/crm/v3/objects/contacts")
    r = hs(sb, "/crm/v3/objects/contacts")
    assert r.status_code == 429 and r.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert r.json()["policyName"] == "TEN_SECONDLY_ROLLING" and "Retry-After" in r.headers
    for _ in range(2):
        shop(sb, "/admin/api/2024-07/locations.json")
    r = shop(sb, "/admin/api/2024-07/locations.json")
    assert r.status_code == 429 and float(r.headers["Retry-After"]) > 0
    assert r.json()["errors"].startswith("Exceeded 2 calls per second")
    stats = sb.stats("crm")
    assert stats["faults"]["rate_limited"] >= 2 and stats["by_status"]["429"] >= 2


def test_rate_window_recovers(clean_faults: Sandbox) -> None:
    clean_faults.set_faults("crm", rate_limit=1, rate_window_s=0.3)
    assert crm(clean_faults, LIMITS).status_code == 200
    r = crm(clean_faults, LIMITS)
    assert r.status_code == 429
    time.sleep(0.35)
    assert crm(clean_faults, LIMITS).status_code == 200


def test_error_burst_then_recovery(clean_faults: Sandbox) -> None:
    clean_faults.set_faults("marketing", error_burst=3)
    codes = [hs(clean_faults, "/crm/v3/properties/contacts").status_code for _ in range(5)]
    assert codes == [503, 503, 503, 200, 200]


def test_error_rate_is_deterministic(clean_faults: Sandbox) -> None:
    runs = []
    for _ in range(2):
        clean_faults.set_faults("shop", error_rate=0.5)
        runs.append([shop(clean_faults, "/admin/api/2024-07/locations.json").status_code
                     for _ in range(16)])
    assert runs[0] == runs[1]
    assert {500, 502, 503} & set(runs[0]) and 200 in runs[0]


def test_drop_and_down(clean_faults: Sandbox) -> None:
    clean_faults.set_faults("crm", drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        crm(clean_faults, LIMITS)
    clean_faults.set_faults("crm", down=True)
    assert [crm(clean_faults, LIMITS).status_code for _ in range(3)] == [503] * 3
    clean_faults.set_faults("crm")
    assert crm(clean_faults, LIMITS).status_code == 200


def test_latency(clean_faults: Sandbox) -> None:
    clean_faults.set_faults("shop", latency_ms=200)
    t = time.monotonic()
    shop(clean_faults, "/admin/api/2024-07/locations.json")
    assert time.monotonic() - t >= 0.2


def test_admin_endpoints(clean_faults: Sandbox) -> None:
    base = clean_faults.env()["MARKETING_BASE_URL"]
    assert requests.post(f"{base}/__sandbox/reset-stats", timeout=5).status_code == 200
    r = requests.post(f"{base}/__sandbox/faults", json={"down": True}, timeout=5)
    assert r.status_code == 200 and r.json()["down"] is True
    assert requests.get(f"{base}/__sandbox/faults", timeout=5).json()["down"] is True
    assert hs(clean_faults, "/crm/v3/properties/contacts").status_code == 503
    requests.post(f"{base}/__sandbox/faults", json={}, timeout=5)
    assert hs(clean_faults, "/crm/v3/properties/contacts").status_code == 200
    assert requests.post(f"{base}/__sandbox/faults", json={"error_rate": 3},
                         timeout=5).status_code == 400
    stats = requests.get(f"{base}/__sandbox/stats", timeout=5).json()
    assert stats["requests"] == 2 and stats["by_status"] == {"503": 1, "200": 1}
    assert stats["faults"]["errors"] == 1
