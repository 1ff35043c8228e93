"""Shared fixtures. Every render here runs with a fixed SOURCE_DATE_EPOCH so the
printed date, and therefore the snapshots, do not depend on the day the tests run."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

EPOCH = 1795392000  # 2026-11-23 00:00 UTC
os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
# The static-part cache in memory only (no folder in the user's home): tests that test
# the cache folder give one.
os.environ["HANDOUTS_CACHE_DIR"] = ""
TODAY = dt.date(2026, 11, 23)

SNAPSHOTS = Path(__file__).parent / "snapshots"
HANDOUT_PAPERS = ("letter", "a4")


NCI_URL = "https://www.cancer.gov/about-cancer/treatment/drugs/tarlatamab-dlle"


def _locales() -> tuple[str, ...]:
    from handouts import locales
    return tuple(locales.available())


# The locales come from data (locales/*/locale.toml): a new locale is tested as soon as
# its folder exists (its snapshots are asked for).
LOCALES = _locales()


def weakened(model, **confidences):
    """The model with some records' confidence changed (fact or list ids)."""
    facts = {r: {"confidence": c} for r, c in confidences.items() if r in model.fact_ids()}
    lists = {r: {"confidence": c} for r, c in confidences.items() if r not in facts}
    return model.revised(facts=facts, lists=lists)


def run(capsys, *args):
    """Run the command line in-process: (exit code, stdout, stderr)."""
    from handouts.cli import main
    code = main([str(a) for a in args])  # Paths welcome
    out, err = capsys.readouterr()
    return code, out, err


def run_refused(capsys, field: str, out_dir: Path, *args) -> str:
    """Run the command line on bad input (adding `--out out_dir`): exit code 2, nothing on
    stdout, one line on stderr that names `field`, nothing written. Returns stderr."""
    code, out, err = run(capsys, *args, "--out", str(out_dir))
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], err
    assert not out_dir.exists() or not any(out_dir.iterdir())
    return err


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


# A real PostgreSQL server for the print record's tests (tests/pgserver.py).
from pgserver import postgres_server, postgres_url, record_url  # noqa: E402,F401
