"""The counter page in a real browser: Debian's chromium driven by Playwright (never a
downloaded browser), against `handouts serve`'s app on a free loopback port.

Under CI (env CI set) a missing /usr/bin/chromium is a failure, not a skip:
scripts/install-system-deps.sh installs it as part of `make test`."""

from __future__ import annotations

import re

import io
import logging
import zipfile
from pathlib import Path

import pytest

from tests.helpers import NCI_URL
from tests.helpers.liveserver import counter_page
from tests.helpers.pdfcheck import decode_qr

from handouts.pdftext import extract


@pytest.fixture(scope="module")
def server():
    with counter_page(2) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _pdf(download, tmp_path: Path) -> Path:
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return path


def _qr(path: Path) -> list[str]:
    pages = extract(path).count("=== page")
    return [t for p in range(pages) for t in decode_qr(path, p)]


def test_fill_see_error_fix_preview_download(page, server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    page.goto(server + "/")
    assert page.url.endswith("/en/")
    page.select_option("#documents", "wallet-card")
    page.fill("#name", "Ada Quill")
    page.fill("#first_dose", "2020-01-15")          # before approval: the CLI refuses it too
    page.fill("#oncologist", "Dr. Maria Gonzalez")
    page.fill("#phone", "+1 (555) 010-2030")
    page.fill("#treatment_center", "Riverside Cancer Center")
    page.screenshot(path=str(tmp_path / "1-filled.png"), full_page=True)
    page.click("#download")
    error = page.locator("#first_dose-error")
    error.wait_for()
    assert "before the drug was approved" in error.inner_text()
    assert page.get_attribute("#first_dose", "aria-invalid") == "true"
    assert page.input_value("#name") == "Ada Quill"           # what was typed is kept
    page.screenshot(path=str(tmp_path / "2-error.png"), full_page=True)

    page.fill("#first_dose", "2026-12-01")
    page.click("#preview")
    page.locator("#previews img").first.wait_for()
    assert page.locator("#previews img").count() == 2          # card front and back
    assert page.locator("#first_dose-error").count() == 0
    page.screenshot(path=str(tmp_path / "3-preview.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#download")
    path = _pdf(info.value, tmp_path)
    # the server's log (uvicorn's access log included) saw the requests, not the patient
    server_log = caplog.text                       # before this test reads the PDF itself
    assert "POST /en/download" in server_log
    assert "Ada" not in server_log and "Gonzalez" not in server_log and "010-2030" not in server_log
    assert _undigest(path.name) == "tarlatamab-wallet-card-en-id1-AQ.pdf"          # initials, not the name
    text = extract(path)
    assert "Ada Quill" in text and "Dr. Maria Gonzalez" in text
    # The card's back: the NCI page and, for clinicians, the label on DailyMed.
    from handouts import content
    assert sorted(_qr(path)) == sorted([NCI_URL, content.default().meta.dailymed_url])


def test_download_a_handout(page, server, tmp_path):
    page.goto(server + "/en/")
    page.select_option("#documents", "handout")
    page.select_option("#paper", "a4")
    page.fill("#name", "Ben Okafor")
    page.fill("#first_dose", "2026-12-01")
    with page.expect_download() as info:
        page.click("#download")
    path = _pdf(info.value, tmp_path)
    assert _undigest(path.name) == "tarlatamab-handout-en-a4-BO.pdf"
    assert "Ben Okafor" in extract(path)
    assert _qr(path) == [NCI_URL]


def test_switch_the_page_to_chinese(page, server, tmp_path):
    page.goto(server + "/en/")
    page.click("text=简体中文")
    page.wait_for_url("**/zh-Hans/")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    assert page.inner_text("label[for=name]") == "患者姓名"
    faces = page.evaluate("document.fonts.ready.then(() => [...document.fonts].filter(f => f.status === 'loaded')"
                          ".map(f => f.family))")
    assert "Bundled Noto Sans SC" in faces                    # bundled, served by the page: no tofu
    assert page.input_value("#locale") == "zh-Hans"            # patient's language follows the page
    page.fill("#phone", "call me")
    page.click("#download")
    page.locator("#phone-error").wait_for()
    assert "电话号码只能包含数字" in page.inner_text("#phone-error")
    page.screenshot(path=str(tmp_path / "4-zh-Hans-error.png"), full_page=True)
    page.click("text=繁體中文")
    page.wait_for_url("**/zh-Hant/")
    assert page.inner_text("#download") == "下載 PDF"


def test_upload_a_small_csv(page, server, tmp_path, caplog):
    csv = ("name,first_dose,phone,locale\n"
           "Ada Quill,2026-12-01,+1 555 010 2030,en\n"
           "林美玲,2026-12-03,+886 2 2345 6789,zh-Hant\n"
           "Bad Phone,2026-12-01,call me,en\n").encode()
    caplog.set_level(logging.INFO)
    page.goto(server + "/en/")
    page.set_input_files("#patients", files=[{"name": "today.csv", "mimeType": "text/csv", "buffer": csv}])
    jobs = []
    page.on("response", lambda r: jobs.append(r.json()["job"]) if r.url.endswith("/en/batch") else None)
    with page.expect_download() as info:
        page.click("#upload")
    download = info.value
    assert download.suggested_filename == "tarlatamab-handouts-patients.zip"
    data = Path(download.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = {_undigest(n) for n in z.namelist()}
    assert {"AQ/tarlatamab-handout-en-letter-AQ.pdf", "林/tarlatamab-wallet-card-zh-Hant-id1-林.pdf",
            "tarlatamab-wallet-card-en_zh-Hant-letter-8up-patients.pdf", "rows-not-printed.txt"} <= names
    assert page.locator("#batch-progress").get_attribute("value") == "5"
    assert "Done: 5 PDF files." in page.inner_text("#batch-progress-text")
    assert "Row 4" in page.inner_text("#batch-problems")
    page.screenshot(path=str(tmp_path / "5-csv.png"), full_page=True)
    # The job id, the only key to the ZIP, went in POST bodies: the access log never saw it.
    assert len(jobs) == 1 and len(jobs[0]) >= 20 and "POST /en/batch " in caplog.text
    assert jobs[0] not in caplog.text, "the job id reached the access log"
    assert "POST /en/batch/status" in caplog.text and "POST /en/batch/zip" in caplog.text


def test_keyboard_only_labels_focus_and_tab_order(page, server):
    page.goto(server + "/en/")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(el => el.type !== 'hidden')
        .filter(el => el.tagName === 'BUTTON' ? !el.textContent.trim() : el.labels.length === 0)
        .map(el => el.id || el.name)""")
    assert unlabelled == []
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const el = document.activeElement; const s = getComputedStyle(el);
            return {id: el.id, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
        if info["id"]:
            reached.append(info["id"])
            assert info["outline"] != "none" and info["width"] >= 2, f"no visible focus on {info['id']}"
    for control in ("name", "first_dose", "phone", "preview", "download", "patients", "upload"):
        assert control in reached, f"Tab never reaches #{control}: {reached}"
    assert reached.index("download") < reached.index("preview") < reached.index("patients")


def test_keyboard_only_fill_and_download(page, server, tmp_path):
    page.goto(server + "/en/")
    page.focus("#documents")
    page.keyboard.press("ArrowDown")                 # "Wallet card and handout" -> "Wallet card only"
    assert page.input_value("#documents") == "wallet-card"
    page.focus("#name")
    page.keyboard.type("Cy Keys")
    page.keyboard.press("Tab")                       # first_dose: a date field, typed as the locale shows it
    page.keyboard.type("12012026")
    for _ in range(3):
        page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "first_dose"
    page.focus("#download")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = _pdf(info.value, tmp_path)
    assert _undigest(path.name) == "tarlatamab-wallet-card-en-id1-CK.pdf"
    assert "Cy Keys" in extract(path)


def test_also_english_by_keyboard(page, server, tmp_path):
    """A zh-Hant handout with English on the same sheets, chosen by keyboard (a
    document without a bilingual version is refused in web/test_app.py, in each language)."""
    page.goto(server + "/zh-Hant/")
    assert page.inner_text("label[for=also]") == "同時加印第二種語言"
    page.focus("#also")
    page.keyboard.press("ArrowDown")                 # "No second language" -> English
    assert page.input_value("#also") == "en"
    page.focus("#documents")
    page.keyboard.press("ArrowDown")                 # -> "Wallet card only"
    page.focus("#name")
    page.keyboard.type("林美玲")
    assert page.input_value("#documents") == "wallet-card"
    page.focus("#documents")
    page.keyboard.press("ArrowDown")                 # -> "Handout only"
    assert page.input_value("#documents") == "handout"
    page.focus("#download")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = _pdf(info.value, tmp_path)
    # Letter: the pharmacy's paper (the server's), whatever the page's language.
    assert re.sub(r"-[0-9a-f]{8}(?=\+)", "", path.name) == "tarlatamab-handout-zh-Hant-letter-林+en.pdf"
    text = extract(path)
    assert "這是什麼藥？" in text and "What is this medicine?" in text


def _undigest(name: str) -> str:
    """File and folder names carry a digest of the patient's record; compare without it."""
    return re.sub(r"-[0-9a-f]{8}(?=\.pdf|/|$)", "", name)
