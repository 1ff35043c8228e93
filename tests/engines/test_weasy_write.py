"""The WeasyPrint write path: the /ID spliced into the trailer after writing (instead of
pydyf's second serialization) is valid, derived from the input, and moves no offset."""

from __future__ import annotations

import io

import pypdf
import pytest

from handouts.engines import patches, weasy


def _pdf(html: str) -> bytes:
    return weasy.render(html, weasy.paths.layouts_dir(), ("Noto Sans",), []).pdf


def test_identifier_in_trailer_and_from_the_input():
    a = _pdf('<html lang="en"><head><title>a</title></head><body><p>one</p></body></html>')
    b = _pdf('<html lang="en"><head><title>a</title></head><body><p>two</p></body></html>')
    ra, rb = pypdf.PdfReader(io.BytesIO(a), strict=True), pypdf.PdfReader(io.BytesIO(b), strict=True)
    ida, idb = ra.trailer["/ID"], rb.trailer["/ID"]
    assert len(ida) == 2 and len(ida[0].original_bytes) == 16
    assert ida[0].original_bytes != idb[0].original_bytes
    assert ra.pages[0].extract_text().strip() == "one"


@pytest.mark.parametrize("compressed", [True, False])
def test_with_identifier_keeps_every_offset(compressed):
    import pydyf
    doc = pydyf.PDF()
    page = pydyf.Dictionary({"Type": "/Page", "Parent": doc.pages.reference,
                             "MediaBox": pydyf.Array([0, 0, 100, 100])})
    doc.add_page(page)
    buf = io.BytesIO()
    doc.write(buf, version=b"1.7", compress=compressed)  # xref stream or xref table
    raw = buf.getvalue()
    assert b"/ID" not in raw
    out = weasy.with_identifier(raw, bytes(range(16)))
    r = pypdf.PdfReader(io.BytesIO(out), strict=True)
    assert r.trailer["/ID"][0].original_bytes == bytes(range(16))
    assert len(r.pages) == 1
    assert out.count(b"startxref") == 1


def _embedded_fonts(pdf: bytes) -> set[str]:
    r = pypdf.PdfReader(io.BytesIO(pdf))
    out = set()
    for page in r.pages:
        for f in page["/Resources"]["/Font"].values():
            out.add(str(f.get_object()["/BaseFont"]).split("+", 1)[-1])
    return out


FAMS = ("Noto Sans", "Noto Sans SC")


def test_fallback_font_loaded_when_css_generates_its_characters(tmp_path):
    html = '<html lang="en"><head><title>a</title></head><body><p>Li Wei</p></body></html>'
    assert weasy._stack_for(html, FAMS, []) == FAMS[:1]
    plain = weasy.render(html, weasy.paths.layouts_dir(), FAMS, []).pdf
    assert _embedded_fonts(plain) == {"Noto-Sans"}
    # The HTML is Latin, but the stylesheet adds a Chinese character (a CSS escape): the
    # whole stack is loaded and the bundled SC face draws it.
    sheet = tmp_path / "generated.css"
    sheet.write_text('p::before { content: "\\674E"; }', encoding="utf-8")
    css = weasy.stylesheet(sheet)
    assert weasy._stack_for(html, FAMS, [css]) == FAMS
    pdf = weasy.render(html, weasy.paths.layouts_dir(), FAMS, [css]).pdf
    assert _embedded_fonts(pdf) == {"Noto-Sans", "Noto-Sans-SC"}


def test_chinese_text_uses_the_whole_stack():
    html = '<html lang="en"><head><title>a</title></head><body><p>Li Wei 李伟</p></body></html>'
    assert weasy._stack_for(html, FAMS, []) == FAMS
    nested = '<ul><li>a<ul><li>b</li></ul></li></ul>'  # the nested bullet is not in Noto Sans
    assert weasy._stack_for(nested, FAMS, []) == FAMS
    assert _embedded_fonts(weasy.render(html, weasy.paths.layouts_dir(), FAMS, []).pdf) == {"Noto-Sans", "Noto-Sans-SC"}


def test_c_types_prepared_without_the_parser_are_cffis_own():
    """The engine gives cffi the types WeasyPrint asks for (ten on the first document, a
    fixed-length glyph array on nearly every one) without a pycparser run each: they
    must be the very objects cffi's parser makes."""
    from weasyprint.text.ffi import ffi
    assert isinstance(ffi._parsed_types, patches.ParsedTypes), "the fast path is off (cffi changed?)"
    decls = [*patches.FIRST_DOCUMENT_TYPES, "hb_codepoint_t[57]", "hb_codepoint_t[30440]", "char[7]"]
    fast = {d: ffi.typeof(d) for d in decls}
    saved = ffi._parsed_types
    ffi._parsed_types = {}  # a plain cache: cffi parses every string itself
    try:
        parsed = {d: ffi.typeof(d) for d in decls}
    finally:
        ffi._parsed_types = saved
    for d in decls:
        assert fast[d] is parsed[d], d
    assert len(ffi.new("hb_codepoint_t[3]", [7, 8, 9])) == 3
    with pytest.raises(KeyError):
        saved["no such type"]
