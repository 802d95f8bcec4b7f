"""Units: Retry-After parsing, classification, backoff, the shared token bucket (AIMD, priorities)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from sync_platform.engines.push.changes import Change, idempotency_key
from sync_platform.engines.push.ratelimit import Budget, RateLimiter
from sync_platform.engines.push.retry import (
    backoff,
    classify_exception,
    classify_status,
    parse_retry_after,
)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


def test_classification_and_backoff() -> None:
    assert classify_status(429).kind == "transient" and classify_status(503).kind == "transient"
    assert classify_status(401).kind == "auth" and classify_status(413).error_class == "too_large"
    assert classify_status(404).error_class == "not_found" and classify_status(400).kind == "permanent"
    assert classify_exception(requests.ReadTimeout()).in_doubt
    assert not classify_exception(requests.ConnectTimeout()).in_doubt
    assert classify_exception(requests.exceptions.InvalidJSONError()).kind == "permanent"
    rng = random.Random(1)
    delays = [backoff(n, 0.5, 8, rng) for n in range(1, 10)]
    assert all(0.25 <= d <= 8 for d in delays) and delays[-1] >= 4  # capped, with a floor


def test_idempotency_key_is_stable() -> None:
    a = Change(target="crm", table="contacts", entity="contact", golden_id="g1", payload={"a": 1, "b": 2})
    b = Change(target="crm", table="contacts", entity="contact", golden_id="g1", payload={"b": 2, "a": 1})
    assert a.key == b.key == idempotency_key("crm", "contacts", "g1", a.version)
    with pytest.raises(ValueError):
        Change(target="crm", table="contacts", entity="contact", golden_id=" ")


def test_token_bucket_rate_and_aimd(tmp_path) -> None:
    limiter = RateLimiter(tmp_path / "rl.sqlite", {"crm": Budget(50, 1)})
    started = time.monotonic()
    for _ in range(26):
        limiter.acquire("crm")
    assert 0.45 <= time.monotonic() - started <= 1.0  # 25 refills at 97% of 50/s
    limiter.throttled("crm", retry_after=0.2)
    state = limiter.state("crm")
    assert state["rate"] == pytest.approx(48.5 / 2) and state["ceiling"] == pytest.approx(48.5 * 0.95)
    assert limiter.try_acquire("crm") > 0.1  # blocked for the Retry-After
    for _ in range(200):
        limiter.succeeded("crm")
    assert limiter.state("crm")["rate"] == pytest.approx(48.5 * 0.95)  # back up, never above the ceiling


def test_high_priority_goes_first_when_the_budget_is_short(tmp_path) -> None:
    path = tmp_path / "rl.sqlite"
    order: list[str] = []
    lock = threading.Lock()

    def run(priority: str, n: int) -> None:
        limiter = RateLimiter(path, {"shop": Budget(40, 1)})  # each flow its own limiter object
        for _ in range(n):
            limiter.acquire("shop", priority)
            with lock:
                order.append(priority)

    RateLimiter(path, {"shop": Budget(40, 1)}).acquire("shop")  # empty the bucket
    bulk = threading.Thread(target=run, args=("bulk", 12))
    bulk.start()
    time.sleep(0.1)
    high = threading.Thread(target=run, args=("high", 6))
    high.start()
    bulk.join()
    high.join()
    first_high = order.index("high")
    # once high-priority work waits, it takes the tokens: bulk goes at most once in between
    assert order[first_high:first_high + 7].count("high") >= 5


def test_push_config_errors_name_file_and_field(tmp_path) -> None:
    import yaml

    from sync_platform.engines.catalog import CatalogError, load_catalog
    from sync_platform_tests.conftest import handwritten_mappings

    folder = handwritten_mappings(tmp_path / "mappings")
    data = yaml.safe_load((folder / "systems.yaml").read_text())
    data["push"]["batch_size"] = 0
    data["systems"]["crm"]["rate_limit"] = {"requests_per_second": -1, "burts": 3}
    (folder / "systems.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError) as info:
        load_catalog(folder, require_secrets=False)
    text = str(info.value)
    assert "systems.yaml: push.batch_size:" in text
    assert "systems.crm.rate_limit.requests_per_second:" in text
    assert "systems.crm.rate_limit.burts: unknown field" in text


def test_ceiling_follows_what_the_target_accepted(tmp_path) -> None:
    limiter = RateLimiter(tmp_path / "rl.sqlite", {"a": Budget(50, 1), "b": Budget(50, 1)})
    limiter.throttled("a", None, accepted_last_s=40)  # refused while sending ~40/s: the real limit
    assert limiter.state("a")["ceiling"] == pytest.approx(40 * 0.97)
    limiter.throttled("b", None, accepted_last_s=1)  # a storm while sending little: not a measure
    assert limiter.state("b")["ceiling"] == pytest.approx(48.5 * 0.95)
