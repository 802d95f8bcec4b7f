"""Fault tests against the sandbox's fault injection: nothing lost, nothing duplicated, a clear error.

"Nothing lost": every change ends acknowledged, dead-lettered with a reason, parked (with a
not-before time and the reason), or in review. "Nothing duplicated": the sandbox's own store
holds each external id exactly once.
"""

from __future__ import annotations

import time

import pytest

from sync_platform.engines.push import PushAuthError, push, resume

from .helpers import crm_contacts, hs_contacts, ledger_states, query, store_counts

N = 30


def assert_exactly_once(sandbox, n: int = N, system: str = "crm", obj: str = "Contact",
                        prefix: str = "g") -> None:
    counts = store_counts(sandbox, system, obj, prefix)
    assert len(counts) == n and set(counts.values()) == {1}, counts.most_common(3)


@pytest.mark.parametrize("style", ["seconds", "http_date"])
def test_429_with_retry_after(sandbox, push_catalog, style: str) -> None:
    sandbox.set_faults("crm", rate_limit_storm=2, retry_after=style, retry_after_s=1)
    started = time.monotonic()
    report = push(push_catalog, crm_contacts(N))
    assert report.states == {"acknowledged": N}
    assert time.monotonic() - started >= 0.9  # waited as the target asked
    assert_exactly_once(sandbox)
    rows = query(push_catalog.warehouse_path, "SELECT DISTINCT outcome, error_class, http_status "
                 "FROM ops.audit_log WHERE outcome = 'retry'")
    assert rows == [("retry", "rate_limited", 429)]
    assert sandbox.stats("crm")["by_status"]["429"] == 2


def test_429_storm_without_retry_after_adapts(sandbox, reload) -> None:
    from sync_platform.engines.push import limiter_for

    catalog = reload(rate_limits={"marketing": 50})
    sandbox.set_faults("marketing", rate_limit_storm=4, retry_after="none")
    report = push(catalog, hs_contacts(N))
    assert report.states == {"acknowledged": N}
    assert_exactly_once(sandbox, system="marketing", obj="contacts", prefix="h")
    state = limiter_for(catalog).state("marketing")
    assert state["throttled"] == 4 and state["ceiling"] < 50  # AIMD: never back above the refusal


def test_far_future_retry_after_is_parked_not_slept(sandbox, push_catalog) -> None:
    sandbox.set_faults("crm", rate_limit_storm=1, retry_after_s=3600)
    started = time.monotonic()
    report = push(push_catalog, crm_contacts(N))
    assert time.monotonic() - started < 10
    assert report.states == {"parked": N}
    rows = query(push_catalog.warehouse_path, "SELECT min(not_before - now()::TIMESTAMP), any_value(error) "
                 "FROM ops.push_ledger WHERE state = 'parked'")
    assert rows[0][0].total_seconds() > 3000 and "Retry-After" in rows[0][1]
    assert store_counts(sandbox, "crm", "Contact", "g") == {}
    sandbox.set_faults("crm")
    assert resume(push_catalog, ["crm"])["parked"] == N  # a later run before the time: still parked
    assert resume(push_catalog, ["crm"], force=True) == {"acknowledged": N}
    assert_exactly_once(sandbox)


def test_5xx_burst_then_recovery(sandbox, push_catalog) -> None:
    sandbox.set_faults("crm", error_burst=3)
    report = push(push_catalog, crm_contacts(N))
    assert report.states == {"acknowledged": N}
    assert_exactly_once(sandbox)
    assert query(push_catalog.warehouse_path, "SELECT count(*) FROM ops.dead_letters")[0][0] == 0


def test_persistent_5xx_parks_with_reason_then_resumes(sandbox, push_catalog) -> None:
    sandbox.set_faults("marketing", down=True)
    report = push(push_catalog, hs_contacts(N))
    assert report.states == {"parked": N}
    errors = query(push_catalog.warehouse_path, "SELECT DISTINCT error_class, http_status, error "
                   "FROM ops.push_ledger")
    assert errors[0][:2] == ("server", 503) and "parked after 5 attempts" in errors[0][2]
    assert query(push_catalog.warehouse_path, "SELECT count(*) FROM ops.dead_letters")[0][0] == 0
    sandbox.set_faults("marketing")
    assert resume(push_catalog, ["marketing"], force=True) == {"acknowledged": N}
    assert_exactly_once(sandbox, system="marketing", obj="contacts", prefix="h")


@pytest.mark.parametrize(("system", "fault"), [
    ("crm", {"lose_response_rate": 0.4}), ("marketing", {"lose_response_rate": 0.4}),
    ("crm", {"drop_rate": 0.3})], ids=["response_lost_after_commit", "hubspot_response_lost",
                                       "connection_reset"])
def test_lost_responses_are_resolved_by_lookup(sandbox, push_catalog, system: str, fault: dict) -> None:
    sandbox.set_faults(system, **fault)
    push(push_catalog, crm_contacts(N) if system == "crm" else hs_contacts(N, prefix="g"))
    sandbox.set_faults(system)
    resume(push_catalog, [system], force=True)  # anything left in doubt or parked
    assert ledger_states(push_catalog.warehouse_path) == {"acknowledged": N}
    assert_exactly_once(sandbox, system=system, obj="Contact" if system == "crm" else "contacts")
    outcomes = dict(query(push_catalog.warehouse_path, "SELECT outcome, count(*) FROM ops.audit_log GROUP BY 1"))
    assert outcomes.get("in_doubt", 0) > 0
    if "lose_response_rate" in fault:  # the write had landed: confirmed, not sent again
        assert outcomes.get("acknowledged_after_lookup", 0) > 0


def test_slow_target_times_out_in_doubt_then_confirms(sandbox, reload) -> None:
    catalog = reload(timeout_s=0.3)
    sandbox.set_faults("crm", latency_ms=600)  # the server still commits after the client gave up
    push(catalog, crm_contacts(5))
    sandbox.set_faults("crm")
    resume(catalog, ["crm"], force=True)
    assert ledger_states(catalog.warehouse_path) == {"acknowledged": 5}
    assert_exactly_once(sandbox, n=5)
    outcomes = dict(query(catalog.warehouse_path, "SELECT outcome, count(*) FROM ops.audit_log GROUP BY 1"))
    assert outcomes["in_doubt"] >= 1 and outcomes.get("acknowledged_after_lookup", 0) >= 1
    assert query(catalog.warehouse_path, "SELECT DISTINCT error_class FROM ops.audit_log "
                 "WHERE outcome = 'in_doubt'") == [("timeout",)]


def test_expired_credentials_fail_fast_without_dead_letters(sandbox, push_catalog) -> None:
    sandbox.set_faults("crm", token_expired=True)
    started = time.monotonic()
    with pytest.raises(PushAuthError, match=r"crm refused the credentials \(HTTP 401\).*INVALID_SESSION_ID"):
        push(push_catalog, crm_contacts(N))
    assert time.monotonic() - started < 5
    assert sandbox.stats("crm")["requests"] == 1
    assert ledger_states(push_catalog.warehouse_path) == {"intent": N}
    assert query(push_catalog.warehouse_path, "SELECT count(*) FROM ops.dead_letters")[0][0] == 0
    sandbox.set_faults("crm")
    assert resume(push_catalog, ["crm"]) == {"acknowledged": N}
    assert_exactly_once(sandbox)
