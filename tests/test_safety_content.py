"""What a patient needs from the handout to be safe with it on its own (the 11/2025 label's
safety content), point by point, in every locale: each point is printed, and each is
traced to a content-model record or a locale setting (the expected text is built from
them, so a test fails when either the data or the template loses it)."""

from __future__ import annotations

import re

import pypdfium2
import pytest

from tests.helpers import LOCALES
from handouts import locales

PAPER = {code: locales.get(code).default_paper for code in LOCALES}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def printed(renders):
    """The personal handout of each locale, as drawn (page after page), without spaces."""
    cache: dict[str, str] = {}

    def get(locale: str) -> str:
        if locale not in cache:
            pdf = pypdfium2.PdfDocument(str(renders.get("handout", locale, PAPER[locale], personal=True)))
            try:
                cache[locale] = squeeze("".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
            finally:
                pdf.close()
        return cache[locale]
    return get


def L(locale, model):
    from handouts.localizer import get
    return get(locale, model)


def assert_printed(text: str, *needles: str) -> None:
    missing = [n for n in needles if squeeze(n) not in text]
    assert not missing, missing


@pytest.mark.parametrize("locale", LOCALES)
def test_1_icans_signs_timing_and_what_to_do(printed, model, locale):
    from handouts.documents.common import danger_call
    X = L(locale, model)
    assert model.text_list("icans_signs").confidence == "label-derived"
    assert_printed(printed(locale), *X.items("icans_signs"), *X.items("icans_timing"), danger_call(X))
    # Not the secondary "about a month in" timing (fact sheet 9.1: it conflicts with the label).
    if locale == "en":
        assert "monthin" not in printed(locale) and "amonth" not in printed(locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_2_no_driving_while_nervous_system_signs_last(printed, model, locale):
    X = L(locale, model)
    (rule,) = X.items("driving")
    assert_printed(printed(locale), rule)
    assert not re.search(r"\d", rule)  # no fixed period: the label ties it to the symptoms


@pytest.mark.parametrize("locale", LOCALES)
def test_3_when_to_call_the_emergency_number_and_which(printed, model, locale):
    from handouts.documents.common import capitalized, danger_emergency, emergency_signs
    X = L(locale, model)
    numbers = [e.number for e in X.spec.emergency]
    assert {"en": ["911"], "zh-Hans": ["120", "911"], "zh-Hant": ["119", "911"]}[locale] == numbers
    text = printed(locale)
    assert_printed(text, danger_emergency(X), *(capitalized(s) for s in emergency_signs(X)))
    for number in numbers:
        assert number in text
    assert "severe" not in text  # "if the signs are severe" was never defined


@pytest.mark.parametrize("locale", LOCALES)
def test_4_each_other_risk_with_what_a_patient_may_notice(printed, model, locale):
    from handouts.documents.common import risks
    X = L(locale, model)
    found = risks(X)
    assert [name for name, _ in found] == X.items("other_warnings")
    for name, notice in found:
        assert notice, name  # every risk says what to look for
        assert_printed(printed(locale), X._("%(name)s.", name=name), X._("You may notice %(signs)s.", signs=notice))
    # Label signs where the label gives them; patient-education words only where it does not.
    confidence = {sid: model.provenance(sid).confidence for sid in model.text_list("other_warnings").signs}
    assert confidence == {"infection_signs": "patient-education", "bleeding_signs": "label-verbatim",
                          "liver_signs": "patient-education", "allergy_signs": "label-derived"}


@pytest.mark.parametrize("locale", LOCALES)
def test_5_blood_tests_on_the_2025_schedule(printed, model, locale):
    from handouts.documents.common import lab_schedule_text
    X = L(locale, model)
    lab = model.printable_lab_schedule()
    assert (lab.every_dose_through, lab.from_cycle, lab.then_day) == ((5, 15), 6, 1)
    assert_printed(printed(locale), lab_schedule_text(X), *X.items("labs"))
    assert squeeze(X._("Before every dose you will have blood tests to check:")) not in printed(locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_6_pregnancy_test_contraception_and_breastfeeding(printed, model, locale):
    X = L(locale, model)
    assert_printed(printed(locale), *X.items("pregnancy_test"),
                   X._("Use birth control that works well during treatment and for %(months)s after your last dose.",
                       months=X.q("contraception_after")),
                   X._("Do not breastfeed during treatment and for %(months)s after your last dose.",
                       months=X.q("breastfeeding_after")))


@pytest.mark.parametrize("locale", LOCALES)
def test_7_the_handout_tells_the_patient_about_the_wallet_card(printed, model, locale):
    from handouts import registry
    assert "wallet-card" in registry.DOCUMENTS  # the card the handout speaks of exists
    X = L(locale, model)
    assert_printed(printed(locale),
                   X._("Your care team will give you a wallet card about this medicine. "
                       "Carry it with you at all times."),
                   X._("Show it to every doctor, dentist, nurse, and emergency room you visit."),
                   X._("After each dose, write the date of that dose on the card."))


def test_8_what_the_fact_sheet_does_not_support_is_left_out(printed, model):
    """How long treatment lasts rests only on a drug-information summary (fact sheet 2.1,
    S9), and "drink fluids" on nothing: neither is printed. The 2024 "make sure you have
    had enough fluids" is not in the 2025 passages seen: left out too."""
    text = printed("en").lower()
    for phrase in ("diseaseprogression", "aslongas", "untilthecancer", "drink", "enoughfluids"):
        assert phrase not in text, phrase


@pytest.mark.parametrize("locale", LOCALES)
def test_provenance_on_paper(printed, model, locale):
    """The footer names the latest recorded comparison and the revision compared; the
    documents say they follow the U.S. prescribing information; Chinese ones say where the
    drug is not approved, as of the date that was checked."""
    from handouts.documents.common import approval_statement, follows_us_label, label_check_line
    X = L(locale, model)
    text = printed(locale)
    assert_printed(text, label_check_line(X, model), follows_us_label(X, model))
    statement = approval_statement(X, model)
    assert bool(statement) == (locale != "en")
    if statement:
        assert_printed(text, statement)
    assert "2026-09-15" not in text and "September15,2026" not in text
    if locale != "en":
        # Patient-facing text names the U.S. label, so no one reads it as a local one.
        us = X.spec.regional["us_prescribing_information"]
        local = X.spec.regional["prescribing_information"]
        assert text.count(local) == text.count(us), (local, us)
