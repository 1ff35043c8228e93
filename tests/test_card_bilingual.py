"""Wallet card, issue 10: Chinese cards say the drug is approved in the United States only."""

from __future__ import annotations

import hashlib
import io
import itertools
import re

import pytest

import cardpdf
import pdfcheck
from conftest import LOCALES, NCI_URL, run

PAIRS = list(itertools.permutations(LOCALES, 2))
ID1 = (85.60, 53.98)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def sides(path) -> tuple[str, str]:
    front, back = pdfcheck.text(path).split("=== page 2 ===")
    return front, back


@pytest.fixture(scope="module")
def bilingual(model, sample_patient, tmp_path_factory):
    """Each (locale, also) pair built once, through build() as the CLI does."""
    from handouts.build import build
    root = tmp_path_factory.mktemp("bilingual")
    done = {}

    def get(locale, also):
        if (locale, also) not in done:
            done[(locale, also)] = build("wallet-card", locale, None, sample_patient,
                                         root / f"{locale}-{also}", model, also=also).path
        return done[(locale, also)]
    return get


# ------------------------------------------------------- approved in the US only

@pytest.mark.parametrize("fmt", ["id1", "business-3.5x2"])
@pytest.mark.parametrize("locale", LOCALES)
def test_chinese_front_says_approved_in_the_us_only(model, locale, fmt):
    from handouts.documents.common import approval_statement
    from handouts.documents.wallet_card import static_texts
    from handouts.localizer import get
    L = get(locale, model)
    statement = approval_statement(L)
    front = flat("".join(static_texts(locale, model, fmt)["front.intro"]))
    if locale == "en":
        assert statement == "" and "United States only" not in front
        return
    # The handout's and poster's words, naming the regions from the locale data.
    assert statement and flat(statement) in front
    for region in L.spec.regional["not_approved_in"]:
        assert region in front


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_printed_card_carries_the_statement(renders, model, locale):
    from handouts.documents.common import approval_statement
    from handouts.localizer import get
    front, back = sides(renders.get("wallet-card", locale, "id1", personal=True))
    assert flat(approval_statement(get(locale, model))) in flat(front)


