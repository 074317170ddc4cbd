"""Driving Debian's headless Chromium with Playwright, and reading the dashboard's page.

Debian's chromium (/usr/bin/chromium, installed by `make browser`) is driven by Playwright; no
browser is downloaded at test time. Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from propensity.local.template import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Flags this machine needs (PLATFORM-NOTES): no sandbox as root, no background network calls.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium under Playwright; this run's screenshots replace the last run's."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def banner(page: Page) -> str:
    page.wait_for_selector("#error-banner:not([hidden])")
    return page.inner_text("#error-text")


def percent(text: str) -> float:
    match = re.fullmatch(r"(\d{1,3}\.\d)%", text.strip())
    assert match, f"not a probability: {text!r}"
    return float(match.group(1))
