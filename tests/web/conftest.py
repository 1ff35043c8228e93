"""Fixtures of the counter page's browser tests: Playwright and Debian's Chromium, one
per test module (tests/helpers/browser.py says how a missing browser is handled)."""

from __future__ import annotations

import pytest

from tests.helpers.browser import chromium, playwright


@pytest.fixture(scope="module")
def pw():
    with playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw):
    with chromium(pw) as b:
        yield b
