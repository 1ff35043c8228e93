"""The handout's two parts (layouts/handout/personal.html, static.html): what differs
per patient within the personal part's page budget, the rest the same for everyone and
laid out once; the paths that lay it out whole; the static-part cache wired into the
command line and the batch. (The join itself: test_pdfjoin.py; the cache: test_staticcache.py.)"""

from __future__ import annotations

import os
import re

import pytest

from tests.helpers import HANDOUT_PAPERS, LOCALES, NCI_URL, as_read, pdfcheck, run

from handouts import registry, staticcache
from handouts.documents import handout


def _request(model, patient, locale="en", paper="letter", **options):
    from handouts import papers
    from handouts.documents.common import BuildRequest
    return BuildRequest("handout", locale, papers.get(paper, registry.get("handout").papers), patient, model,
                        **options)


# ------------------------------------------------------------------ what goes where

PERSONAL_VALUES = ("name", "phone", "oncologist", "treatment_center")


def test_every_personal_value_is_in_the_personal_part_and_none_in_the_rest(model, sample_patient):
    req = _request(model, sample_patient)
    mine = handout.html(req, (handout.PERSONAL,))
    rest = handout.html(req, (handout.STATIC,))
    for name in PERSONAL_VALUES:
        value = str(getattr(sample_patient, name))
        assert value in mine and value not in rest, name
    assert "Your planned schedule" in mine and "Your planned schedule" not in rest
    # The rest is laid out without the patient: the same HTML for anyone.
    other = sample_patient.model_copy(update={"name": "Somebody Else", "first_dose": None})
    assert handout.html(_request(model, other), (handout.STATIC,)) == rest


@pytest.mark.parametrize("locale", LOCALES)
def test_the_phone_is_beside_the_call_rule_in_the_personal_part(model, sample_patient, locale):
    """The 24-hour phone prints between "call your care team right away" and the
    emergency rule, in the personal part (page 1: test_keep_together checks the page)."""
    from handouts.documents.common import danger_call, danger_emergency
    from handouts.localizer import get
    L = get(locale, model)
    mine = as_read(handout.html(_request(model, sample_patient, locale), (handout.PERSONAL,)))
    call, phone, emergency = (mine.index(t) for t in (danger_call(L), sample_patient.phone,
                                                     danger_emergency(L).split("%")[0][:20]))
    assert call < phone < emergency


@pytest.mark.parametrize("locale", LOCALES)
def test_the_rest_cites_the_dated_schedules_sources(model, sample_patient, locale):
    """The rest is laid out without a patient, yet its sources are those of the whole
    handout with a dated schedule: the same list for a blank handout and a personal one."""
    from handouts.localizer import Localizer
    req = _request(model, sample_patient, locale)
    L = Localizer(locale, model)
    with L.tracking() as facts:
        handout._html(req, L, facts, (handout.PERSONAL,), 1, "svg", frozenset())
    needed = {s.citation for s in model.sources_for(sorted(facts))}
    blank = handout.html(_request(model, None, locale), (handout.STATIC,))
    assert needed and all(c in blank for c in needed)
    personal = handout.html(req)
    sources = re.compile(r'<footer class="sources">.*?</footer>', re.S)
    assert sources.search(blank).group() == sources.search(personal).group()


# ------------------------------------------------------------------ pages

@pytest.mark.parametrize("paper", HANDOUT_PAPERS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_personal_part_fills_its_budget(model, sample_patient, locale, paper):
    """With the registry's sample patient (a name, a care team, seven dated visits), the
    personal part is exactly its page budget in every locale and paper: the rest is
    laid out once and joined, never the whole handout."""
    budget = registry.get("handout").personal_pages
    req = _request(model, sample_patient, locale, paper)
    rendered = handout._render(req, handout.with_total(handout.html(req, (handout.PERSONAL,)), 9))
    assert rendered.pages == budget


def test_large_print_and_a_second_language_are_laid_out_whole(model, sample_patient, monkeypatch):
    calls = []
    monkeypatch.setattr(handout, "render_joined", lambda req, cache: calls.append(req))
    large = handout.render(_request(model, sample_patient, "en", "a4", large_print=True))
    both = handout.render(_request(model, sample_patient, "zh-Hant", "a4", also="en"))
    assert calls == [] and large.pages >= 4 and both.pages >= 4
    handout.render(_request(model, sample_patient, "en", "a4"))
    assert len(calls) == 1


def test_the_png_code_of_a_whole_handout_decodes_at_72_dpi(model, sample_patient, tmp_path):
    """The whole-document path draws the QR code as a one-pixel-per-module PNG, scaled
    without smoothing: it decodes at 72 dpi to exactly the NCI address."""
    req = _request(model, sample_patient, "en", "letter", large_print=True)
    assert 'class="qr-code" src="data:image/png;base64,' in handout.html(req, qr_image="png")
    path = tmp_path / "large.pdf"
    path.write_bytes(handout.render_whole(req).pdf)
    found = [t for page in range(handout.render_whole(req).pages) for t in pdfcheck.decode_qr(path, page, dpi=72)]
    assert found == [NCI_URL]


def test_the_png_code_holds_exactly_the_modules(model):
    import io

    from PIL import Image

    from handouts import qr
    code = qr.make(model.meta.nci_url)
    image = Image.open(io.BytesIO(qr.png_bytes(code.matrix)))
    assert image.size == (code.size_modules, code.size_modules)
    pixels = image.load()
    assert [[pixels[x, y] == 0 for x in range(image.width)] for y in range(image.height)] == \
        [list(row) for row in code.matrix]


# ------------------------------------------------------------------ the cache at the doors

@pytest.fixture
def own_cache(monkeypatch):
    """This process's static-part cache, fresh, put back afterwards."""
    monkeypatch.setattr(staticcache, "_PROCESS", [])
    return staticcache


def test_build_keeps_the_rest_in_the_cache_folder(tmp_path, capsys, monkeypatch, own_cache):
    monkeypatch.setenv(staticcache.ENV, str(tmp_path / "cache"))
    code, out, err = run(capsys, "build", "handout", "--sample", "--out", tmp_path / "a")
    assert code == 0, err
    entries = list((tmp_path / "cache").rglob(f"*{staticcache.SUFFIX}"))
    assert len(entries) == 1
    monkeypatch.setattr(staticcache, "_PROCESS", [])  # a new process: only the folder remembers
    code, out, err = run(capsys, "build", "handout", "--sample", "--out", tmp_path / "b")
    assert code == 0, err
    assert staticcache.process_cache().made == 0
    assert (tmp_path / "a" / out.strip().rsplit("/", 1)[-1]).read_bytes() == open(out.strip(), "rb").read()


def test_a_cache_folder_that_cannot_be_written_is_a_warning(tmp_path, capsys, monkeypatch, own_cache):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder goes")
    monkeypatch.setenv(staticcache.ENV, str(blocked))
    code, out, err = run(capsys, "build", "handout", "--sample", "--out", tmp_path / "o")
    assert code == 0 and out.strip().endswith(".pdf") and os.path.exists(out.strip())
    lines = [line for line in err.splitlines() if "cache" in line]
    assert len(lines) == 1 and lines[0].startswith("handouts: warning: cache: ")
    assert str(blocked) in lines[0]


def test_a_batch_lays_out_the_rest_before_its_workers_fork(tmp_path, monkeypatch, own_cache):
    """The parent lays out each locale's rest once; the forked workers find it in the
    cache they inherit and lay out only personal parts."""
    from handouts import batch, content
    from handouts.patient import Patient
    parent = os.getpid()
    log = tmp_path / "static-layouts.txt"
    real = handout._render

    def spy(req, text, supplied=None):
        if 'class="static-start"' in text and 'class="masthead"' not in text:
            with open(log, "a") as fh:
                fh.write(f"{os.getpid()} {req.locale}\n")
        return real(req, text, supplied)

    monkeypatch.setattr(handout, "_render", spy)
    rows = [(i + 2, Patient(name=f"Patient {i}", locale=code)) for i, code in enumerate(["en", "zh-Hans"] * 2)]
    jobs = [j for j in batch.plan_patients(rows, "list.csv", tmp_path / "out", "en", content.default())
            if j.document == "handout"]
    (tmp_path / "out").mkdir()
    results = batch.run(batch.Plan(tmp_path / "out", jobs), jobs=2)
    assert [r.status for r in results] == ["built"] * 4
    laid = log.read_text().split("\n")[:-1]
    assert laid and all(line.split()[0] == str(parent) for line in laid), laid
    assert {line.split()[1] for line in laid} == {"en", "zh-Hans"}
