"""The PDF join (pdfjoin.py) on real handouts: the personal part and the cached rest of
every locale and paper (layouts/handout/personal.html and static.html), joined, against
the same two parts laid out as one document (the whole-document path)."""

from __future__ import annotations

import dataclasses
import io
import re

import pikepdf
import pypdfium2
import pytest
from tests.helpers import HANDOUT_PAPERS, LOCALES, handout_request, structcheck
from tests.helpers.pdfua import assert_conforms

from handouts import fontmerge, pdfjoin, registry
from handouts.documents import handout
from handouts.staticcache import StaticCache

CASES = [(loc, paper) for loc in LOCALES for paper in HANDOUT_PAPERS]
BUDGET = registry.get("handout").personal_pages


class Joined:
    def __init__(self, root, model, patient):
        self.root, self.model, self.patient = root, model, patient
        self.cache = StaticCache(None)
        self._done: dict = {}

    def get(self, locale, paper):
        """(joined path, whole-document path, the whole document's bytes): the whole
        document with the same QR code form as the cached rest (an SVG), so that the
        pages can be compared pixel for pixel."""
        key = (locale, paper)
        if key not in self._done:
            req = handout_request(self.model, self.patient, locale, paper)
            joined = self.root / f"joined-{locale}-{paper}.pdf"
            joined.write_bytes(handout.render_joined(req, self.cache).pdf)
            whole = self.root / f"whole-{locale}-{paper}.pdf"
            whole.write_bytes(handout.render_whole(req, qr_image="svg").pdf)
            self._done[key] = (joined, whole, whole.read_bytes())
        return self._done[key]


@pytest.fixture(scope="module")
def joined(model, sample_patient, tmp_path_factory):
    return Joined(tmp_path_factory.mktemp("joined"), model, sample_patient)


@pytest.mark.parametrize("locale,paper", CASES)
def test_structure_tree_is_whole(joined, locale, paper):
    """Parent links, /Pg, every marked-content id on its page's element, /Headers,
    bookmarks: nothing wrong in the joined file (nor in the one-document baseline)."""
    path, whole, _ = joined.get(locale, paper)
    assert structcheck.problems(whole) == []
    assert structcheck.problems(path) == []


@pytest.mark.parametrize("locale,paper", CASES)
def test_reads_as_the_whole_document(joined, locale, paper):
    from handouts.pdftext import extract
    path, whole, _ = joined.get(locale, paper)
    text = extract(path)
    assert text == extract(whole)
    pages = len(re.findall(r"^=== page \d+ ===$", text, re.M))
    assert pages == _pages(path.read_bytes()) > BUDGET


# Patients other than the sample, with whose personal part the cached rest is widened:
# an ASCII name, a name with accents, a name whose glyphs the rest lacks (a font merge).
OTHERS = {"en": "José Núñez", "zh-Hans": "Zoe Q. Patient-Xu", "zh-Hant": "龔鑫磊"}


@pytest.mark.parametrize("locale", LOCALES)
def test_another_patient_reads_and_looks_as_the_whole_document(joined, locale, tmp_path):
    """The same text (as the PDF's text maps give it) and pixels from the joined handout
    and the whole document, for a patient other than the sample, with another first dose
    and phone: what the widened rest and the placeholders leave to the join is right."""
    import datetime as dt
    patient = joined.patient.model_copy(update={"name": OTHERS.get(locale, "Zoe Q. Patient-Xu"),
                                                "first_dose": dt.date(2027, 6, 5), "phone": "+44 (0)20 7946 0958"})
    req = handout_request(joined.model, patient, locale, "a4")
    a = pypdfium2.PdfDocument(handout.render_joined(req, joined.cache).pdf)
    b = pypdfium2.PdfDocument(handout.render_whole(req, qr_image="svg").pdf)
    try:
        assert len(a) == len(b)
        for i in range(len(a)):
            assert a[i].get_textpage().get_text_range() == b[i].get_textpage().get_text_range(), f"page {i + 1}"
            x, y = a[i].render(scale=60 / 72).to_pil(), b[i].render(scale=60 / 72).to_pil()
            assert x.tobytes() == y.tobytes(), f"page {i + 1} differs"
    finally:
        a.close()
        b.close()


def test_page_numbers_run_across_parts(joined):
    from handouts.pdftext import extract
    path, _, _ = joined.get("en", "letter")
    pages = _pages(path.read_bytes())
    assert re.findall(r"Page (\d+) of (\d+)", extract(path)) == [(str(n), str(pages)) for n in range(1, pages + 1)]


@pytest.mark.parametrize("locale,paper", CASES)
def test_pages_look_like_the_whole_document(joined, locale, paper):
    """Pixel for pixel: the same glyphs from the merged subsets, the static part's first
    element where the whole document puts it."""
    path, whole, _ = joined.get(locale, paper)
    a, b = pypdfium2.PdfDocument(str(path)), pypdfium2.PdfDocument(str(whole))
    try:
        assert len(a) == len(b)
        for i in range(len(a)):
            x = a[i].render(scale=60 / 72).to_pil()
            y = b[i].render(scale=60 / 72).to_pil()
            assert x.size == y.size and x.tobytes() == y.tobytes(), f"page {i + 1} differs"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("locale,paper", CASES)
def test_bookmarks_as_in_the_whole_document(joined, locale, paper):
    path, whole, _ = joined.get(locale, paper)
    marks = structcheck.outline(path)
    assert marks == structcheck.outline(whole)
    assert [m for m in marks if m[0] == 0] == [marks[0]]  # one title, everything under it


@pytest.mark.parametrize("locale,paper", CASES)
def test_one_subset_per_face(joined, locale, paper):
    path, _, _ = joined.get(locale, paper)
    faces = structcheck.subset_fonts(path)
    assert all(len(tags) == 1 for tags in faces.values()), faces
    tags = [t for ts in faces.values() for t in ts]
    assert len(tags) == len(set(tags))
    assert all(len(programs) == 1 for programs in structcheck.font_programs(path).values())


@pytest.mark.parametrize("locale,paper", CASES)
def test_pdfua_checker_finds_nothing_new(joined, locale, paper):
    path, _, _ = joined.get(locale, paper)
    assert_conforms(path)


@pytest.mark.parametrize("locale,paper", CASES)
def test_at_most_a_tenth_larger_than_the_whole_document(joined, locale, paper):
    path, _, whole = joined.get(locale, paper)
    assert path.stat().st_size <= 1.10 * len(whole)


def test_joining_is_reproducible(joined, model, sample_patient):
    path, _, _ = joined.get("zh-Hant", "a4")
    again = handout.render_joined(handout_request(model, sample_patient, "zh-Hant", "a4"), joined.cache).pdf
    assert again == path.read_bytes()


# ------------------------------------------------------------- the checks can fail

# A name none of the handout's text draws: its glyphs are in neither the rest's subset
# nor the sample patient's, with which the cached rest is widened.
NEW_GLYPHS_NAME = "龚鑫磊"


def _parts(joined, locale="en", paper="letter", name=None):
    """The personal part and the rest of a joined handout, as the join got them (the
    rest's ids unprefixed: these tests join them as plain parts). `name`: the patient's
    name in place of the sample's."""
    joined.get(locale, paper)  # the rest laid out, in the fixture's cache
    patient = joined.patient.model_copy(update={"name": name}) if name else joined.patient
    req = handout_request(joined.model, patient, locale, paper)
    made = joined.cache.made
    rest = handout.static_part(req, BUDGET + 1, joined.cache)
    assert joined.cache.made == made  # found in the cache
    personal = handout._render(req, handout.with_total(handout.html(req, (handout.PERSONAL,)), BUDGET + rest.pages))
    assert personal.pages == BUDGET
    with pikepdf.open(io.BytesIO(rest.pdf)) as pdf:  # the cached part's ids carry "p2-": taken off
        for element in pdfjoin._elements(pdfjoin._document_element(pdf)):
            if "/ID" in element:
                element.ID = pikepdf.String(str(element.ID).removeprefix("p2-"))
            for attr in pdfjoin._attributes(element):
                if "/Headers" in attr:
                    attr.Headers = pikepdf.Array([pikepdf.String(str(h).removeprefix("p2-")) for h in attr.Headers])
        out = io.BytesIO()
        pdf.save(out)
    return personal.pdf, out.getvalue()


def _pages(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


def _problems(tmp_path, pdf: bytes) -> list[str]:
    path = tmp_path / "j.pdf"
    path.write_bytes(pdf)
    return structcheck.problems(path)


def test_without_renumbering_the_parent_tree_breaks(joined, tmp_path, monkeypatch):
    personal, static = _parts(joined)
    assert _problems(tmp_path, pdfjoin.join([personal, static])) == []
    monkeypatch.setattr(pdfjoin, "_next_key", lambda pairs, pdf: 0)
    found = _problems(tmp_path, pdfjoin.join([personal, static]))
    assert any("StructParents" in p or "MCID" in p for p in found), found


def test_without_id_prefixes_header_ids_collide(joined, tmp_path, monkeypatch):
    """The same part twice: without prefixes its header cells' ids name two cells."""
    _, static = _parts(joined)
    assert _problems(tmp_path, pdfjoin.join([static, static])) == []
    monkeypatch.setattr(pdfjoin, "_prefix_ids", lambda document, prefix: None)
    found = _problems(tmp_path, pdfjoin.join([static, static]))
    assert any("names two elements" in p for p in found), found


def test_without_font_sharing_subsets_share_a_tag(joined, tmp_path, monkeypatch):
    personal, static = _parts(joined)
    monkeypatch.setattr(pdfjoin, "_share_fonts", lambda pdf: None)
    path = tmp_path / "j.pdf"
    path.write_bytes(pdfjoin.join([personal, static]))
    assert any(len(programs) > 1 for programs in structcheck.font_programs(path).values())


def test_without_nesting_bookmarks_differ(joined, tmp_path, monkeypatch):
    personal, static = _parts(joined)
    _, whole, _ = joined.get("en", "letter")
    monkeypatch.setattr(pdfjoin, "_append_outlines", lambda base, items: None)
    path = tmp_path / "j.pdf"
    path.write_bytes(pdfjoin.join([personal, static]))
    assert structcheck.outline(path) != structcheck.outline(whole)


def test_an_untagged_part_is_refused(joined):
    personal, _ = _parts(joined)
    with pikepdf.open(io.BytesIO(personal)) as pdf:
        del pdf.Root["/StructTreeRoot"]
        out = io.BytesIO()
        pdf.save(out)
    with pytest.raises(pdfjoin.JoinError):
        pdfjoin.join([personal, out.getvalue()])


# ------------------------------------------------------------------ font merging

def _programs(pdf: bytes) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == pikepdf.Name.FontDescriptor:
                face = str(obj.FontName).split("+", 1)[1]
                out.setdefault(face, []).append(obj.FontFile2.read_bytes())
    return out


def test_merged_subset_draws_every_glyph_of_each(joined):
    from fontTools.ttLib import TTFont
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)
    a, b = _programs(personal)["Noto-Sans-SC"][0], _programs(static)["Noto-Sans-SC"][0]
    merged = fontmerge.merge([b, a])
    glyphs = fontmerge.glyph_data(merged)
    ga, gb = fontmerge.glyph_data(a), fontmerge.glyph_data(b)
    assert set(ga) - set(gb), "the personal part should need glyphs the static part lacks"
    for source in (ga, gb):
        for gid, data in source.items():
            assert glyphs[gid].rstrip(b"\0") == data.rstrip(b"\0")
    font = TTFont(io.BytesIO(merged))  # a valid font: fontTools reads every table
    fa = TTFont(io.BytesIO(a))
    order = font.getGlyphOrder()
    for gid in ga:
        name = order[gid]
        assert font["hmtx"][name] == fa["hmtx"][fa.getGlyphOrder()[gid]]
        font["glyf"][name]  # noqa: B018 - decompiles the outline


def test_a_merged_subset_can_be_merged_again(joined):
    """A cached rest's subset is itself a merge (widened with the sample's glyphs): a
    patient's new glyphs are merged into it, every glyph of each kept."""
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)
    a, b = _programs(personal)["Noto-Sans-SC"][0], _programs(static)["Noto-Sans-SC"][0]
    once = fontmerge.merge([b, a])
    twice = fontmerge.merge([once, a])
    assert fontmerge.glyph_data(twice) == fontmerge.glyph_data(once)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_cached_rest_holds_the_sample_personal_glyphs(joined, locale, monkeypatch):
    """The rest is cached with its subsets widened to a personal part's glyphs (the
    sample patient's), mapped to text as the personal part maps them: joining a
    personal part then merges no font program and rewrites no text map."""
    personal, static = _parts(joined, locale, "letter")

    def refuse(*args, **kwargs):
        raise AssertionError("a font program was merged or a text map rewritten")

    monkeypatch.setattr(pdfjoin.fontmerge, "merge", refuse)
    monkeypatch.setattr(pdfjoin, "_cmap", refuse)
    pdfjoin.join([personal, static])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_patient_written_in_ascii_needs_no_font_merge(joined, locale, monkeypatch):
    """The rest is widened with every ASCII character and every month and weekday: a
    patient with another name, phone, centre and first dose (a Saturday in June) joins
    without a font merge."""
    import datetime as dt
    joined.get(locale, "a4")
    patient = joined.patient.model_copy(update={
        "name": "Zoe Q. Patient-Xu", "phone": "+44 (0)20 7946 0958 ext. 12", "oncologist": "Dr. J. K. Rowe",
        "treatment_center": "St. Mary's #4 Unit", "first_dose": dt.date(2027, 6, 5)})
    req = handout_request(joined.model, patient, locale, "a4")

    def refuse(*args, **kwargs):
        raise AssertionError("a font program was merged")

    monkeypatch.setattr(pdfjoin.fontmerge, "merge", refuse)
    handout.render_joined(req, joined.cache)


def test_a_patient_with_new_glyphs_still_gets_one_subset_per_face(joined, tmp_path):
    from handouts.pdftext import extract
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)
    path = tmp_path / "j.pdf"
    path.write_bytes(pdfjoin.join([personal, static]))
    assert all(len(programs) == 1 for programs in structcheck.font_programs(path).values())
    assert NEW_GLYPHS_NAME in extract(path)


def test_widening_adds_glyphs_and_keeps_the_rest_as_it_was(joined):
    """What widen_fonts does alone: the rest's own glyphs, widths and text stay; the
    other part's glyphs are added; a part with nothing new is returned unchanged."""
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)
    wide = pdfjoin.widen_fonts(static, [personal])
    old, new = _programs(static)["Noto-Sans-SC"][0], _programs(wide)["Noto-Sans-SC"][0]
    drawn = _widths(personal)["Noto-Sans-SC"]
    added = set(drawn) - set(_widths(static)["Noto-Sans-SC"])
    assert added and added <= set(fontmerge.glyph_data(new)) - set(fontmerge.glyph_data(old))
    assert _widths(wide)["Noto-Sans-SC"] == {**drawn, **_widths(static)["Noto-Sans-SC"]}
    for gid, data in fontmerge.glyph_data(old).items():
        assert fontmerge.glyph_data(new)[gid].rstrip(b"\0") == data.rstrip(b"\0")
    assert pdfjoin.widen_fonts(wide, [personal]) == wide


def test_widening_maps_shared_glyphs_as_the_first_part_does(joined):
    """One glyph drawn for two characters (a bullet and a middle dot): the part that
    comes first in the join gives its text, in the cached rest as in the join."""
    personal, _ = _parts(joined, "zh-Hans", "a4")
    static = _rest_as_laid_out(joined, "zh-Hans", "a4")
    mine, theirs = _texts(static), _texts(personal)
    shared = {(face, gid) for face in theirs for gid in theirs[face]
              if gid in mine.get(face, {}) and mine[face][gid] != theirs[face][gid]}
    assert shared, "the personal part and the rest should map some glyph to different text"
    first = _texts(pdfjoin.widen_fonts(static, [personal], others_first=True))
    last = _texts(pdfjoin.widen_fonts(static, [personal]))
    for face, gid in shared:
        assert first[face][gid] == theirs[face][gid] and last[face][gid] == mine[face][gid]


def _rest_as_laid_out(joined, locale: str, paper: str) -> bytes:
    """The rest of the handout as the engine lays it out, before it is widened."""
    req = handout_request(joined.model, None, locale, paper)
    text = handout.html(req, (handout.STATIC,), BUDGET + 1)
    return handout._render(req, handout.with_total(text, BUDGET + 3)).pdf


def _texts(pdf: bytes) -> dict[str, dict[int, str]]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        faces = pdfjoin._faces(doc, pdfjoin._font_resources(doc))
        return {face.name: pdfjoin._to_unicode(face.font) for face in faces.values()}


def _widths(pdf: bytes) -> dict[str, dict[int, float]]:
    """Each face's /W widths by glyph id: the glyphs the PDF draws with it."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        faces = pdfjoin._faces(doc, pdfjoin._font_resources(doc))
        return {face.name: dict(face.widths) for face in faces.values()}


def test_subsets_of_different_fonts_are_not_merged(joined):
    personal, _ = _parts(joined, "zh-Hans", "a4")
    programs = _programs(personal)
    with pytest.raises(fontmerge.FontMergeError):
        fontmerge.merge([programs["Noto-Sans-SC"][0], programs["Noto-Sans-SC-Bold"][0]])


def _edited(pdf: bytes, edit) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        edit(doc)
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def test_fonts_drawn_inside_forms_are_shared_too(joined, tmp_path):
    """A page drawn through a form XObject: its fonts are found and merged as well."""
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)

    def into_form(doc):
        page = doc.pages[1]
        form = page.as_form_xobject()
        page.obj.Contents = doc.make_stream(b"q /Fx0 Do Q")
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fx0=form))

    path = tmp_path / "j.pdf"
    path.write_bytes(pdfjoin.join([_edited(personal, into_form), static]))
    names = structcheck.font_programs(path)
    faces = [name.split("+", 1)[1] for name in names]
    assert len(faces) == len(set(faces)), sorted(names)


def test_named_destinations_in_a_later_part_are_refused(joined):
    personal, static = _parts(joined)

    def with_names(doc):
        doc.Root.Names = pikepdf.Dictionary(Dests=pikepdf.Dictionary(Names=pikepdf.Array()))

    with pytest.raises(pdfjoin.JoinError, match="Names"):
        pdfjoin.join([personal, _edited(static, with_names)])


def test_subsets_with_renumbered_glyphs_are_not_merged(joined):
    """Merging relies on the subsetter keeping glyph ids: a glyph drawn by both subsets
    must be the same outline, or the merge is refused (each keeps its own subset)."""
    from fontTools.ttLib import TTFont
    personal, static = _parts(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME)
    a, b = _programs(personal)["Noto-Sans-SC"][0], _programs(static)["Noto-Sans-SC"][0]
    common = sorted(set(fontmerge.glyph_data(a)) & set(fontmerge.glyph_data(b)) - {0})
    font = TTFont(io.BytesIO(a), recalcTimestamp=False)
    glyph = font["glyf"][font.getGlyphOrder()[common[0]]]
    glyph.coordinates[0] = (glyph.coordinates[0][0] + 7, glyph.coordinates[0][1])
    out = io.BytesIO()
    font.save(out)
    with pytest.raises(fontmerge.FontMergeError, match="glyph ids"):
        fontmerge.merge([b, out.getvalue()])


def _with_budget(monkeypatch, pages: int) -> None:
    spec = registry.get("handout")
    monkeypatch.setitem(registry.DOCUMENTS, "handout", dataclasses.replace(spec, personal_pages=pages))


def test_a_personal_part_shorter_than_its_budget_is_numbered_right(joined, monkeypatch):
    """Where the personal part fills fewer pages than its budget, it is numbered again
    and the rest numbered after it (a second cache entry): the same text as the whole
    document."""
    from handouts.pdftext import extract
    _, whole, _ = joined.get("zh-Hans", "letter")
    _with_budget(monkeypatch, BUDGET + 1)
    cache = StaticCache(None)
    rendered = handout.render_joined(handout_request(joined.model, joined.patient, "zh-Hans", "letter"), cache)
    assert cache.made == 2  # the rest numbered from the page after the budget, then after the part
    path = whole.parent / "renumbered.pdf"
    path.write_bytes(rendered.pdf)
    assert extract(path) == extract(whole)
    assert structcheck.problems(path) == []


def test_a_personal_part_past_its_budget_is_laid_out_whole(joined, monkeypatch):
    """Past its budget the personal part is not joined: the handout is laid out whole
    (the same pages and text)."""
    from handouts.pdftext import extract
    _, whole, _ = joined.get("en", "a4")
    _with_budget(monkeypatch, BUDGET - 1)
    req = handout_request(joined.model, joined.patient, "en", "a4")
    rendered = handout.render_joined(req, StaticCache(None))
    assert rendered.pdf == handout.render_whole(req).pdf
    path = whole.parent / "past-budget.pdf"
    path.write_bytes(rendered.pdf)
    assert extract(path) == extract(whole)


# ------------------------------------------------------- fonts the join supplies

def _placeholder_faces(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return pdfjoin._placeholders(doc)


def _personal(joined, locale, paper, name=None, supplied=None) -> bytes:
    """A patient's personal part, written with its own fonts or leaving `supplied` to the join."""
    joined.get(locale, paper)
    patient = joined.patient.model_copy(update={"name": name}) if name else joined.patient
    req = handout_request(joined.model, patient, locale, paper)
    rest = handout.static_part(req, BUDGET + 1, joined.cache)
    text = handout.with_total(handout.html(req, (handout.PERSONAL,)), BUDGET + rest.pages)
    return handout._render(req, text, supplied).pdf


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_the_personal_part_leaves_the_rests_faces_to_the_join(joined, locale, tmp_path):
    """Written for the join, the personal part carries a placeholder for each face the
    cached rest holds its glyphs of; the joined handout has none and reads as before."""
    from handouts.pdftext import extract
    joined.get(locale, "a4")
    req = handout_request(joined.model, joined.patient, locale, "a4")
    rest = handout.static_part(req, BUDGET + 1, joined.cache)
    part = _personal(joined, locale, "a4", supplied=rest.faces())
    assert set(_placeholder_faces(part)) == set(rest.faces()) & set(pdfjoin.faces(_personal(joined, locale, "a4")))
    path = tmp_path / "j.pdf"
    path.write_bytes(pdfjoin.join([part, rest.pdf], prefixed=(False, True)))
    assert _placeholder_faces(path.read_bytes()) == []
    assert extract(path) == extract(joined.get(locale, "a4")[0])


def test_a_placeholder_no_part_supplies_is_refused(joined):
    """A personal part told that the rest holds glyphs it does not (a name the rest never
    draws): the join refuses it instead of printing a face without its glyphs."""
    personal = _personal(joined, "zh-Hans", "a4", NEW_GLYPHS_NAME, supplied=_everything(joined, "zh-Hans"))
    assert _placeholder_faces(personal)
    req = handout_request(joined.model, joined.patient, "zh-Hans", "a4")
    rest = handout.static_part(req, BUDGET + 1, joined.cache)
    with pytest.raises(pdfjoin.FontsNotSupplied, match="Noto-Sans-SC"):
        pdfjoin.join([personal, rest.pdf], prefixed=(False, True))


def test_a_handout_the_join_cannot_supply_is_written_with_its_own_fonts(joined, monkeypatch, tmp_path):
    from handouts.pdftext import extract
    claim = _everything(joined, "zh-Hans")
    monkeypatch.setattr(handout.StaticPart, "faces", lambda self: claim)
    patient = joined.patient.model_copy(update={"name": NEW_GLYPHS_NAME})
    req = handout_request(joined.model, patient, "zh-Hans", "a4")
    path, whole = tmp_path / "j.pdf", tmp_path / "w.pdf"
    path.write_bytes(handout.render_joined(req, joined.cache).pdf)
    whole.write_bytes(handout.render_whole(req, qr_image="svg").pdf)
    assert _placeholder_faces(path.read_bytes()) == []
    assert extract(path) == extract(whole) and NEW_GLYPHS_NAME in extract(path)


def test_a_placeholder_never_serves_a_subset_as_wide(joined):
    """Two parts with the same glyphs of a face, one with a placeholder: the real
    subset is the one both share."""
    own = _personal(joined, "zh-Hant", "a4")
    left = _personal(joined, "zh-Hant", "a4", supplied=pdfjoin.faces(own))
    assert _placeholder_faces(left)
    assert _placeholder_faces(pdfjoin.join([left, own])) == []


def _everything(joined, locale) -> dict[str, frozenset[int]]:
    """A claim that every glyph of the locale's faces is supplied."""
    req = handout_request(joined.model, joined.patient, locale, "a4")
    return {face: frozenset(range(65536)) for face in handout.static_part(req, BUDGET + 1, joined.cache).faces()}
