"""One request resolver for every door: the command line (`build`, `build --sheet`), the
batch planner and the counter page ask request.resolve, which fills in defaults, checks
in one order and names the file from the document's registry entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handouts import batch, registry
from handouts.errors import HandoutsError
from handouts.patient import Columns, CsvRows, from_mapping, read_patients
from handouts.request import Request, bundle_name, checked_rows, list_tag, patient_tag, resolve
from tests.helpers import SRC

ANN = {"name": "Ann Lee", "first_dose": "2026-12-01", "phone": "555 0100", "locale": "zh-Hant"}


def test_no_document_is_named_outside_the_registry():
    """The doors decide nothing about a document: its name appears only in the registry
    and in the document's own module."""
    names = "|".join(re.escape(n) for n in registry.DOCUMENTS)
    pattern = re.compile(rf"[\"']({names})[\"']")
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == "registry.py" or rel.startswith("documents/"):
            continue
        found = pattern.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{rel} names {found}"


def test_defaults_come_from_the_patient_the_document_and_the_locale(model):
    p = from_mapping(ANN, "p.toml")
    handout = resolve(Request("handout", patient=p), model)
    assert (handout.locale, handout.paper.name) == ("zh-Hant", "a4")  # the patient's locale, its paper
    assert handout.file_name == f"tarlatamab-handout-zh-Hant-a4-{patient_tag(p)}.pdf"
    assert handout.plain_name == "tarlatamab-handout-zh-Hant-a4.pdf"
    poster = resolve(Request("poster", "en"), model)
    assert poster.paper.name == "tabloid" and poster.file_name == "tarlatamab-poster-en-tabloid.pdf"
    card = resolve(Request("wallet-card", "en", patient=p, also="zh-Hant"), model)
    assert card.file_name == f"tarlatamab-wallet-card-en-id1-{patient_tag(p)}+zh-Hant.pdf"
    sheet = resolve(Request("wallet-card", patient=p, sheet="a4-10up"), model)
    assert len(sheet.cards) == 10 and sheet.file_name == f"tarlatamab-wallet-card-zh-Hant-a4-10up-{patient_tag(p)}.pdf"
    large = resolve(Request("handout", "en", "letter", large_print=True), model)
    assert large.file_name == "tarlatamab-handout-en-letter-large-print.pdf"


@pytest.mark.parametrize("req, field, code", [
    # every option wrong: the document's options are checked first, then the locale ...
    (Request("poster", "xx", "letter", also="yy", large_print=True), "large_print", "document.option_unsupported"),
    (Request("handout", "xx", "tabloid", also="yy"), "locale", "locale.unknown"),
    (Request("handout", "en", "tabloid", also="yy"), "also", "locale.unknown"),
    (Request("handout", "en", "tabloid"), "paper", "paper.unknown"),
    (Request("handout", "en", sheet="a4-10up"), "sheet", "document.no_sheets"),
    (Request("wallet-card", "en", bleed=2.0), "bleed", "option.only_with_sheet"),
    (Request("wallet-card", "en", paper="id1", sheet="a4-10up"), "paper", "option.paper_with_sheet"),
    (Request("wallet-card", "en", sheet="a4-10up", bleed=9.0), "bleed", "option.bleed_range"),
    (Request("nope"), "document", "document.unknown"),
])
def test_one_check_order(model, req, field, code):
    with pytest.raises(HandoutsError) as err:
        resolve(req, model)
    assert (err.value.field, err.value.code) == (field, code)


def test_every_door_names_a_patients_files_the_same_way(model, tmp_path, capsys):
    """The command line, the batch planner and the counter page give one file name."""
    from tests.helpers import run
    from handouts.web import core
    p = from_mapping({**ANN, "locale": "en"}, "p.toml")
    toml = tmp_path / "p.toml"
    toml.write_text('name = "Ann Lee"\nfirst_dose = 2026-12-01\nphone = "555 0100"\nlocale = "en"\n')
    code, out, err = run(capsys, "build", "handout", "--patient", toml, "--paper", "letter", "--out", tmp_path / "o")
    assert code == 0, err
    cli = Path(out.strip()).name
    web = core.render_order(core.Order("en", "handout", "letter", core.CARD_SINGLE,
                                       patient={"name": "Ann Lee", "first_dose": "2026-12-01", "phone": "555 0100",
                                                "locale": "en"}, file_names="full"), p)[0][0]
    planned = batch.plan_patients([(2, p)], "list.csv", tmp_path / "b", "en", model)
    in_folder = next(j for j in planned if j.document == "handout" and not j.sheet)
    assert cli == web == resolve(Request("handout", "en", "letter", patient=p), model).file_name
    assert in_folder.name == "tarlatamab-handout-en-letter.pdf" and in_folder.folder.endswith(p.file_key()[:8])
    sheet = next(j for j in planned if j.sheet)
    assert sheet.name == f"tarlatamab-wallet-card-en-letter-8up-{list_tag('list.csv', [p])}.pdf"
    assert core.bundle_name(core.Order("en", "both", "letter", core.CARD_SINGLE, patient={"name": "Ann Lee"},
                                       file_names="full")) \
        == f"tarlatamab-handouts-en-{patient_tag(from_mapping({'name': 'Ann Lee'}, 'x'))}.zip" \
        == bundle_name("tarlatamab", "en", from_mapping({"name": "Ann Lee"}, "x"))


def test_a_list_is_rows_not_a_file(model, monkeypatch):
    """A list is read from rows of cells (the counter page's upload never becomes a file
    or a stand-in for one), each row named where it came from."""
    def no_files(*args, **kwargs):
        raise AssertionError("a patient list in memory was read from a file")
    monkeypatch.setattr(Path, "open", no_files)
    rows = checked_rows(CsvRows("today.csv", "name,first_dose\nAnn,2026-12-01\nBob,1999-01-01\n"), "en", model)
    assert [r for r, _ in rows] == [2, 3]
    assert rows[1][1].where == "today.csv row 3" and rows[1][1].field == "first_dose"
    from handouts.web import core
    assert core.csv_rows("name\nAnn\n", "en", "letter-8up")[0][1].name == "Ann"


def test_other_headings_plug_in_as_column_aliases():
    rows = read_patients(CsvRows("x.csv", "Nom du patient,Phone\nAnn,555 0100\n"),
                         Columns({"name": ("nom du patient",)}))
    assert rows[0][1].name == "Ann" and rows[0][1].phone == "555 0100"
    with pytest.raises(HandoutsError) as err:
        read_patients(CsvRows("x.csv", "Nom du patient\nAnn\n"))
    assert err.value.code == "list.unknown_columns" and err.value.where == "x.csv"


def test_a_list_on_sheets_names_the_list_and_each_row(model):
    source = CsvRows("today.csv", "name,locale\nAnn,en\nBo,en\n")
    res = resolve(Request("wallet-card", sheet="letter-8up", rows=source, copies=2), model)
    assert [c.where for c in res.cards] == ["today.csv row 2"] * 2 + ["today.csv row 3"] * 2
    people = list(dict.fromkeys(c.patient for c in res.cards))
    assert res.file_name == f"tarlatamab-wallet-card-en-letter-8up-2copies-{list_tag('today.csv', people)}.pdf"
    mixed = resolve(Request("wallet-card", sheet="letter-8up", rows=CsvRows("t.csv", "name,locale\nA,en\nB,zh-Hans\n")),
                    model)
    # Two locales: the name says both.
    assert mixed.file_name.startswith("tarlatamab-wallet-card-en_zh-Hans-letter-8up-t-")
