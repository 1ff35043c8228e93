"""The counter page on a pharmacy's ordinary day, through Starlette's TestClient with
real workers: the lists clinics have (Excel exports, .xlsx), one set of card sheets per
list, counts that are the ZIP's files, a print tab per document, file names without the
patient's full name, and paper from where the pharmacy is, not from the browser."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

from tests.helpers import LISTS, ROOT, run  # noqa: E402

from handouts.pdftext import extract  # noqa: E402

BASE = "http://127.0.0.1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _app(**settings):
    from starlette.testclient import TestClient

    from handouts.web import core
    from handouts.web.app import create_app
    return TestClient(create_app(workers_count=1, warm=False, settings=core.Settings(**settings) if settings else None),
                      base_url=BASE)


@pytest.fixture(scope="module")
def client():
    with _app() as c:
        yield c


def upload(client, data: bytes, name: str = "today.csv", ui: str = "en", kind: str = "text/csv", **fields):
    return client.post(f"/{ui}/batch", files={"patients": (name, data, kind)},
                       data={"locale": "en", **fields}, headers={"accept": "application/json"})


def finish(client, job: dict, ui: str = "en") -> tuple[dict, zipfile.ZipFile]:
    import time
    for _ in range(900):
        status = client.post(f"/{ui}/batch/status", data={"job": job["job"]}).json()
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["ready"], status
    z = client.post(f"/{ui}/batch/zip", data={"job": job["job"]})
    return status, zipfile.ZipFile(io.BytesIO(z.content))


def undigest(name: str) -> str:
    return re.sub(r"-[0-9a-f]{8}(?=\.pdf|/|$|\+)", "", name)


# ------------------------------------------------------------------ the files clinics have

@pytest.mark.parametrize("name,kind", [("docs-today.csv", "text/csv"), ("libreoffice-today.xlsx", XLSX),
                                       ("libreoffice-today.csv", "text/csv")])
def test_a_clinics_list_as_excel_and_libreoffice_save_it(client, name, kind):
    """The README's sample (US dates, "First Dose" headers), LibreOffice's .xlsx of it and
    LibreOffice's CSV of that (two-digit years) all print, with one set of sheets."""
    path = ROOT / "docs" / "today.csv" if name == "docs-today.csv" else LISTS / name
    r = upload(client, path.read_bytes(), name=name, kind=kind)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["problems"] == [] and job["total"] == 4 * 2 + 1
    status, z = finish(client, job)
    pdfs = [n for n in z.namelist() if n.endswith(".pdf")]
    # Counts that match: the page's count is the ZIP's PDF files.
    assert status["done"] == status["total"] == len(pdfs) == 9
    assert status["progress"] == ("Done: 9 PDF files. Patients: 4, each with the wallet card, the handout. "
                                  "Card sheets: one file; sheets of card stock needed: 1.")
    sheets = [n for n in pdfs if "/" not in n]
    assert [undigest(n) for n in sheets] == ["tarlatamab-wallet-card-en_zh-Hans_zh-Hant-letter-8up-patients.pdf"]
    slots = z.read("cards-on-sheets.txt").decode().splitlines()[1:]
    assert [re.sub(r", folder .*", "", s) for s in slots] == [
        "Sheet 1, slot 1: row 2, English", "Sheet 1, slot 2: row 3, 简体中文", "Sheet 1, slot 3: row 4, 繁體中文",
        "Sheet 1, slot 4: row 5, English"]


def test_list_rows_are_told_in_rows_and_columns_not_pickers(client):
    data = (b"Name,Phone,First Dose\n"
            b"Ada Quill,555 0100,12/01/2026\n"
            b"Bo Chen,555 0101,13/01/2026\n"          # not month/day/year
            b"Cy Keys,555 0102,02/30/2026\n")  # no such day
    job = upload(client, data).json()
    assert job["problems"] == [
        "Row 3, column C · Date of the first dose: 13/01/2026 is not a date in month/day/year order. If the file "
        "writes dates as day/month/year, choose that under \u201cDates in the file\u201d and upload it again.",
        "Row 4, column C · Date of the first dose: 02/30/2026 is not a real date. Correct it in the file."]
    assert job["total"] == 3
    finish(client, job)
    # The same file, its order chosen on the page: every row prints.
    job = upload(client, data.replace(b"02/30", b"03/12"), date_order="DMY").json()
    assert job["problems"] == [] and job["total"] == 7
    finish(client, job)


def test_an_ambiguous_date_is_refused_in_the_pages_language(client):
    data = "name,first_dose\nAda,2026-12-01\n林美玲,12/01/2026\n".encode()
    job = upload(client, data, ui="zh-Hant", locale="zh-Hant").json()  # zh-Hant: year/month/day
    assert len(job["problems"]) == 1
    assert job["problems"][0].startswith("第 3 列，B 欄 · 首次給藥日期：12/01/2026 不是依「年/月/日」書寫的"), \
        job["problems"]
    finish(client, job, ui="zh-Hant")


def test_nothing_printed_gives_no_zip_and_says_why(client):
    r = upload(client, b"name,first_dose\nAda,2026-02-30\nBo,31/31/2026\n")
    assert r.status_code == 422
    body = r.json()
    assert "job" not in body and body["error"].startswith("Nothing was printed")
    assert [p.split(" · ")[0] for p in body["problems"]] == ["Row 2, column B", "Row 3, column B"]
    # Without the page's script: the page again, with the rows listed, and no ZIP.
    page = client.post("/en/batch", files={"patients": ("t.csv", b"name,first_dose\nAda,2026-02-30\n", "text/csv")},
                       data={"locale": "en"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "Nothing was printed" in page.text and "Row 2, column B" in page.text


def test_a_broken_or_old_spreadsheet_is_refused_with_what_to_save_it_as(client):
    r = upload(client, b"PK\x03\x04broken", name="t.xlsx", kind=XLSX)
    assert r.status_code == 400 and "save it again as .xlsx" in r.json()["error"]


# ------------------------------------------------------------------ print in one click

def test_a_print_button_opens_one_document_inline(client, tmp_path):
    form = {"locale": "en", "documents": "both", "paper": "letter", "card": "card", "name": "Ada Quill",
            "first_dose": "2026-12-01"}
    for document, words in (("wallet-card", "I receive tarlatamab"), ("handout", "What is this medicine?")):
        r = client.post("/en/print", data={**form, "print": document})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        cd = r.headers["content-disposition"]
        medium = "id1" if document == "wallet-card" else "letter"
        assert cd.startswith("inline;") and undigest(cd).endswith(f"{document}-en-{medium}-AQ.pdf")
        path = tmp_path / f"{document}.pdf"
        path.write_bytes(r.content)
        assert words in extract(path)


def test_one_card_in_the_top_left_slot_of_a_sheet(client, tmp_path):
    form = {"locale": "en", "documents": "wallet-card", "card": "letter-8up", "name": "Ada Quill"}
    one = client.post("/en/download", data={**form, "copies": "1"})
    full = client.post("/en/download", data=form)
    from pypdf import PdfReader
    texts = []
    for r in (one, full):
        assert r.status_code == 200
        texts.append(PdfReader(io.BytesIO(r.content)).pages[0].extract_text())
    assert texts[0].count("Ada Quill") == 1 and texts[1].count("Ada Quill") == 8


# ------------------------------------------------------------------ file names and privacy

def test_the_same_patient_gets_the_same_digest_from_the_form_the_list_and_the_cli(client, capsys, tmp_path):
    patient = {"name": "Li Wei 李伟", "first_dose": "2026-12-01", "phone": "+1 555 010 2030"}
    r = client.post("/en/download", data={"locale": "zh-Hans", "documents": "handout", "paper": "a4",
                                          "card": "card", **patient})
    form_name = undigest(r.headers["content-disposition"].split("''")[1])
    digest = re.search(r"-([0-9a-f]{8})\.pdf", r.headers["content-disposition"]).group(1)
    assert "Li" not in form_name and "%E6%9D%8E%E4%BC%9F" not in form_name          # initials only
    csv = ("name,first_dose,phone,locale\n" f"{patient['name']},{patient['first_dose']},{patient['phone']},zh-Hans\n")
    job = upload(client, csv.encode()).json()
    _, z = finish(client, job)
    folder = next(n.split("/")[0] for n in z.namelist() if "/" in n)
    assert folder == f"LW李-{digest}"
    toml = tmp_path / "p.toml"
    toml.write_text(f'name = "{patient["name"]}"\nfirst_dose = {patient["first_dose"]}\nphone = "{patient["phone"]}"\n',
                    encoding="utf-8")
    code, out, err = run(capsys, "build", "handout", "--locale", "zh-Hans", "--patient", toml, "--out", tmp_path / "o")
    assert code == 0, err
    # The command line: the name, as before.
    assert Path(out.strip()).name == f"tarlatamab-handout-zh-Hans-a4-Li-Wei-李伟-{digest}.pdf"
    lst = tmp_path / "today.csv"
    lst.write_text(csv, encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", lst, "--file-names", "initials", "--jobs", "1",
                         "--out", tmp_path / "b")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "b" / "patients").iterdir() if p.is_dir()] == [f"LW李-{digest}"]


def test_the_page_says_where_downloads_go_and_how_they_are_named(client):
    page = client.get("/en/").text
    assert "Nothing is saved" not in page
    assert "saved by your browser" in page and "initials" in page
    with _app(file_names="full") as full:
        assert "with the patient's name in its file name" in full.get("/en/").text
        r = full.post("/en/download", data={"locale": "en", "documents": "wallet-card", "card": "card",
                                            "name": "Ada Quill"})
        assert "wallet-card-en-id1-Ada-Quill.pdf" in undigest(r.headers["content-disposition"])


# ------------------------------------------------------------------ paper from where the pharmacy is

def _selected(page: str, select: str) -> str:
    block = re.search(rf'<select id="{select}".*?</select>', page, re.S).group(0)
    return re.search(r'<option value="([^"]*)"[^>]* selected', block).group(1)


def test_paper_comes_from_the_server_not_from_the_pages_language(client):
    for ui in ("en", "zh-Hans", "zh-Hant"):            # a US pharmacy (the default): Letter in every language
        page = client.get(f"/{ui}/").text
        assert _selected(page, "paper") == "letter" and _selected(page, "batch-card") == "letter-8up", ui
    r = client.post("/zh-Hans/download", data={"locale": "zh-Hans", "documents": "handout", "card": "card"})
    assert "handout-zh-Hans-letter.pdf" in r.headers["content-disposition"]
    with _app(paper="a4") as a4:                       # `handouts serve --paper a4`
        page = a4.get("/en/").text
        assert _selected(page, "paper") == "a4" and _selected(page, "batch-card") == "a4-10up"
        r = a4.post("/en/download", data={"locale": "en", "documents": "handout", "card": "card"})
        assert "handout-en-a4.pdf" in r.headers["content-disposition"]


@pytest.mark.parametrize("environ,region,paper,order", [
    ({"LANG": "en_US.UTF-8"}, None, "letter", "MDY"),
    ({"LANG": "zh_CN.UTF-8"}, None, "a4", "YMD"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "en_US.UTF-8"}, None, "a4", "DMY"),
    ({"LANG": "C.UTF-8"}, None, "letter", None),
    ({"LANG": "zh_TW.UTF-8"}, "us", "letter", "MDY"),     # --region wins over the computer's settings
])
def test_the_pharmacys_region_sets_paper_and_date_order(environ, region, paper, order):
    from handouts.web import core
    settings = core.settings_for(region=region, environ=environ)
    assert (settings.paper, settings.date_order) == (paper, order)
    assert core.settings_for(paper="a4", environ={"LANG": "en_US.UTF-8"}).paper == "a4"


def test_serve_takes_the_pharmacys_paper_and_region(monkeypatch, capsys):
    import uvicorn

    from handouts.cli import main
    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(app=self.config.app))
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    from tests.helpers.liveserver import free_port
    port = str(free_port())
    assert main(["serve", "--port", port, "--region", "US"]) == 0, capsys.readouterr().err
    settings = seen["app"].app.state.settings
    assert (settings.paper, settings.date_order, settings.file_names) == ("letter", "MDY", "initials")
    assert "paper letter" in capsys.readouterr().err
    assert main(["serve", "--port", port, "--paper", "a4", "--file-names", "full"]) == 0
    assert (seen["app"].app.state.settings.paper, seen["app"].app.state.settings.file_names) == ("a4", "full")
    assert main(["serve", "--port", port, "--region", "U"]) == 2
    assert "--region" in capsys.readouterr().err
