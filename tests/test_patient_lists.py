"""Patient lists as clinics have them: headers as a spreadsheet user types them, dates as
their spreadsheet writes them, and Excel workbooks. The spreadsheet files here were made
by LibreOffice Calc (tests/lists/make.sh) from the README's sample list, docs/today.csv."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from tests.helpers import LISTS, ROOT, run, run_refused

from handouts.errors import HandoutsError
from handouts.patient import ALIASES, FIELDS, CsvRows, Patient, list_source, read_list, read_patients
from handouts.request import checked_rows

SAMPLE = ROOT / "docs" / "today.csv"


def patients(rows) -> list[Patient]:
    bad = [item for _, item in rows if isinstance(item, HandoutsError)]
    assert not bad, [b.one_line() for b in bad]
    return [item for _, item in rows]


# ------------------------------------------------------------------ headers

@pytest.mark.parametrize("header", [
    "Name,First Dose,Oncologist,Phone,Treatment Center,Language",
    "NAME, first_dose ,ONCOLOGIST,phone,treatment-center,locale",
    "Patient Name,Date of first dose,Doctor,Telephone,Clinic,Lang",
    "full_name,C1D1,physician,24-hour phone,Treatment Centre,language",
])
def test_headers_are_read_without_case_spaces_or_underscores_and_with_aliases(model, header):
    text = header + "\nAda Quill,2026-12-01,Dr. Maria Gonzalez,+1 555 010 2030,Riverside,zh-Hans\n"
    [ada] = patients(checked_rows(CsvRows("today.csv", text), "en", model))
    assert ada == Patient(name="Ada Quill", first_dose=dt.date(2026, 12, 1), oncologist="Dr. Maria Gonzalez",
                          phone="+1 555 010 2030", treatment_center="Riverside", locale="zh-Hans")


def test_an_unknown_header_names_the_columns_that_are_accepted():
    with pytest.raises(HandoutsError) as err:
        read_patients(CsvRows("today.csv", "Name,Favourite colour\nAda,red\n"))
    line = err.value.one_line()
    assert err.value.code == "list.unknown_columns" and "Favourite colour" in line and "first_dose" in line
    assert "[" not in line and "'" not in line, line  # words, not a Python list


def test_the_readme_documents_every_column_name():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for field in FIELDS:
        for alias in ALIASES.get(field, ()):
            assert f"`{alias}`" in readme, f"README does not list {alias!r} for {field}"


def test_the_readme_sample_list_is_the_docs_file_and_reads():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```csv\n(.*?)```", readme, re.S)
    assert block and block.group(1) == SAMPLE.read_text(encoding="utf-8")


# ------------------------------------------------------------------ dates

def test_dates_follow_the_lists_order_and_iso_is_always_read(model):
    text = "name,first_dose\nA,12/01/2026\nB,2026-12-03\nC,1/5/27\n"
    us = patients(checked_rows(CsvRows("t.csv", text), "en", model))                  # en: month/day/year
    assert [p.first_dose for p in us] == [dt.date(2026, 12, 1), dt.date(2026, 12, 3), dt.date(2027, 1, 5)]
    uk = patients(checked_rows(CsvRows("t.csv", "name,first_dose\nA,01/12/2026\nB,2026-12-03\n"), "en",
                               model, date_order="DMY"))
    assert [p.first_dose for p in uk] == [dt.date(2026, 12, 1), dt.date(2026, 12, 3)]
    cn = patients(checked_rows(CsvRows("t.csv", "name,first_dose\nA,2026/12/01\n"), "zh-Hans", model))
    assert cn[0].first_dose == dt.date(2026, 12, 1)                                    # zh: year/month/day


@pytest.mark.parametrize("cell,order,locale,words", [
    ("13/01/2026", None, "en", "13/01/2026 is not a date in month/day/year order, the list's date order; if the "
                               "list writes day/month/year, say so (--date-order DMY)"),
    ("12/01/2026", None, "zh-Hant", "could be month/day/year or day/month/year; say which the list uses "
                                    "(--date-order MDY or DMY)"),
    ("02/30/2026", None, "en", "02/30/2026 is not a calendar date"),
    ("Dec 1st", "DMY", "en", "Dec 1st is not a date; write it as 01/12/2026 (day/month/year) or as 2026-12-01"),
])
def test_a_date_the_order_cannot_read_is_refused_naming_row_and_column(model, cell, order, locale, words):
    text = f"Name,Phone,First Dose\nAda,555 0100,2026-12-01\nBo,555 0101,{cell}\n"
    rows = checked_rows(CsvRows("today.csv", text), locale, model, date_order=order)
    assert isinstance(rows[0][1], Patient)
    err = rows[1][1]
    assert isinstance(err, HandoutsError) and err.field == "first_dose"
    assert err.one_line().startswith("today.csv row 3: first_dose (column C): "), err.one_line()
    assert words in err.one_line()
    assert "picker" not in err.one_line()


def test_the_command_line_takes_a_date_order(capsys, tmp_path, stub_render):
    lst = tmp_path / "today.csv"
    lst.write_text("Name,First Dose\nAda,01/12/2026\nBo,13/12/2026\n", encoding="utf-8")
    err = run_refused(capsys, "today.csv row 3: first_dose (column B)", tmp_path / "o", "build", "wallet-card",
                      "--sheet", "letter-8up", "--patients", lst)
    assert "--date-order DMY" in err
    code, out, err = run(capsys, "batch", "--patients", lst, "--date-order", "dmy", "--jobs", "1",
                         "--out", tmp_path / "b")
    assert code == 0, err
    assert run(capsys, "batch", "--patients", lst, "--date-order", "XYZ", "--out", tmp_path / "c")[0] == 2


# ------------------------------------------------------------------ spreadsheet files

def test_libreoffice_files_give_the_patients_of_the_sample_list(model):
    """The README's sample (a US Excel CSV), LibreOffice's .xlsx of it (date cells) and
    LibreOffice's CSV of that (two-digit years) are the same four patients."""
    expected = patients(checked_rows(read_list(SAMPLE), "en", model))
    assert [p.first_dose for p in expected] == [dt.date(2026, 12, 1), dt.date(2026, 12, 3), dt.date(2026, 12, 8),
                                                dt.date(2027, 1, 5)]
    assert [p.locale for p in expected] == ["en", "zh-Hans", "zh-Hant", None]
    for name in ("libreoffice-today.xlsx", "libreoffice-today.csv"):
        assert patients(checked_rows(read_list(LISTS / name), "en", model)) == expected, name


def test_an_xlsx_row_error_names_its_excel_row_and_column(model):
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "First Dose"])
    sheet.append(["Ada", 5550102030, dt.datetime(2026, 12, 1)])        # a phone typed as a number
    sheet.append([None, None, None])                                    # a blank row keeps its number
    sheet.append(["Bo", "call me", dt.datetime(2026, 12, 2, 14, 30)])  # a date with a time
    buf = io.BytesIO()
    book.save(buf)
    rows = checked_rows(list_source("today.xlsx", buf.getvalue()), "en", model)
    assert rows[0][1] == Patient(name="Ada", phone="5550102030", first_dose=dt.date(2026, 12, 1))
    assert [r for r, _ in rows] == [2, 4]
    assert rows[1][1].one_line().startswith("today.xlsx row 4: first_dose (column C): give a date without a time")


@pytest.mark.parametrize("data,code", [
    (b"PK\x03\x04 not really a zip", "list.not_xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "list.old_excel"),
])
def test_a_file_that_is_not_a_readable_list_says_what_to_save_it_as(data, code):
    with pytest.raises(HandoutsError) as err:
        read_patients(list_source("today.xlsx", data))
    assert err.value.code == code and ".xlsx" in err.value.one_line() and "CSV UTF-8" in err.value.one_line()


def test_an_xlsx_that_unpacks_to_a_huge_file_is_refused_unread(monkeypatch):
    """An .xlsx is a ZIP: a small file may unpack to gigabytes. The sizes its directory
    declares are checked before openpyxl reads a byte."""
    from handouts import patient
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b" " * (patient.MAX_XLSX_UNPACKED + 1))
    assert len(buf.getvalue()) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("openpyxl was asked to read it")
    import openpyxl
    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(HandoutsError) as err:
        read_patients(list_source("big.xlsx", buf.getvalue()))
    assert err.value.code == "list.xlsx_too_large"


def test_batch_reads_an_xlsx_on_the_command_line(capsys, tmp_path, stub_render):
    code, out, err = run(capsys, "batch", "--patients", LISTS / "libreoffice-today.xlsx", "--jobs", "1",
                         "--out", tmp_path / "out")
    assert code == 0, err
    made = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.pdf"))
    assert len([m for m in made if m.count("/") == 2]) == 8   # a handout and a card for each of 4 patients

