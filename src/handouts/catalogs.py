"""Load gettext catalogs from the .po files and refuse unsafe ones.

A catalog is refused when an entry of the template (locales/handouts.pot) is missing,
untranslated or fuzzy, or when a translation changes the placeholders or markup tags of
its source, or brings a number its source does not have: numbers come from the content
model only. "A number" is any run of numeric characters, not only ASCII digits: full-width
digits (３８), Chinese numerals (三十八度, 十四天, 兩), circled and Roman numerals (①, ⅩⅣ).
Chinese words that only look numeric (一些 "some", 什么 "what") are listed in NOT_NUMBERS.
"""

from __future__ import annotations

import gettext
import io
import re
import unicodedata
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from . import locales, paths
from .content import PLACEHOLDER, placeholders
from .errors import CatalogError

if TYPE_CHECKING:  # babel.messages is imported where a catalog is read: English has none
    from babel.messages.catalog import Catalog

TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# Numerals that the Unicode database gives no numeric value (unicodedata.numeric is None):
# 两 俩 倆 two, 半 half, 双 雙 a pair / double ("双倍剂量" is a double dose).
EXTRA_NUMERALS = frozenset("两俩倆半双雙")
# Where a placeholder stood, so that an entry can name the words next to it.
SLOT = "#"

# Words of the shipped zh-Hans / zh-Hant catalogs that contain a numeral but add no number
# the source lacks. Each maps to an English word the source must contain (None: any source).
# Keep this list exactly to what the catalogs use; a new entry needs a reason here.
NOT_NUMBERS: dict[str, str | None] = {
    "一些": None,  # "some" (其中一些问题: some of these problems)
    "一直": None,  # "all along" (一直不见好转: does not go away)
    "一种": None, "一種": None,  # "a kind of" (是一种免疫治疗: is a type of immunotherapy)
    "最后一次": None, "最後一次": None,  # "last" (最后一次给药: the last dose)
    "最近一次": None,  # "most recent" (最近一次给药: most recent dose)
    "二维码": None,  # "QR code" (literally "two-dimensional code"), not a quantity
    "什么": None, "什麼": None,  # "what" (什 is also the accounting numeral ten)
    "这两次": None, "這兩次": None,  # "these (two)": points back to doses the text already counted
    "两次就诊之间": None, "兩次回診之間": None,  # "between visits"
    "第一个": "first", "第一個": "first",  # "the first (cycle)"
    "一半": "half",  # "half (of the people)"
    SLOT + "一次": "every",  # "Every %(interval)s": once per interval from the content model
    "给药一次": "every", "給藥一次": "every",  # "a dose every %(interval)s" (每%(interval)s给药一次)
    "最后一个": "last", "最後一個": "last",  # "the last (date shown)"
    "第一天": "first",  # "the first day (of each cycle)"
    "兩者": "both",  # "both (can be life-threatening)"
    "双特异性": "bispecific", "雙特異性": "bispecific",  # "bispecific (T-cell engager)": 双 is "dual"
}


def template_path(domain: str = "handouts") -> Path:
    return paths.locales_dir() / f"{domain}.pot"


def catalog_path(code: str, domain: str = "handouts") -> Path | None:
    """A locale's catalog for a gettext domain (`handouts`: documents; `web`: the page)."""
    spec = locales.get(code)
    return spec.directory / "LC_MESSAGES" / f"{domain}.po" if spec.catalog else None


def _read(path: Path, locale: str | None = None) -> Catalog:
    from babel.messages.pofile import read_po
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def _msg_key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _texts(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [v for v in value]
    return [value]


def _is_numeral(ch: str) -> bool:
    return ch in EXTRA_NUMERALS or unicodedata.numeric(ch, None) is not None


def numbers(text: str, source: str = "") -> set[str]:
    """Runs of numeric characters in `text` (placeholders and NOT_NUMBERS words left out);
    an entry of NOT_NUMBERS with an English word counts only when `source` has that word."""
    return _numbers(text, source, _not_numbers())


def _not_numbers() -> list[tuple[str, str | None]]:
    """NOT_NUMBERS, longest word first (a word may hold a shorter one)."""
    return sorted(NOT_NUMBERS.items(), key=lambda item: len(item[0]), reverse=True)


def _numbers(text: str, source: str, words: list[tuple[str, str | None]]) -> set[str]:
    if not any(map(_is_numeral, text)):
        return set()  # nothing numeric, whatever the words (a cold Chinese build checks ~400 texts)
    text = PLACEHOLDER.sub(SLOT, text)
    said: dict[str, bool] = {}  # each English word looked up once per source
    for word, needs in words:
        if needs is not None:
            if needs not in said:
                said[needs] = re.search(rf"\b{needs}\b", source, re.IGNORECASE) is not None
            if not said[needs]:
                continue
        text = text.replace(word, " ")
    return {"".join(run) for numeric, run in groupby(text, _is_numeral) if numeric}


# Domains whose text carries medical content. The web page's own words (buttons, form
# help, errors) print no medical fact; there only digits are checked, not Chinese numerals
# ("一个文件", "一年" for "a file", "a year" are ordinary words).
MEDICAL_DOMAINS = frozenset({"handouts"})


def problems(po_path: Path, template: Path | None = None, po: Catalog | None = None) -> list[str]:
    """Every reason this catalog must not be shipped; empty when it is fine (`po`: the
    catalog at `po_path`, when the caller has read it already)."""
    template = template or template_path()
    medical = template.stem in MEDICAL_DOMAINS
    pot = _read(template)
    po = po if po is not None else _read(po_path)
    words = _not_numbers()
    out: list[str] = []
    for tmsg in pot:
        if not tmsg.id:
            continue
        msg = po.get(tmsg.id, context=tmsg.context)
        label = _msg_key(tmsg.id)
        if msg is None or not all(_texts(msg.string)):
            out.append(f"untranslated: {label!r}")
            continue
        if msg.fuzzy:
            out.append(f"fuzzy: {label!r}")
            continue
        sources = _texts(msg.id)
        want_ph = set().union(*map(placeholders, sources))
        want_tags = sorted(TAG.findall(sources[0]))
        for text in _texts(msg.string):
            if placeholders(text) != want_ph:
                out.append(f"placeholders differ: {label!r} -> {text!r}")
            if sorted(TAG.findall(text)) != want_tags:
                out.append(f"markup tags differ: {label!r} -> {text!r}")
            source = " ".join(sources)
            if medical:
                extra = _numbers(text, source, words) - _numbers(source, "", words)
            else:
                extra = set(re.findall(r"\d+", PLACEHOLDER.sub("", text))) - set(
                    re.findall(r"\d+", PLACEHOLDER.sub("", source)))
            if extra:
                out.append(f"digits not in the source {sorted(extra)}: {label!r} -> {text!r}")
    return out


@cache
def translations(code: str, domain: str = "handouts") -> gettext.NullTranslations:
    spec = locales.get(code)
    if not spec.catalog:
        return gettext.NullTranslations()
    po_path = catalog_path(code, domain)
    if not po_path.is_file():
        raise CatalogError("catalog.missing", "", where=str(po_path))
    po = _read(po_path, locale=spec.babel)  # read once: checked, then compiled
    bad = problems(po_path, template_path(domain), po=po)
    if bad:
        more = f" (and {len(bad) - 1} more; run `handouts check`)" if len(bad) > 1 else ""
        raise CatalogError("catalog.unsafe", "", {"detail": bad[0] + more}, where=f"catalog {code}")
    from babel.messages.mofile import write_mo
    from babel.support import Translations
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    return Translations(fp=buf, domain=domain)


def all_text(code: str) -> str:
    """Every string a reader of this locale can see, for glyph coverage checks."""
    spec = locales.get(code)
    if spec.catalog:
        cat = _read(spec.po_path)
        return "".join("".join(_texts(m.string)) for m in cat if m.id)
    cat = _read(template_path())
    return "".join("".join(_texts(m.id)) for m in cat if m.id)
