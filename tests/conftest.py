"""Shared fixtures. Every render here runs with a fixed SOURCE_DATE_EPOCH so the
printed date, and therefore the snapshots, do not depend on the day the tests run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import EPOCH

os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
# The static-part cache in memory only (no folder in the user's home): tests that test
# the cache folder give one.
os.environ["HANDOUTS_CACHE_DIR"] = ""


def pytest_addoption(parser):
    parser.addoption("--update-snapshots", action="store_true",
                     help="rewrite tests/snapshots/*.txt from the current output (review the diff!)")
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite tests/goldens/*.png from the current renders (look at them!)")


@pytest.fixture(scope="session")
def update_snapshots(request) -> bool:
    return request.config.getoption("--update-snapshots")


@pytest.fixture(scope="session")
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


@pytest.fixture(scope="session")
def model():
    from handouts import content
    return content.default()


@pytest.fixture(scope="session")
def sample_patient():
    """The registry's sample values, as `handouts build --sample` prints them."""
    from handouts import registry
    return registry.get("handout").sample_patient()


class Renders:
    """Renders each (document, locale, paper, personal) once per test session."""

    def __init__(self, model, patient, root: Path):
        self.model, self.patient, self.root = model, patient, root
        self._done: dict[tuple, Path] = {}

    def get(self, document: str, locale: str, paper: str, personal: bool = False) -> Path:
        key = (document, locale, paper, personal)
        if key not in self._done:
            from handouts.build import build
            out = self.root / f"{document}-{locale}-{paper}-{'p' if personal else 'g'}"
            built = build(document, locale, paper, self.patient if personal else None, out, self.model)
            self._done[key] = built.path
        return self._done[key]


@pytest.fixture(scope="session")
def renders(model, sample_patient, tmp_path_factory) -> Renders:
    return Renders(model, sample_patient, tmp_path_factory.mktemp("renders"))


@pytest.fixture
def stub_render(monkeypatch):
    """For tests of bookkeeping (manifests, names, rebuild decisions), not of pages:
    build.render_document and build.render_sheet return a small fake PDF naming what was
    asked, in this process (run the batch with --jobs 1). Returns the calls made."""
    from types import SimpleNamespace

    from handouts import build
    calls: list[tuple] = []

    def fake(*args):
        calls.append(args[:3])
        names = ",".join(str(getattr(a, "name", a)) for a in args[:3])
        return SimpleNamespace(pdf=f"%PDF-1.7 stub {names}\n%%EOF\n".encode(), pages=1)

    monkeypatch.setattr(build, "render_document", lambda document, locale, paper, *rest, **kw:
                        fake(document, locale, paper))
    monkeypatch.setattr(build, "render_sheet", lambda document, locale, sheet, *rest, **kw:
                        fake(document, locale, sheet))
    return calls


# A real PostgreSQL server for the print record's tests (tests/helpers/pgserver.py).
from tests.helpers.pgserver import postgres_server, postgres_url, record_url  # noqa: E402,F401
