"""Patient input (patient.py, and the command line that reads it). Bad input of every
kind: one line naming the field, exit code 2, nothing written, never a traceback.
Includes a property-based test over every personal field, every document and the TOML
and CSV loaders; refused names are described by code point."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handouts import fonts, locales
from handouts import patient as patient_mod
from handouts.cli import main
from handouts.errors import HandoutsError
from tests.helpers import LOCALES, ROOT, assert_one_line_error, run

FIELDS = ("name", "oncologist", "phone", "treatment_center")
HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


BAD_CHARS = {"NUL": "\x00", "FS": "\x1c", "US": "\x1f", "NEL": "\x85", "LSEP": "\u2028", "PSEP": "\u2029",
             "TAB": "\t", "RLO": "\u202e", "LRI": "\u2066", "ZWJ": "\u200d", "BOM": "\ufeff",
             "combining": "e\u0336\u0336\u0336", "Devanagari": "राम", "Arabic": "علي", "Thai": "สม",
             "private": "\ue000"}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kind", sorted(BAD_CHARS))
def test_bad_characters_in_any_field_are_refused_naming_it(field, kind):
    value = f"12 Ann{BAD_CHARS[kind]}Lee" if field == "phone" else f"Ann{BAD_CHARS[kind]}Lee"
    with pytest.raises(HandoutsError) as exc:
        patient_mod.from_mapping({field: value}, "p.toml")
    assert (exc.value.where, exc.value.field) == ("p.toml", field)


@pytest.mark.parametrize("kind", ["NUL", "TAB", "RLO", "Devanagari"])
def test_bad_character_in_a_toml_file_via_cli(capsys, tmp_path, kind):
    p = tmp_path / "p.toml"
    escaped = BAD_CHARS[kind].encode("unicode_escape").decode().replace("\\x", "\\u00")
    p.write_text(f'name = "Ann{escaped}"\n', encoding="utf-8")
    assert_one_line_error(*run(capsys, "build", "wallet-card", "--patient", p, "--out", tmp_path / "o"),
                          "p.toml: name", tmp_path / "o")


@pytest.mark.parametrize("value,why", [
    ("20261201", "a number"), ('"20261201"', "digits"), ("2026-12-01T09:00:00", "a datetime"),
    ('"2026-12-01 09:00"', "text with a time"), ('"12/01/2026"', "US order"), ("true", "a boolean"),
])
def test_first_dose_must_be_a_date(capsys, tmp_path, value, why):
    p = tmp_path / "p.toml"
    p.write_text(f"first_dose = {value}\n")
    assert_one_line_error(*run(capsys, "build", "handout", "--patient", p, "--out", tmp_path / "o"),
                          "first_dose", tmp_path / "o")


CSV_CASES = {
    "utf-16": (lambda: (HEADER + "Ann,2026-12-01,,,,en\n").encode("utf-16"), "UTF-16"),
    "latin-1": (lambda: (HEADER + "Zoë,2026-12-01,,,,en\n").encode("latin-1"), "not UTF-8"),
    "one bad byte": (lambda: HEADER.encode() + b"An\xffn,2026-12-01,,,,en\n", "line 2"),
    "unclosed quote": (lambda: (HEADER + '"Ann,2026-12-01,,,,en\nBob,2026-12-02,,,,en\n').encode(), "quote"),
    "duplicate header": (lambda: b"name,name\nAnn,Ann\n", "given twice"),
    "unknown header": (lambda: b"name,shoe_size\nAnn,9\n", "shoe_size"),
    "empty": (lambda: b"", "header"),
    "NUL": (lambda: HEADER.encode() + b"A\x00n,2026-12-01,,,,en\n", "p.csv"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_bad_csv_files(capsys, tmp_path, case):
    make, needle = CSV_CASES[case]
    f = tmp_path / "p.csv"
    f.write_bytes(make())
    code, out, err = run(capsys, "batch", "--patients", f, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err and needle in err, err
    assert not list((tmp_path / "o").rglob("*.pdf"))


def test_bad_csv_rows_are_named_and_skipped(capsys, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEADER + "Ann,2026-12-01,,,,en,extra\n" + "Bob,20261201,,,,en\n" + "Cy\tx,2026-12-01,,,,en\n"
                 + "Dee,2026-12-01,,,,\n", encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", f, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2
    assert "p.csv row 2: 7 cells" in err
    assert "p.csv row 3: first_dose" in err
    assert "p.csv row 4: name" in err
    assert len(list((tmp_path / "o" / "patients").glob("Dee-*/tarlatamab-handout-*.pdf"))) == 1


def test_a_row_whose_card_cannot_fit_is_that_rows_error(capsys, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEADER + "Ann,2026-12-01,,,,en\n" + ("W" * 100) + ",2026-12-01,,,,en\n", encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", f, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2, err
    assert "p.csv row 3" in err and "name" in err
    assert list((tmp_path / "o" / "patients").glob("tarlatamab-wallet-card-en-letter-8up-p-*.pdf"))


@pytest.mark.parametrize("args,field", [
    (["build", "handout", "--locale", ""], "--locale"),
    (["batch", "--locale", ""], "--locale"),
    (["build", "handout", "--out", "/proc/handouts"], "--out"),
    (["build", "handout", "--out", "/proc"], "--out"),
    (["batch", "--locale", "en", "--out", "/proc"], "--out"),
    (["text", "README.md"], "PDF"),
    (["text", "pyproject.toml"], "PDF"),
])
def test_bad_options(capsys, tmp_path, args, field):
    assert_one_line_error(*run(capsys, *args), field)


def test_out_is_a_file(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    assert_one_line_error(*run(capsys, "build", "handout", "--out", f), "--out")
    assert_one_line_error(*run(capsys, "batch", "--locale", "en", "--out", f), "--out")


def test_text_of_a_damaged_pdf(capsys, tmp_path):
    f = tmp_path / "x.pdf"
    f.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    assert_one_line_error(*run(capsys, "text", f), "PDF")


@pytest.mark.parametrize("value", ["soon", "-5", "1.5e9", "99999999999999999999", "１２３"])
def test_bad_source_date_epoch(capsys, tmp_path, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert_one_line_error(*run(capsys, "build", "handout", "--out", tmp_path / "o"), "SOURCE_DATE_EPOCH",
                          tmp_path / "o")


def test_huge_patient_file_is_refused_quickly(capsys, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("".join(f"k{i} = {i}\n" for i in range(200_000)))
    assert_one_line_error(*run(capsys, "build", "handout", "--patient", p, "--out", tmp_path / "o"), "--patient")


def test_huge_patient_list_is_refused(capsys, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEADER + "".join(f"P{i},2026-12-01,,,,en\n" for i in range(patient_mod.MAX_CSV_ROWS + 1)))
    code, out, err = run(capsys, "batch", "--patients", f, "--out", tmp_path / "o")
    assert code == 2 and "more than" in err and "Traceback" not in err


def test_rows_times_copies_is_bounded(capsys, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEADER + "".join(f"P{i},2026-12-01,,,,en\n" for i in range(10)))
    assert_one_line_error(*run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", f,
                               "--copies", "10000", "--out", tmp_path / "o"), "--copies", tmp_path / "o")


# -- property-based: no input produces a traceback ------------------------------------

any_text = st.text(st.characters(codec=None, exclude_categories=("Cs",)), max_size=140)
field_values = st.one_of(any_text, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
                         st.dates(), st.datetimes(), st.lists(st.integers(), max_size=2))
patients = st.fixed_dictionaries({}, optional={
    "name": field_values, "oncologist": field_values, "phone": field_values,
    "treatment_center": field_values, "first_dose": field_values,
    "locale": st.sampled_from(["en", "zh-Hans", "zh-Hant", "", "fr", "../en", "EN"]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=patients)
def test_any_patient_mapping_validates_or_is_refused(data):
    try:
        patient_mod.from_mapping(data, "p.toml")
    except HandoutsError as err:
        assert err.where == "p.toml"


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=patients, document=st.sampled_from(["handout", "wallet-card", "poster"]))
def test_any_patient_renders_or_is_refused_in_every_document(tmp_path_factory, data, document):
    """Validation, checks, layout and engine: a document or a one-line error."""
    from handouts import content
    from handouts.build import build, check_patient, precheck
    out = tmp_path_factory.mktemp("prop")
    try:
        p = patient_mod.from_mapping(data, "p.toml")
        locale = p.locale or "en"
        check_patient(p, locale, content.default())
        precheck(p, locale, content.default())
        build(document, locale, None, p, out)
    except HandoutsError:
        assert not [f for f in out.rglob("*") if f.is_file()], "a refused build left a file"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=400), any_text.map(lambda t: HEADER + t),
                      st.lists(st.lists(any_text, max_size=8), max_size=4).map(
                          lambda rows: HEADER + "\n".join(",".join(r) for r in rows))))
def test_csv_loader_never_raises_anything_else(tmp_path_factory, body):
    f = tmp_path_factory.mktemp("csv") / "p.csv"
    f.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass"))
    try:
        rows = patient_mod.load_csv(f)
    except HandoutsError:
        return
    for _, item in rows:
        assert isinstance(item, (patient_mod.Patient, HandoutsError))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=400), any_text,
                      patients.map(lambda d: "\n".join(f"{k} = {v!r}" for k, v in d.items()))))
def test_toml_loader_never_raises_anything_else(tmp_path_factory, body):
    f = tmp_path_factory.mktemp("toml") / "p.toml"
    f.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass"))
    try:
        patient_mod.load_toml(f)
    except HandoutsError:
        pass


def test_valid_dates_still_pass():
    p = patient_mod.from_mapping({"first_dose": "2026-12-01", "name": "Zoë Ünal 李伟 陳美"}, "x")
    assert p.first_dose == dt.date(2026, 12, 1) and p.name == "Zoë Ünal 李伟 陳美"


def test_page_budget_overflow_names_the_field(monkeypatch, tmp_path):
    """When one personal value pushes a document past its budget, the error names it."""
    import dataclasses

    from handouts import build as build_mod
    from handouts import registry
    from handouts.documents import handout

    real = handout.render

    def fake(req):
        rendered = real(req)
        long_center = req.patient is not None and req.patient.treatment_center
        return dataclasses.replace(rendered, pages=9 if long_center else rendered.pages)

    monkeypatch.setattr(handout, "render", fake)
    p = patient_mod.Patient(name="Ann", treatment_center="A very long treatment center name")
    with pytest.raises(HandoutsError) as exc:
        build_mod.build("handout", "en", None, p, tmp_path)
    assert exc.value.subject == "patient: treatment_center"
    assert "9 pages" in exc.value.message
    assert not list(tmp_path.iterdir())
    assert registry.get("handout").page_budget[1] < 9


def test_overdue_label_comparison_warns_and_strict_fails(capsys, tmp_path, monkeypatch):
    from handouts import content
    model = content.default()
    due = model.label_check_due()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(due.year, due.month, due.day,
                                                                tzinfo=dt.UTC).timestamp()) + 86400))
    code, out, err = run(capsys, "build", "poster", "--out", tmp_path / "o")
    assert code == 0 and "last compared with the prescribing information" in err
    code, out, err = run(capsys, "build", "poster", "--strict", "--out", tmp_path / "o2")
    assert code == 2 and "--strict" in err and not (tmp_path / "o2").exists()


# -- scripts the card cannot shape: refused by the script check alone, even as letters
# without the combining marks the character check catches.

# Letters only (category Lo, no vowel signs or virama): only the script check refuses these.
UNSHAPED_SCRIPTS = {"Devanagari": "रमन", "Bengali": "রমন", "Tamil": "ரமன", "Arabic": "علي", "Thai": "สม"}


@pytest.mark.parametrize("kind", sorted(UNSHAPED_SCRIPTS))
def test_scripts_the_card_cannot_shape_are_refused_even_without_combining_marks(kind):
    with pytest.raises(HandoutsError) as exc:
        patient_mod.from_mapping({"name": f"Ann {UNSHAPED_SCRIPTS[kind]}"}, "p.toml")
    assert (exc.value.where, exc.value.field) == ("p.toml", "name")
    assert "shaping" in str(exc.value)


# -- first_dose: the project's own date check decides what a date is, not pydantic's
# lax parsing.

# Values pydantic's lax date parsing would accept (exact midnights, numeric text):
# only the project's own date check refuses them.
@pytest.mark.parametrize("value", ["1796083200", '"1796083200"', "2026-12-01T00:00:00",
                                   "2026-12-01 00:00:00Z", '"2026-12-01T00:00:00"'])
def test_first_dose_refuses_what_pydantic_would_take(capsys, tmp_path, value):
    p = tmp_path / "p.toml"
    p.write_text(f"first_dose = {value}\n")
    code = main(["build", "handout", "--patient", str(p), "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 2, err
    errors = [ln for ln in err.splitlines() if ln.startswith("handouts: error")]
    assert len(errors) == 1 and "first_dose" in errors[0], err
    assert not (tmp_path / "o").exists() or not [f for f in (tmp_path / "o").rglob("*") if f.is_file()]


# -- A refused name is described by code points, never quoted: the message reaches
# terminals, logs, the counter page's status and a ZIP's rows-not-printed.txt. And the
# scripts that SECURITY.md says are accepted are the ones the bundled fonts draw.

# A name in each accepted script (Common, "Zyyy", is digits and punctuation).
ACCEPTED = {"Latn": "Zoë Ångström-Łukasz", "Grek": "Νίκος Παπαδόπουλος", "Cyrl": "Иван Петров",
            "Hani": "李伟 林美玲", "Hira": "さくら", "Kana": "サクラ", "Bopo": "ㄌㄧ"}
BASIC = {"Latn": "Zoë Müller-Núñez", "Grek": "Νικος Παπαδοπουλος"}       # Chinese documents print these
SCRIPT_NAMES = {"Latn": "Latin", "Grek": "Greek", "Cyrl": "Cyrillic", "Hani": "Chinese",
                "Hira": "Japanese kana", "Kana": "Japanese kana", "Bopo": "Bopomofo"}
# Names the tool refuses, and why: no bundled font has the script, or it needs shaping;
# or the script is accepted but the fonts lack that character (a rare CJK ideograph).
REFUSED = {"Korean": "김민준", "Armenian": "Արամ", "Georgian": "ნინო", "Arabic": "نور", "Devanagari": "राम",
           "rare ideograph": "Ada 𪚥"}


def _code_points(text: str) -> set[str]:
    return {f"U+{ord(c):04X}" for c in text if not c.isascii()}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_a_refused_name_is_named_by_code_point_on_the_command_line(capsys, tmp_path, what):
    name = REFUSED[what]
    p = tmp_path / "p.toml"
    p.write_text(f'name = "{name}"\n', encoding="utf-8")
    code, out, err = run(capsys, "build", "wallet-card", "--patient", p, "--out", tmp_path / "o")
    assert code == 2 and ": name:" in err and len(err.strip().splitlines()) == 1, err
    assert re.search(r"U\+[0-9A-F]{4,5}", err) and set(re.findall(r"U\+[0-9A-F]{4,5}", err)) <= _code_points(name)
    shown = {c for c in name if not c.isascii()} & set(err)
    assert not shown, f"the message quotes {shown!r}: {err}"
    assert not re.search(r"(LETTER|SYLLABLE) ", err), err        # a Unicode name spells the letter


def test_a_glyph_the_fonts_lack_is_named_by_code_points_in_order():
    with pytest.raises(HandoutsError) as err:
        fonts.require("Ada 𪚥𠮷𡈽𤴓", ("Noto Sans", "Noto Sans SC"), "p: name", "en")
    assert err.value.message == "no bundled font for en has U+20BB7, U+2123D, U+24D13 and 1 more"


def test_security_md_names_the_scripts_that_are_accepted():
    text = " ".join((ROOT / "SECURITY.md").read_text(encoding="utf-8").split())
    listed = re.search(r"accepts scripts it can draw faithfully \(([^)]*)\)", text)
    assert listed, "SECURITY.md no longer names the accepted scripts"
    named = {s.strip() for s in listed.group(1).split(",")}
    assert named == set(SCRIPT_NAMES.values())
    assert set(SCRIPT_NAMES) == set(ACCEPTED) == patient_mod.DRAWABLE_SCRIPTS - {"Zyyy"}


@pytest.mark.parametrize("script", sorted(ACCEPTED))
def test_every_accepted_script_is_drawn_by_the_bundled_fonts(script):
    """English documents draw every sample; Chinese documents' fonts (Noto Sans SC/TC)
    have the basic letters (Western European accents, Greek without accents, the
    Russian alphabet) and refuse the rest by code point, as SECURITY.md says."""
    name = patient_mod.from_mapping({"name": ACCEPTED[script]}, "p").name
    fonts.require(name, tuple(locales.get("en").fonts), "p: name", "en")
    basic = patient_mod.from_mapping({"name": BASIC.get(script, name)}, "p").name
    for code in LOCALES:
        fonts.require(basic, tuple(locales.get(code).fonts), "p: name", code)


@pytest.mark.parametrize("code", [c for c in LOCALES if c != "en"])
@pytest.mark.parametrize("letter", ["Ł", "ί", "ї"])
def test_letters_the_chinese_fonts_lack_are_refused_by_code_point(code, letter):
    with pytest.raises(HandoutsError) as err:
        fonts.require(f"Ada {letter}", tuple(locales.get(code).fonts), "p: name", code)
    assert err.value.message.endswith(f"has U+{ord(letter):04X}") and letter not in err.value.message


@pytest.mark.parametrize("what", ["Korean", "Armenian", "Georgian"])
def test_a_script_no_bundled_font_has_is_refused_when_read(what):
    with pytest.raises(HandoutsError, match="no bundled font has"):
        patient_mod.from_mapping({"name": REFUSED[what]}, "p")
