"""`handouts serve`: the counter page through Starlette's TestClient, with real worker
processes. Validation is the CLI's, errors sit beside their fields, limits hold, and no
patient data reaches a log or the disk."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import re
import logging
import tempfile
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

from tests.helpers import NCI_URL  # noqa: E402
from tests.helpers.pdfcheck import decode_qr  # noqa: E402
from handouts import content  # noqa: E402

from handouts.pdftext import extract  # noqa: E402

BASE = "http://127.0.0.1"
PATIENT = {"name": "Ada Quill", "first_dose": "2026-12-01", "oncologist": "Dr. Maria Gonzalez",
           "phone": "+1 (555) 010-2030", "treatment_center": "Riverside Cancer Center"}


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory):
    """The app and its worker processes get a temp folder of their own (TMPDIR is
    inherited by the spawned workers), so the privacy test can see anything written."""
    root = tmp_path_factory.mktemp("web-tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(root))
        mp.setattr(tempfile, "tempdir", str(root))
        yield root


@pytest.fixture(scope="module")
def client(private_tmp):
    from starlette.testclient import TestClient

    from handouts.web.app import create_app
    with TestClient(create_app(workers_count=2, warm=False), base_url=BASE) as c:
        yield c


def form(**over) -> dict:
    data = {"locale": "en", "documents": "wallet-card", "paper": "letter", "card": "card", **PATIENT}
    data.update(over)
    return data


def pdf_text(data: bytes, tmp_path: Path, name: str = "out.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return extract(path)


class Fields(HTMLParser):
    """Inputs and selects with their labels, and the error paragraphs of a page."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.labels: set[str] = set()
        self.errors: dict[str, str] = {}
        self._error: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag == "p" and "error" in (a.get("class") or "").split():
            self._error = a["id"].removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag):
        if tag == "p":
            self._error = None

    def handle_data(self, data):
        if self._error:
            self.errors[self._error] += data


def parse(html: str) -> Fields:
    f = Fields()
    f.feed(html)
    return f


# ----------------------------------------------------------------------- page

def test_home_redirects_by_accept_language(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/en/"
    r = client.get("/", headers={"accept-language": "zh-TW,zh;q=0.9"}, follow_redirects=False)
    assert r.headers["location"] == "/zh-Hant/"
    r = client.get("/", headers={"accept-language": "zh-CN"}, follow_redirects=False)
    assert r.headers["location"] == "/zh-Hans/"


@pytest.mark.parametrize("header,ui", [
    ("en;q=0.1, zh-TW;q=0.9", "zh-Hant"),          # by q-value, not by position
    ("zh-Hans-HK", "zh-Hans"),                      # the script decides, not the region
    ("zh-HK", "zh-Hant"), ("zh-MO", "zh-Hant"), ("zh-SG", "zh-Hans"), ("zh", "zh-Hans"),
    ("fr-FR, zh-HK;q=0.8, en;q=0.5", "zh-Hant"),    # unavailable languages are skipped
    ("zh-TW;q=0, en;q=0.1", "en"),                  # q=0 means "not this one"
    ("*", "en"), ("x-klingon;q=bad, ???", "en"),
])
def test_home_negotiates_the_page_language(client, header, ui):
    r = client.get("/", headers={"accept-language": header}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/{ui}/"


@pytest.mark.parametrize("ui,lang,word", [("en", "en-US", "Download PDF"), ("zh-Hans", "zh-Hans", "下载 PDF"),
                                          ("zh-Hant", "zh-Hant", "下載 PDF")])
def test_page_in_each_language_every_control_labelled(client, ui, lang, word):
    r = client.get(f"/{ui}/")
    assert r.status_code == 200
    assert f'<html lang="{lang}"' in r.text and word in r.text
    page = parse(r.text)
    assert len(page.controls) >= 10
    for control in page.controls:
        assert control.get("id") in page.labels, f"no <label for> for {control}"


def test_page_loads_nothing_from_elsewhere(client):
    html = client.get("/en/").text
    urls = re.findall(r'(?:src|href|action)="([^"]+)"', html)
    assert urls and all(u.startswith(("/", "#")) for u in urls), urls
    for u in ("/static/page.css", "/static/page.js"):
        body = client.get(u).text
        assert "http://" not in body and "https://" not in body and "@import" not in body
    csp = client.get("/en/").headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp


def test_bundled_fonts_are_served_and_nothing_else(client):
    r = client.get("/fonts/NotoSansTC_400Regular.ttf")
    assert r.status_code == 200 and r.content[:4] == b"\x00\x01\x00\x00"
    for bad in ("/fonts/fonts.toml", "/fonts/OFL-NotoSans.txt", "/fonts/..%2F..%2Fpyproject.toml"):
        assert client.get(bad).status_code == 404, bad


def test_unknown_page_language_is_404_and_bad_host_is_refused(client):
    assert client.get("/fr/").status_code == 404
    assert client.get("/en/", headers={"host": "evil.example:8000"}).status_code == 400


def test_post_from_another_site_is_refused(client):
    r = client.post("/en/download", data=form(), headers={"origin": "https://evil.example"})
    assert r.status_code == 403


@pytest.mark.parametrize("host,parsed", [
    ("127.0.0.1", ("127.0.0.1", None)), ("127.0.0.1:8000", ("127.0.0.1", 8000)), ("LocalHost:80", ("localhost", 80)),
    ("[::1]", ("::1", None)), ("[::1]:8000", ("::1", 8000)), ("[0:0:0:0:0:0:0:1]:8000", ("::1", 8000)),
    ("[::1].evil.example", None), ("[::1]evil:80", None), ("[::1]:", None), ("127.0.0.1:", None),
    ("127.0.0.1:99999", None), ("127.0.0.1:0", None), ("localhost.", None), ("a..b", None), ("", None),
    ("user@127.0.0.1", None), ("127.0.0.1 ", None), ("127.0.0.1/x", None), ("[fe80::1%25eth0]", None),
    ("[::1", None), ("::1", None), ("127.0.0.1:80:80", None), ("-localhost", None),
])
def test_host_parsing_is_strict(host, parsed):
    from handouts.web.app import parse_host
    assert parse_host(host) == parsed


@pytest.mark.parametrize("origin,ok", [
    ("http://127.0.0.1:8000", True), ("http://localhost:8000", False),   # another name is another origin
    ("https://127.0.0.1:8000", False),    # https is another origin than this http server
    ("http://127.0.0.1", False), ("http://127.0.0.1:80", False), ("http://127.0.0.1:8000/", False),
    ("http://[::1].evil.example:8000", False), ("null", False), ("", False), ("http://127.0.0.1:8000 ", False),
    ("ws://127.0.0.1:8000", False), ("http://user@127.0.0.1:8000", False),
])
def test_origin_must_be_exactly_this_server(origin, ok):
    from handouts.web.app import same_origin
    assert same_origin(origin, "http", ("127.0.0.1", 8000)) is ok


@pytest.mark.parametrize("headers,method,status", [
    ([(b"host", b"[::1].evil.example")], "GET", 400),
    ([(b"host", b"127.0.0.1"), (b"host", b"evil.example")], "GET", 400),          # two Host headers
    ([], "GET", 400),
    ([(b"host", b"[::1]:8000")], "GET", 200),
    ([(b"host", b"127.0.0.1:8000"), (b"origin", b"https://127.0.0.1:8000")], "POST", 403),
    ([(b"host", b"127.0.0.1:8000"), (b"origin", b"null")], "POST", 403),
    ([(b"host", b"127.0.0.1:8000"), (b"sec-fetch-site", b"cross-site")], "POST", 403),
    ([(b"host", b"127.0.0.1:8000"), (b"sec-fetch-site", b"same-site")], "POST", 403),
    ([(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
      (b"sec-fetch-site", b"same-origin")], "POST", 200),
])
def test_guard_checks_host_and_origin_strictly(headers, method, status):
    import asyncio

    from handouts.web.app import Guard

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "scheme": "http", "path": "/", "headers": headers}
    asyncio.run(Guard(ok, ("127.0.0.1", "localhost", "::1"))(scope, receive, send))
    assert sent[0]["status"] == status


def test_finished_lists_are_forgotten_on_a_timer_without_another_request():
    """A finished ZIP leaves memory after its time, whether or not a request comes."""
    import asyncio

    from handouts.web.app import MAX_KEPT, Lists

    async def scenario():
        lists = Lists(ttl=0.2)
        jobs = [lists.reserve() for _ in range(2)]
        lists.finish(jobs[0], "done")
        assert lists.get(jobs[0].id) is jobs[0]
        await asyncio.sleep(0.1)
        lists.finish(jobs[1], "failed")
        await asyncio.sleep(0.15)
        assert lists.get(jobs[0].id) is None and lists.get(jobs[1].id) is jobs[1]
        await asyncio.sleep(0.1)
        assert lists.jobs == {}
        kept = Lists(ttl=60)
        many = []
        for _ in range(MAX_KEPT + 2):
            job = kept.reserve()
            kept.finish(job, "done")
            many.append(job)
        assert list(kept.jobs) == [j.id for j in many[-MAX_KEPT:]]      # the oldest are dropped
        kept.close()
        assert kept.jobs == {}

    asyncio.run(scenario())


# ----------------------------------------------------------------------- download

def test_download_card_pdf_has_the_patient_and_a_sensible_name(client, tmp_path):
    r = client.post("/en/download", data=form())
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment;") and "tarlatamab-wallet-card-en-id1-AQ.pdf" in _undigest(cd)  # initials
    text = pdf_text(r.content, tmp_path)
    assert "Ada Quill" in text and "Dr. Maria Gonzalez" in text and "(555) 010-2030" in text
    path = tmp_path / "card.pdf"
    path.write_bytes(r.content)
    # The card's back: the NCI page and, for clinicians, the label on DailyMed.
    assert sorted(qr_codes(path)) == sorted([NCI_URL, content.default().meta.dailymed_url])


def test_download_handout_is_the_cli_render(client, tmp_path, model):
    from handouts.build import build
    from handouts.patient import from_mapping
    r = client.post("/en/download", data=form(documents="handout", paper="a4"))
    assert r.status_code == 200
    assert "tarlatamab-handout-en-a4-AQ.pdf" in _undigest(r.headers["content-disposition"])
    cli = build("handout", "en", "a4", from_mapping(PATIENT, "p"), tmp_path / "cli", model)
    assert pdf_text(r.content, tmp_path) == extract(cli.path)
    path = tmp_path / "web.pdf"
    path.write_bytes(r.content)
    assert qr_codes(path) == [NCI_URL]


def qr_codes(path: Path) -> list[str]:
    from pypdf import PdfReader
    return [t for p in range(len(PdfReader(path).pages)) for t in decode_qr(path, p)]


def _undigest(name: str) -> str:
    """File and folder names carry a digest of the patient's record; compare without it."""
    return re.sub(r"-[0-9a-f]{8}(?=\.pdf|/|$)", "", name)


def test_both_documents_come_as_one_zip_without_the_pages_script(client, tmp_path):
    """(With the script, the page asks for each document in turn: two PDFs.)"""
    r = client.post("/zh-Hant/download", data=form(locale="zh-Hant", documents="both", paper="a4",
                                                   name="林美玲"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = sorted(z.namelist())
        assert [_undigest(n) for n in names] == ["tarlatamab-handout-zh-Hant-a4-林.pdf",
                                                 "tarlatamab-wallet-card-zh-Hant-id1-林.pdf"]
        for n in names:
            assert "林美玲" in pdf_text(z.read(n), tmp_path, "x.pdf")


def test_card_on_a_sheet(client, tmp_path):
    r = client.post("/en/download", data=form(card="a4-10up"))
    assert r.status_code == 200
    assert "tarlatamab-wallet-card-en-a4-10up-AQ.pdf" in _undigest(r.headers["content-disposition"])
    assert "Ada Quill" in pdf_text(r.content, tmp_path)


def test_preview_shows_every_page_as_an_image(client):
    r = client.post("/en/preview", data=form(documents="both"))
    assert r.status_code == 200
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', r.text)
    assert len(images) >= 4                       # card front + back, handout pages
    assert all("page" in alt for _, alt in images)
    assert 'value="Ada Quill"' in r.text          # the form keeps what was typed


# ----------------------------------------------------------------------- validation

@pytest.mark.parametrize("field,value,words", [
    ("first_dose", "2020-01-15", "before the drug was approved"),
    ("first_dose", "2031-01-15", "more than a year"),
    ("first_dose", "2026-02-30", "not a real date"),
    ("phone", "call me", "only have digits"),
    ("name", "x" * 121, "too long: at most 120 characters"),
    ("name", "Ada \U0001F600", "cannot draw these characters"),
    ("oncologist", "W" * 118, "does not fit on the wallet card"),
])
def test_errors_sit_beside_their_field_in_plain_words(client, field, value, words):
    r = client.post("/en/download", data=form(**{field: value}))
    assert r.status_code == 422
    page = parse(r.text)
    assert list(page.errors) == [field], page.errors
    assert words in page.errors[field]
    assert f'aria-describedby="{field}-error"' in r.text or f'{field}-hint {field}-error' in r.text
    assert "Traceback" not in r.text


def test_every_wrong_field_is_shown_at_once(client):
    r = client.post("/en/download", data=form(first_dose="2020-01-15", phone="call me", name="x" * 121))
    assert r.status_code == 422
    assert set(parse(r.text).errors) == {"first_dose", "phone", "name"}
    assert r.text.count('<li><a href="#') == 3          # the summary links to each field


def test_the_page_refuses_exactly_what_the_cli_refuses(client, model):
    """Same code: a value the core accepts renders; one it refuses is an error here."""
    from handouts.build import check_patient
    from handouts.documents import wallet_card
    from handouts.errors import HandoutsError
    from handouts.patient import from_mapping
    for name in ("W" * 60, "W" * 118, "李" * 40, "Ada \u0646"):
        try:
            p = from_mapping({"name": name}, "p")
            check_patient(p, "en", model, "p")
            wallet_card.check("en", p, model, "p")
            cli_ok = True
        except HandoutsError:
            cli_ok = False
        r = client.post("/en/download", data={"locale": "en", "documents": "wallet-card", "card": "card",
                                              "name": name})
        assert (r.status_code == 200) == cli_ok, name


def test_error_in_chinese_on_a_chinese_page(client):
    r = client.post("/zh-Hans/download", data=form(locale="zh-Hans", first_dose="2020-01-15"))
    assert r.status_code == 422
    err = parse(r.text).errors["first_dose"]
    assert "此日期早于该药在美国获批的日期" in err and "2024年5月16日" in err
    r = client.post("/zh-Hant/download", data=form(locale="zh-Hant", phone="abc"))
    assert "電話號碼只能包含數字" in parse(r.text).errors["phone"]
    assert "醫療團隊電話（全天候）：電話號碼只能包含數字" in r.text      # the summary, with a full-width colon


def test_unknown_choices_are_field_errors(client):
    r = client.post("/en/download", data=form(locale="fr", documents="poster"))
    assert r.status_code == 422
    assert set(parse(r.text).errors) <= {"locale", "documents"} and parse(r.text).errors


@pytest.mark.parametrize("name", ["김민준", "Ada 𪚥"])
def test_a_name_the_fonts_cannot_draw_is_named_by_code_points(client, name):
    """The page describes a refused name by code points, never by quoting it."""
    r = client.post("/en/download", data=form(name=name))
    assert r.status_code == 422
    error = parse(r.text).errors["name"]
    assert "cannot draw these characters: U+" in error, error
    assert not {c for c in name if not c.isascii()} & set(error)
    summary = r.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert not {c for c in name if not c.isascii()} & set(summary)


def test_a_list_names_a_row_the_fonts_cannot_draw_by_code_points(client):
    data = "name,phone\nAda Quill,555 0100\n김민준,555 0101\nBo 𪚥,555 0102\n".encode()
    job = upload(client, data).json()
    assert len(job["problems"]) == 2 and all("U+" in p for p in job["problems"]), job["problems"]
    wait_zip(client, job["job"])
    with zipfile.ZipFile(io.BytesIO(fetch_zip(client, job["job"]).content)) as z:
        listed = z.read("rows-not-printed.txt").decode()
    for text in job["problems"] + [listed]:
        assert not set("김민준𪚥") & set(text), text
    assert "Row 3" in listed and "U+AE40" in listed and "U+2A6A5" in listed


# ----------------------------------------------------------------------- second language

def test_also_english_puts_both_languages_in_the_handout_as_the_cli_does(client, tmp_path, model):
    from handouts.build import build
    from handouts.patient import from_mapping
    r = client.post("/zh-Hant/download", data=form(locale="zh-Hant", documents="handout", paper="a4",
                                                   also="en", name="林美玲"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert _file_name(r) == "tarlatamab-handout-zh-Hant-a4-林+en.pdf"
    text = pdf_text(r.content, tmp_path)
    assert "林美玲" in text and "What is this medicine?" in text and "這是什麼藥？" in text
    cli = build("handout", "zh-Hant", "a4", from_mapping({**PATIENT, "name": "林美玲"}, "p"), tmp_path / "cli",
                model, also="en")
    assert cli.path.name.endswith("+en.pdf")
    assert text == extract(cli.path)


def test_without_a_second_language_the_handout_is_in_one_language(client, tmp_path):
    r = client.post("/zh-Hant/download", data=form(locale="zh-Hant", documents="handout", paper="a4", also=""))
    assert r.status_code == 200 and _file_name(r) == "tarlatamab-handout-zh-Hant-a4-AQ.pdf"
    assert "What is this medicine?" not in pdf_text(r.content, tmp_path)


def test_both_documents_with_a_second_language(client, tmp_path):
    """Both documents print the second language, named in their file names."""
    r = client.post("/en/download", data=form(documents="both", also="zh-Hans"))
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = [re.sub(r"-[0-9a-f]{8}(?=[.+])", "", n) for n in sorted(z.namelist())]
    assert names == ["tarlatamab-handout-en-letter-AQ+zh-Hans.pdf", "tarlatamab-wallet-card-en-id1-AQ+zh-Hans.pdf"]


def _file_name(r) -> str:
    """The download's UTF-8 file name, without the record digest."""
    from urllib.parse import unquote
    name = unquote(r.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    return re.sub(r"-[0-9a-f]{8}(?=[.+])", "", name)


@pytest.mark.parametrize("ui,words", [("en", "available only for the handout"),
                                      ("zh-Hans", "只有患者指南可以加印第二种语言"),
                                      ("zh-Hant", "只有衛教單張可以加印第二種語言")])
def test_second_language_for_a_document_without_one_is_refused_in_the_pages_language(monolingual_card, ui, words):
    """Every document of the form prints bilingually today, so this runs in-process (the
    page's workers are spawned and would not see the patched registry)."""
    from handouts.errors import HandoutsError
    from handouts.web import core, i18n
    with pytest.raises(HandoutsError) as err:
        core.check_order(core.Order("en", "wallet-card", "letter", core.CARD_SINGLE, also="en"))
    problem = core.problem(err.value)
    assert problem.field == "also" and words in i18n.problem_text(ui, problem)


def _card_without_a_second_language(monkeypatch):
    """The registry as it would be if the wallet card had no bilingual version."""
    import dataclasses
    from handouts import registry
    spec = dataclasses.replace(registry.DOCUMENTS["wallet-card"], bilingual_factor=None)
    monkeypatch.setitem(registry.DOCUMENTS, "wallet-card", spec)


@pytest.fixture
def monolingual_card(monkeypatch):
    """The registry as it would be if the wallet card had no bilingual version."""
    _card_without_a_second_language(monkeypatch)


def test_unknown_second_language_is_an_error_beside_the_field(client):
    r = client.post("/en/download", data=form(documents="handout", also="fr"))
    assert r.status_code == 422
    assert parse(r.text).errors == {"also": "Choose one of the options shown."}


@pytest.mark.parametrize("ui,label,none", [("en", "Also in a second language", "No second language"),
                                           ("zh-Hans", "同时加印第二种语言", "不加印第二种语言"),
                                           ("zh-Hant", "同時加印第二種語言", "不加印第二種語言")])
def test_second_language_field_is_labelled_and_offered_only_for_documents_that_have_it(
        client, monkeypatch, ui, label, none):
    from handouts.web import core
    html = client.get(f"/{ui}/").text
    assert f'<label for="also">{label}</label>' in html and f'<option value="" selected>{none}</option>' in html
    assert 'aria-describedby="also-hint"' in html
    monkeypatch.setattr(core, "bilingual_documents", lambda: ())
    assert 'id="also"' not in client.get(f"/{ui}/").text


def test_second_language_follows_what_the_core_supports(monkeypatch, model):
    """In-process: the same order is refused or rendered according to the registry's
    bilingual support (what build.render_document checks)."""
    from handouts.errors import HandoutsError
    from handouts.web import core
    order = core.Order("en", "wallet-card", "letter", core.CARD_SINGLE, also="zh-Hant")
    assert core.bilingual_documents() == ("handout", "wallet-card")
    core.check_order(order)                                  # the card takes it today
    _card_without_a_second_language(monkeypatch)
    with pytest.raises(HandoutsError, match="does not support --also") as err:
        core.check_order(order)
    assert core.problem(err.value).field == "also" and core.problem(err.value).code == "document.option_unsupported"
    assert core.bilingual_documents() == ("handout",)
    both = core.Order("en", "both", "letter", core.CARD_SINGLE, also="zh-Hant")
    core.check_order(both)                                   # the handout takes it
    assert [core._also_for(both, d) for d in ("handout", "wallet-card")] == ["zh-Hant", None]


# ----------------------------------------------------------------------- limits

def test_oversized_form_is_refused_with_a_clear_page(client):
    r = client.post("/en/download", data=form(name="x" * 20_000))
    assert r.status_code == 413
    assert "too large" in r.text and "Traceback" not in r.text


def test_field_longer_than_the_page_allows(client):
    r = client.post("/en/download", data=form(treatment_center="y" * 600))
    assert r.status_code == 422 and "at most 500 characters" in parse(r.text).errors["treatment_center"]


def test_request_without_length_is_refused(client):
    def chunks():
        yield b"name=Ada"
    r = client.post("/en/download", content=chunks(),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 411 and "Traceback" not in r.text


# ----------------------------------------------------------------------- patient lists

def upload(client, data: bytes, name: str = "today.csv", ui: str = "en", **fields):
    return client.post(f"/{ui}/batch", files={"patients": (name, data, "text/csv")},
                       data={"locale": "en", "paper": "letter", "card": "letter-8up", **fields},
                       headers={"accept": "application/json"})


def wait_zip(client, job: str, ui: str = "en") -> dict:
    """Poll a list's progress as the page's script does: the job id in the POST body."""
    for _ in range(600):
        status = client.post(f"/{ui}/batch/status", data={"job": job}).json()
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError("patient list did not finish")


def fetch_zip(client, job: str, ui: str = "en"):
    return client.post(f"/{ui}/batch/zip", data={"job": job})


CSV = ("name,first_dose,phone,locale\n"
       "Ada Quill,2026-12-01,+1 555 010 2030,en\n"
       "王小明,2026-12-02,+86 10 1234 5678,zh-Hans\n"
       "Bad Date,2026-02-30,,en\n").encode()


def test_csv_upload_gives_a_zip_with_progress(client, tmp_path):
    r = upload(client, CSV)
    assert r.status_code == 202
    job = r.json()
    assert job["total"] == 5                           # 2 patients x (handout + card) + one file of card sheets
    assert len(job["problems"]) == 1 and job["problems"][0].startswith("Row 4")
    status = wait_zip(client, job["job"])
    assert status["state"] == "done" and status["done"] == 5 and status["ready"]
    z = fetch_zip(client, job["job"])
    assert z.status_code == 200 and "tarlatamab-handouts-patients.zip" in z.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        real = {_undigest(n): n for n in zf.namelist()}
        names = set(real)
        sheet_name = "tarlatamab-wallet-card-en_zh-Hans-letter-8up-patients.pdf"  # one file, both languages
        assert {"AQ/tarlatamab-handout-en-letter-AQ.pdf", "AQ/tarlatamab-wallet-card-en-id1-AQ.pdf",
                "王/tarlatamab-handout-zh-Hans-letter-王.pdf", "王/tarlatamab-wallet-card-zh-Hans-id1-王.pdf",
                sheet_name, "rows-not-printed.txt", "cards-on-sheets.txt"} == names
        assert "王小明" in pdf_text(zf.read(real["王/tarlatamab-wallet-card-zh-Hans-id1-王.pdf"]), tmp_path)
        sheet = pdf_text(zf.read(real[sheet_name]), tmp_path)
        assert "Ada Quill" in sheet and "王小明" in sheet          # one sheet, both languages
        slots = zf.read("cards-on-sheets.txt").decode()
        assert "Sheet 1, slot 1: row 2, English, folder AQ-" in slots
        assert "Sheet 1, slot 2: row 3, 简体中文, folder 王-" in slots
    assert fetch_zip(client, job["job"]).status_code == 404  # handed over once, then forgotten


def test_csv_upload_without_script_returns_the_zip(client):
    r = client.post("/en/batch", files={"patients": ("t.csv", CSV, "text/csv")}, data={"locale": "en"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"


def test_a_row_whose_card_does_not_fit_the_sheets_card_is_that_rows_problem(client):
    """avery-8371 prints a smaller card than the single ID-1 card: a phone number that
    fits the single card but not the sheet's is that row's problem (as in the CLI), and
    the other rows still print."""
    data = ("name,first_dose,phone,locale\n"
            "Ada Quill,2026-12-01,+1 555 010 2030,en\n"
            f"Long Phone,2026-12-01,{'5' * 32},en\n").encode()
    job = upload(client, data, card="avery-8371").json()
    assert len(job["problems"]) == 1 and job["problems"][0].startswith("Row 3"), job["problems"]
    status = wait_zip(client, job["job"])
    assert status["state"] == "done" and status["done"] == job["total"]


@pytest.mark.parametrize("data,status,words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00garbage\xff\xfe", 400, "not a patient list"),
    (b"name,shoe_size\nAda,9\n", 400, "columns this page does not know: shoe_size"),
    (b"name\n" + b"Ada\n" * 201, 413, "more than 200 patients"),
    (b"name\n", 400, "no patient rows"),
    (b"name\n" + b"A" * 300_000 + b"\n", 413, "too large"),
])
def test_malformed_upload_gets_a_clear_error(client, data, status, words):
    r = upload(client, data)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_upload_error_in_chinese(client):
    r = upload(client, b"\x89PNG\x00\xffbad", ui="zh-Hant")
    assert "不是病人名單" in r.json()["error"]
    r = upload(client, b"\xff\xfe\x00bad", ui="zh-Hant")  # UTF-16 is named as such
    assert "UTF-16" in r.json()["error"] and "UTF-8" in r.json()["error"]


def test_missing_file_is_an_error_not_a_traceback(client):
    r = client.post("/en/batch", data={"locale": "en"}, headers={"accept": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


# ----------------------------------------------------------------------- concurrency

def test_eight_concurrent_requests_return_correct_distinct_pdfs(client, tmp_path):
    names = [f"Patient {chr(65 + i)}{chr(97 + i) * 3}" for i in range(8)]

    def one(i):
        doc = "handout" if i % 2 else "wallet-card"
        r = client.post("/en/download", data=form(name=names[i], documents=doc))
        return i, r.status_code, r.content

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(8)))
    digests = set()
    for i, status, pdf in results:
        assert status == 200
        text = pdf_text(pdf, tmp_path, f"{i}.pdf")
        assert names[i] in text
        assert not any(n in text for j, n in enumerate(names) if j != i)
        digests.add(hashlib.sha256(pdf).hexdigest())
    assert len(digests) == 8


# ----------------------------------------------------------------------- privacy

def test_nothing_about_a_patient_is_logged_or_written(client, private_tmp, caplog):
    secret = "Zebulon Quartermaine"
    assert tempfile.gettempdir() == str(private_tmp)
    caplog.set_level(logging.DEBUG)
    client.post("/en/download", data=form(name=secret))
    client.post("/en/preview", data=form(name=secret, documents="both"))
    client.post("/en/download", data=form(name=secret, first_dose="1999-01-01"))
    client.post("/en/download", data=form(name=secret + " \U0001F600"))
    job = upload(client, f"name,phone\n{secret},555 0100\n{secret} 2,not a phone\n".encode()).json()
    wait_zip(client, job["job"])
    fetch_zip(client, job["job"])
    client.post("/en/batch", files={"patients": ("t.csv", f"name\n{secret}\n".encode() * 10, "text/csv")},
                data={"locale": "en"})
    assert secret not in caplog.text and "Quartermaine" not in caplog.text
    # The only thing any process wrote: WeasyPrint's per-process copies of the bundled
    # fonts (one folder per cached font configuration; a worker's inside the pool's
    # scratch folder, one folder per worker), never anything about a patient.
    from handouts.scratch import PREFIX
    for p in sorted(private_tmp.rglob("*")):
        parts = p.relative_to(private_tmp).parts
        if parts[0].startswith(PREFIX):
            parts = parts[2:]
        assert not parts or parts[0].startswith("weasyprint-"), p
        if p.is_file():
            data = p.read_bytes()
            for enc in ("utf-8", "utf-16-be"):
                assert "Quartermaine".encode(enc) not in data, p


def test_unexpected_error_is_a_plain_page_and_logs_only_its_type(caplog):
    from starlette.testclient import TestClient

    from handouts.web.app import Guard

    async def broken(scope, receive, send):
        raise ValueError("Zebulon Quartermaine's phone is 555")

    caplog.set_level(logging.DEBUG)
    r = TestClient(Guard(broken, None), raise_server_exceptions=False).get("/")
    assert r.status_code == 500 and "Traceback" not in r.text and "Zebulon" not in r.text
    assert "ValueError" in caplog.text and "Zebulon" not in caplog.text


def test_access_log_drops_query_strings():
    from handouts.web.app import AccessLogFilter
    rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5", "GET", "/en/?name=Zebulon", "1.1", 200), None)
    AccessLogFilter().filter(rec)
    assert "Zebulon" not in rec.getMessage() and "/en/" in rec.getMessage()


# ----------------------------------------------------------------------- serve

def test_serve_refuses_a_non_loopback_host_without_the_flag(capsys):
    from handouts.cli import main
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_serve_with_allow_remote_warns_and_accepts_any_host(monkeypatch, capsys):
    import socket

    import uvicorn

    from handouts.web import server
    seen = {}

    def run(self, sockets=None):
        seen.update(app=self.config.app, config=self.config,
                    addresses=[s.getsockname()[0] for s in sockets])

    monkeypatch.setattr(uvicorn.Server, "run", run)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server.serve("0.0.0.0", port, allow_remote=True, workers=1)
    err = capsys.readouterr().err
    assert "WARNING" in err and "0.0.0.0" in err
    assert seen["addresses"] == ["0.0.0.0"] and seen["app"].allowed_hosts is None
    seen.clear()
    server.serve("127.0.0.1", port)
    assert "WARNING" not in capsys.readouterr().err
    assert seen["addresses"] == ["127.0.0.1"]
    assert seen["app"].allowed_hosts and "127.0.0.1" in seen["app"].allowed_hosts
    access = seen["config"].log_config["handlers"]["access"]
    assert access["filters"] == ["no_query"]


# -- messages that name what is wrong with what was sent -------------------------------

def test_a_spreadsheet_export_with_empty_rows_counts_its_patients(client):
    data = b"name,first_dose\nAda Quill,2026-12-01\n" + b",\n" * 250
    r = upload(client, data)
    assert r.status_code == 202, r.text
    assert "more than" not in r.text


def test_a_chunked_post_is_told_what_is_missing(client):
    def chunks():
        yield b"name=Ada"
    r = client.post("/en/download", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 411 and "Content-Length" in r.text and "too large" not in r.text


@pytest.mark.parametrize("path", ["/en/download", "/en/batch"])
def test_a_form_the_page_cannot_read_is_not_called_a_patient_list(client, path):
    fields = {f"extra{i}": "x" for i in range(30)}  # more parts than any form of the page has
    r = client.post(path, data={**form(), **fields}, files={"patients": ("today.csv", b"name\nAda\n", "text/csv")})
    assert r.status_code == 400
    assert "could not read what was sent" in r.text and "not a patient list" not in r.text
