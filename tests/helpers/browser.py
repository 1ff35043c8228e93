"""Debian's Chromium for the browser tests, driven by Playwright with `executable_path`
(a test never downloads a browser). Missing, it skips a developer's run and fails CI's
(`.ci/run` sets CI), where scripts/install-system-deps.sh has installed it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.helpers import needs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> None:
    if not os.path.exists(CHROMIUM):
        needs(f"{CHROMIUM} is missing: install Debian's chromium (scripts/install-system-deps.sh test)")


@contextmanager
def playwright() -> Iterator[Any]:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@contextmanager
def chromium(p: Any, **launch: Any) -> Iterator[Any]:
    """A headless Chromium from Playwright `p`; `launch`: more of launch()'s options."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, **launch)
    try:
        yield browser
    finally:
        browser.close()
