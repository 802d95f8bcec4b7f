"""Headless Chromium for the browser tests: the Debian `chromium` package driven by Playwright.

`chromium_page` yields a Playwright page; the test skips with the reason when Chromium or
Playwright is missing (`.ci/run` installs Chromium when it can). Screenshots go to
`test-artifacts/` at the repository root, kept after the run for people to look at.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
# without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses (see the stack notes)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def artifact(name: str) -> Path:
    """Where a test saves a screenshot or page dump: test-artifacts/<name>."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture
def chromium_page() -> Iterator:
    """A fresh page in headless Chromium (own empty profile)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
