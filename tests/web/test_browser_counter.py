"""The counter page's ordinary day in a real browser (Debian's chromium via Playwright,
never a downloaded browser): a date the browser cannot read never turns into a handout
without the patient's dates, Enter makes the PDF, each document prints from its own tab,
both documents come as two PDFs, the patient's fields come first on a counter screen,
and Chinese is drawn with the bundled fonts on a machine that has no CJK fonts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.liveserver import counter_page

from handouts.pdftext import extract
from tests.helpers import ROOT
from tests.helpers.browser import chromium

ASSETS = ROOT / "assets" / "fonts"


@pytest.fixture(scope="module")
def server():
    with counter_page(1) as url:
        yield url


@pytest.fixture
def context(browser):
    ctx = browser.new_context(accept_downloads=True, locale="en-US", viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    return pg


def _posts(page) -> list[str]:
    """The form posts the page makes (their paths)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url.split("/", 3)[3]) if r.method == "POST" else None)
    return seen


# ------------------------------------------------------------------ a date the browser cannot read

@pytest.mark.parametrize("typed", ["02302026", "1201"])   # 02/30/2026; a date typed half-way
def test_a_date_the_browser_cannot_read_stops_the_pdf_naming_the_field(page, server, tmp_path, typed):
    page.goto(server + "/en/")
    page.select_option("#documents", "handout")
    page.fill("#name", "Ada Quill")
    page.click("#first_dose")
    page.keyboard.type(typed)
    assert page.evaluate("document.getElementById('first_dose').value") == ""    # what the browser would send
    posts = _posts(page)
    for button in ("#download", "#print-handout", "#preview"):
        page.click(button)
        error = page.locator("#first_dose-error")
        error.wait_for()
        assert "not a real date" in error.inner_text()
        assert page.get_attribute("#first_dose", "aria-invalid") == "true"
        assert "first_dose-error" in page.get_attribute("#first_dose", "aria-describedby")
        summary = page.locator("#error-summary")
        assert "Date of the first dose" in summary.inner_text()
        assert page.evaluate("document.activeElement.id") == "error-summary"
    page.focus("#name")
    page.keyboard.press("Enter")                                  # Enter is stopped too
    page.wait_for_timeout(300)
    assert posts == [] and len(page.context.pages) == 1          # nothing was sent, no tab opened
    page.screenshot(path=str(tmp_path / f"date-{typed}.png"), full_page=True)
    # Typed again in full, the date reaches the server and the handout lists the patient's dates.
    page.click("#first_dose")
    page.keyboard.press("Control+a")
    page.keyboard.type("12012026")
    with page.expect_download() as info:
        page.click("#download")
    path = tmp_path / "handout.pdf"
    info.value.save_as(path)
    assert "December 1, 2026" in extract(path)


def test_without_script_the_browser_itself_refuses_the_date(browser, server):
    """The page's form does not switch off the browser's own validation: with script off,
    the browser will not send a date it cannot read (it would send an empty one)."""
    ctx = browser.new_context(java_script_enabled=False, locale="en-US")
    try:
        page = ctx.new_page()
        page.goto(server + "/en/")
        page.fill("#name", "Ada Quill")
        page.click("#first_dose")
        page.keyboard.type("02302026")
        posts = _posts(page)
        page.click("#download")
        page.wait_for_timeout(500)
        assert posts == []
        assert page.evaluate("document.getElementById('first_dose').validity.badInput") is True
    finally:
        ctx.close()


# ------------------------------------------------------------------ print in one click

def test_enter_in_a_field_makes_the_pdf_not_the_preview(page, server, tmp_path):
    page.goto(server + "/en/")
    page.select_option("#documents", "wallet-card")
    page.fill("#name", "Cy Keys")
    page.focus("#name")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename.endswith(".pdf")
    assert page.locator("#previews").count() == 0


def _viewer_title(tab, expected: str, timeout_s: float = 60) -> str:
    """The title Chromium's PDF viewer shows in a tab, once it is the PDF's own (before
    the PDF is read the viewer shows the URL's last part)."""
    import time
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in tab.frames:
            if frame.url.startswith("chrome-extension://"):
                title = frame.evaluate("""() => { let found = "";
                    const walk = (root) => root.querySelectorAll('*').forEach(el => {
                        if (el.id === 'title' && el.textContent && !found) { found = el.textContent; }
                        if (el.shadowRoot) { walk(el.shadowRoot); } });
                    walk(document); return found; }""")
                if expected in title:
                    return title
        tab.wait_for_timeout(200)
    raise AssertionError(f"no PDF viewer showing {expected!r} in the tab: {[f.url for f in tab.frames]}")


def test_each_document_prints_from_its_own_tab(page, context, server, tmp_path):
    """A print button opens its document in a new tab, inline: the browser's PDF viewer
    shows it (its title is the PDF's), with the viewer's print button."""
    sent: list[tuple[dict, bytes]] = []

    def keep(route):                        # the PDF as the server sent it, handed on unchanged
        response = route.fetch()
        sent.append((response.headers, response.body()))
        route.fulfill(response=response)

    context.route("**/en/print", keep)
    page.goto(server + "/en/")
    page.fill("#name", "Ada Quill")
    page.fill("#first_dose", "2026-12-01")
    assert page.is_visible("#print-wallet-card") and page.is_visible("#print-handout")
    for document, title in (("wallet-card", "wallet card"), ("handout", "guide for patients")):
        with context.expect_page() as info:
            page.click(f"#print-{document}")
        tab = info.value
        assert title in _viewer_title(tab, title)                # the browser's PDF viewer shows it
        headers, body = sent[-1]
        assert headers["content-type"] == "application/pdf"
        assert headers["content-disposition"].startswith("inline;")
        assert re.search(rf"{document}-en-(id1|letter)-AQ-[0-9a-f]{{8}}\.pdf", headers["content-disposition"])
        path = tmp_path / f"{document}.pdf"
        path.write_bytes(body)
        text = extract(path)
        assert "Ada Quill" in text and ("Dec 1, 2026" in text or "December 1, 2026" in text)
        tab.wait_for_timeout(1000)
        tab.screenshot(path=str(tmp_path / f"print-{document}.png"))
        tab.close()
    assert page.url.endswith("/en/")                         # the form stays where it was
    # One document chosen: only its print button shows.
    page.select_option("#documents", "handout")
    assert page.is_hidden("#print-wallet-card") and page.is_visible("#print-handout")


def test_both_documents_download_as_two_pdfs_not_a_zip(page, server, tmp_path):
    page.goto(server + "/zh-Hant/")
    page.fill("#name", "林美玲")
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.click("#download")
    for _ in range(600):
        if len(downloads) == 2:
            break
        page.wait_for_timeout(100)
    names = sorted(re.sub(r"-[0-9a-f]{8}(?=\.pdf)", "", d.suggested_filename) for d in downloads)
    assert names == ["tarlatamab-handout-zh-Hant-letter-林.pdf", "tarlatamab-wallet-card-zh-Hant-id1-林.pdf"]
    for d in downloads:
        path = tmp_path / d.suggested_filename
        d.save_as(path)
        assert "林美玲" in extract(path)


def test_the_patients_fields_come_first_on_a_counter_screen(page, server, tmp_path):
    """On a 1280 x 800 screen the patient's fields come before the options (in reading and
    Tab order) and, with the print buttons, are on screen without scrolling."""
    page.goto(server + "/en/")
    boxes = {sel: page.locator(sel).bounding_box() for sel in
             ("#name", "#first_dose", "#oncologist", "#phone", "#treatment_center", "#locale", "#documents",
              "#download", "#print-wallet-card", "#print-handout")}
    for sel, box in boxes.items():
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (sel, box)
    assert boxes["#name"]["y"] <= boxes["#locale"]["y"] and boxes["#name"]["x"] < boxes["#locale"]["x"]
    order = page.evaluate("[...document.querySelectorAll('#patient-form input, #patient-form select')]"
                          ".map(e => e.id)")
    assert order.index("treatment_center") < order.index("locale")
    page.screenshot(path=str(tmp_path / "empty-form.png"))


def test_one_card_hint_is_beside_the_card_choice(page, server):
    page.goto(server + "/en/")
    hint = page.inner_text("#card-hint")
    assert "85.60" in hint and "actual size" in hint and "top-left slot" in hint
    assert "card-hint" in page.get_attribute("#card", "aria-describedby")
    assert page.is_disabled("#copies")                      # one card: no sheet to count
    page.select_option("#card", "letter-8up")
    assert page.is_enabled("#copies")


# ------------------------------------------------------------------ Chinese without CJK fonts

def _no_cjk_fontconfig(tmp_path: Path) -> Path:
    """A fontconfig that sees one Latin font and nothing else: a machine without CJK fonts."""
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    shutil.copy(ASSETS / "NotoSans_400Regular.ttf", fonts / "Latin.ttf")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                    f"<fontconfig><dir>{fonts}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh"], env={**os.environ, "FONTCONFIG_FILE": str(conf)},
                               capture_output=True, text=True).stdout
        assert found.strip() == "", f"the test's fontconfig still sees CJK fonts: {found}"
    return conf


def _fonts_drawing(page, selector: str) -> dict[str, list[dict]]:
    """The fonts Chromium draws each text of an element with (its form controls' inner
    text included), as DevTools reports them."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    tree = cdp.send("DOM.describeNode", {"nodeId": node, "depth": -1, "pierce": True})["node"]
    out: dict[str, list[dict]] = {}

    def walk(n):
        if n.get("nodeType") == 3 and n.get("nodeValue", "").strip():
            ids = cdp.send("DOM.pushNodesByBackendIdsToFrontend", {"backendNodeIds": [n["backendNodeId"]]})
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": ids["nodeIds"][0]})["fonts"]
            if fonts:
                out[n["nodeValue"]] = fonts
        for child in n.get("children", []) + n.get("shadowRoots", []):
            walk(child)

    walk(tree)
    cdp.detach()
    return out


def test_chinese_is_drawn_with_the_bundled_fonts_on_a_machine_without_cjk_fonts(pw, server, tmp_path):
    conf = _no_cjk_fontconfig(tmp_path)
    with chromium(pw, env={**os.environ, "FONTCONFIG_FILE": str(conf)}) as browser:
        page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 800})
        page.goto(server + "/en/")
        page.fill("#name", "Li Wei 李伟")
        page.select_option("#also", "zh-Hant")
        page.evaluate("document.fonts.ready")
        page.wait_for_function("[...document.fonts].filter(f => f.status === 'loading').length === 0")
        for selector, text in (("#name", "Li Wei 李伟"), ("#also", "繁體中文"), ("header nav", "简体中文")):
            drawn = _fonts_drawing(page, selector)
            assert text in drawn, (selector, drawn)
            system = [f["familyName"] for f in drawn[text] if not f["isCustomFont"]]
            assert system == [], f"{selector}: {text!r} drawn with system fonts {system} (tofu)"
            assert any(f["familyName"] in ("Noto Sans SC", "Noto Sans TC") for f in drawn[text]), drawn[text]
        page.screenshot(path=str(tmp_path / "english-page-chinese-name-no-cjk-fonts.png"))
