"""What the tests share besides fixtures (those are in conftest.py): where the test data
lives, the locales and papers every document is checked in, the command line run
in-process, and the text-snapshot check.

Paths are built from TESTS, the tests folder itself, so that a test module can move
between folders without its data moving with it."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path
from typing import NoReturn

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
SRC = ROOT / "src" / "handouts"
SNAPSHOTS = TESTS / "snapshots"
GOLDENS = TESTS / "goldens"
ARTIFACTS = TESTS / ".artifacts"
LISTS = TESTS / "lists"
PACKS = TESTS / "packs"
FHIR = TESTS / "fhir"
TEST_LOCALES = TESTS / "locales"

EPOCH = 1796342400  # 2026-12-04 00:00 UTC: the day of the latest recorded label check
TODAY = dt.date(2026, 12, 4)
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


def assert_one_line_error(code, out, err, field, out_dir: Path | None = None):
    assert code == 2, (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("handouts: error")]
    assert len(errors) == 1 and field in errors[0], err
    if out_dir is not None:
        assert not out_dir.exists() or not [p for p in out_dir.rglob("*") if p.is_file()]


def check_snapshot(name: str, actual: str, update: bool) -> None:
    """Compare printed text with tests/snapshots/<name>.txt; with --update-snapshots
    (the `update_snapshots` fixture), write it instead."""
    path = SNAPSHOTS / f"{name}.txt"
    if update or not path.exists():
        if not update:
            pytest.fail(f"no snapshot {path.name}; run pytest --update-snapshots and review it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "snapshot", "rendered", n=1))
        pytest.fail(f"text differs from snapshot {path.name} (pytest --update-snapshots to accept):\n{diff[:4000]}")


def as_read(html: str) -> str:
    """A page's HTML as a reader gets it: without tags and without the word joiners that
    keep text together (they have no glyph)."""
    import re
    return re.sub(r"<[^>]+>", "", html).replace("\u2060", "")


def handout_request(model, patient, locale, paper, **options):
    """A handout BuildRequest for a locale and a paper name."""
    from handouts import papers, registry
    from handouts.documents.common import BuildRequest
    return BuildRequest("handout", locale, papers.get(paper, registry.get("handout").papers), patient, model,
                        **options)


def needs(message: str) -> NoReturn:
    """A program or service a test needs is missing: a developer's run skips the test,
    CI's fails it (`.ci/run` sets CI, and installs every such program first)."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
