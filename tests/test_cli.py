"""The command line: what a nurse types, and what bad input gets back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handouts import clock, locales, registry
from handouts.cli import main
from tests.helpers import run, run_refused


def test_list(capsys):
    """Each document with its papers and each locale, one per line, under its heading."""
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("content: tarlatamab-dlle (IMDELLTRA), content version ")  # the pack it prints
    docs, locs = lines.index("documents:"), lines.index("locales:")
    documents = {line.split()[0]: line for line in lines[docs + 1:locs]}
    assert list(documents) == list(registry.DOCUMENTS)
    for name, spec in registry.DOCUMENTS.items():
        assert f"papers: {', '.join(spec.papers)}" in documents[name]
    assert [line.split()[0] for line in lines[locs + 1:]] == list(locales.available())


def test_build_prints_each_path(capsys, tmp_path):
    code, out, _ = run(capsys, "build", "handout", "--locale", "zh-Hans", "--paper", "a4", "--out", str(tmp_path))
    assert code == 0
    paths = out.split()
    assert paths == [str(tmp_path / "tarlatamab-handout-zh-Hans-a4.pdf")]
    assert Path(paths[0]).read_bytes().startswith(b"%PDF-")


def test_build_with_patient_uses_patient_locale(capsys, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('name = "Chen Mei"\nfirst_dose = 2026-12-01\nlocale = "zh-Hant"\n', encoding="utf-8")
    code, out, err = run(capsys, "build", "handout", "--patient", str(p), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert re.search(r"/tarlatamab-handout-zh-Hant-a4-Chen-Mei-[0-9a-f]{8}\.pdf$", out.strip()), out


PATIENT_CASES = {
    "not toml": ("name = Li Wei\n", "p.toml: name"),
    "unknown field": ('name = "Li"\nfavourite_colour = "red"\n', "p.toml: favourite_colour"),
    "impossible date": ("first_dose = 2026-02-30\n", "p.toml: first_dose"),
    "impossible date as text": ('first_dose = "2026-02-30"\n', "p.toml: first_dose"),
    "before approval": ("first_dose = 2024-04-30\n", "p.toml: first_dose"),
    "more than a year ahead": ("first_dose = 2028-01-15\n", "p.toml: first_dose"),
    "phone with letters": ('phone = "call me maybe"\n', "p.toml: phone"),
    "empty name": ('name = ""\n', "p.toml: name"),
    "unknown locale in file": ('locale = "fr"\n', "p.toml: locale"),
    "glyph in no font": ('name = "\U0003134A"\n', "p.toml: name"),
}


@pytest.mark.parametrize("case", sorted(PATIENT_CASES))
def test_bad_patient_file(capsys, tmp_path, case):
    body, field = PATIENT_CASES[case]
    p = tmp_path / "p.toml"
    p.write_text(body, encoding="utf-8")
    run_refused(capsys, field, tmp_path / "out", "build", "handout", "--patient", str(p))


# The same value, written with and without TOML's quotes, gets the same one line: the
# patient record's words, never the TOML parser's.
SAME_WORDS = [
    ("first_dose = 12/01/2026\n", 'first_dose = "12/01/2026"\n',
     "p.toml: first_dose: give a date as YYYY-MM-DD, e.g. 2026-12-01"),
    ("first_dose = 2026-02-30\n", 'first_dose = "2026-02-30"\n',
     "p.toml: first_dose: 2026-02-30 is not a calendar date"),
    ('phone = call me # at home\n', 'phone = "call me"\n', "p.toml: phone: a phone number has only digits"),
]


@pytest.mark.parametrize("bare,quoted,line", SAME_WORDS)
def test_a_patient_file_value_gets_the_same_words_quoted_or_not(capsys, tmp_path, bare, quoted, line):
    for i, body in enumerate((bare, quoted)):
        p = tmp_path / "p.toml"
        p.write_text(f'name = "Ada Quill"\n{body}', encoding="utf-8")
        err = run_refused(capsys, line, tmp_path / f"out{i}", "build", "handout", "--patient", str(p))
        assert "line" not in err and "Expected" not in err and "Invalid" not in err, err


def test_patient_file_syntax_errors_name_the_file_field_and_line(capsys, tmp_path):
    p = tmp_path / "p.toml"
    for body, line in (("name = Ada Quill\n",
                        'p.toml: name: put the value in double quotes (line 1), e.g. name = "..."'),
                       ('\nname = "Ada\n', "p.toml: name: the value's closing quote is missing (line 2)"),
                       ("[[x\n", "p.toml: not valid TOML (line 1)")):
        p.write_text(body, encoding="utf-8")
        err = run_refused(capsys, line, tmp_path / "out", "build", "handout", "--patient", str(p))
        assert "Ada" not in err  # a value is never echoed: it may be a name


@pytest.mark.parametrize("args,field", [
    (["--locale", "fr"], "--locale"),
    (["--paper", "a5"], "--paper"),
    (["--paper", "tabloid"], "--paper"),
    (["--patient", "/nonexistent/p.toml"], "--patient"),
])
def test_bad_options(capsys, tmp_path, args, field):
    run_refused(capsys, field, tmp_path / "o", "build", "handout", *args)


def test_unwritable_output_folder(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run_refused(capsys, "--out", blocker / "sub", "build", "handout")


def test_unknown_document(capsys, tmp_path):
    code, _, err = run(capsys, "build", "brochure", "--out", str(tmp_path))
    assert code == 2 and "brochure" in err


def test_text_command(capsys, renders):
    code, out, _ = run(capsys, "text", str(renders.get("handout", "en", "letter")))
    assert code == 0 and "=== page 1 ===" in out and "IMDELLTRA" in out


def test_strict_fails_on_overdue_source(capsys, tmp_path, monkeypatch, model):
    import datetime as dt
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(model.sources["S16"].review_due() + dt.timedelta(days=1)))
    assert "was due for review" in run_refused(capsys, "--strict", tmp_path, "build", "handout", "--strict")


# ------------------------------------------------------------------ --sample, review dates

def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("document", list(registry.DOCUMENTS))
def test_build_sample_prints_the_registry_sample_values(capsys, tmp_path, document):
    """`--sample` fills every personal field a document has with the registry's sample,
    and a document without personal fields prints none of them."""
    from babel.dates import format_date

    from handouts.registry import PATIENT_VARIABLES
    from tests.helpers import pdfcheck
    spec = registry.get(document)
    code, out, err = run(capsys, "build", document, "--sample", "--out", str(tmp_path))
    assert code == 0, err
    text = _flat(pdfcheck.text(Path(out.strip())))
    names = {v.name for v in spec.variables}
    for var in PATIENT_VARIABLES:
        if isinstance(var.sample, str):
            shown = var.sample in text
        else:  # a date, as the locale writes it in full or short
            shown = any(format_date(var.sample, f, locale="en_US") in text for f in ("long", "medium"))
        assert shown == (var.name in names), (var.name, var.sample)


def _epoch(day) -> str:
    import datetime as dt
    return str(int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()))


def test_build_warns_about_each_overdue_source(capsys, tmp_path, model, monkeypatch):
    """One warning line on stderr per source past its review date, naming it; none before."""
    import datetime as dt
    # (A source that no recorded check read has no review date, and so no due date.)
    due = {sid: s.review_due() for sid, s in model.sources.items() if s.status == "active" and s.review_due()}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(min(due.values())))  # the first due day: nothing overdue yet
    code, out, err = run(capsys, "build", "wallet-card", "--out", str(tmp_path / "a"))
    assert code == 0 and "warning" not in err, err
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(max(due.values()) + dt.timedelta(days=1)))
    code, out, err = run(capsys, "build", "wallet-card", "--out", str(tmp_path / "b"))
    assert code == 0 and Path(out.strip()).is_file()
    warnings = [line for line in err.splitlines() if line.startswith("handouts: warning: source ")]
    assert sorted(line.split()[3] for line in warnings) == sorted(due), err
    assert all(f"due for review on {due[line.split()[3]].isoformat()}" in line for line in warnings)


def test_strict_fails_when_every_source_is_overdue(capsys, tmp_path, model, monkeypatch):
    import datetime as dt
    last = max(s.review_due() for s in model.sources.values() if s.review_due())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(last + dt.timedelta(days=1)))
    assert "due for review" in run_refused(capsys, "--strict", tmp_path, "build", "wallet-card", "--strict")


# -- a bug in the tool itself: one line that says so, never a traceback.

def test_an_unexpected_bug_is_one_line_not_a_traceback(capsys, monkeypatch):
    def boom():
        raise RuntimeError("simulated bug\nsecond line")
    monkeypatch.setattr(clock, "source_date_epoch", boom)
    monkeypatch.delenv("HANDOUTS_DEBUG", raising=False)
    code = main(["check"])
    out, err = capsys.readouterr()
    assert code == 70
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "handouts: internal error: RuntimeError: simulated bug second line "
        "(please report it; set HANDOUTS_DEBUG=1 for details)"]
