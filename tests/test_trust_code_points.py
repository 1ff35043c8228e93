"""A refused name is described by code points, never quoted: the message reaches
terminals, logs, the counter page's status and a ZIP's rows-not-printed.txt. And the
scripts that SECURITY.md says are accepted are the ones the bundled fonts draw."""

from __future__ import annotations

import re

import pytest

from tests.helpers import LOCALES, ROOT, run
from handouts import fonts, locales, patient as patient_mod
from handouts.errors import HandoutsError


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
