"""Load gettext catalogs from the .po files and refuse unsafe ones.

A catalog is refused when an entry of the template (locales/handouts.pot) is missing,
untranslated or fuzzy, or when a translation changes the placeholders or markup tags of
its source, or brings a number its source does not have: numbers come from the content
model only. "A number" is any run of numeric characters, not only ASCII digits: full-width
digits (３８), Chinese numerals (三十八度, 十四天, 兩), circled and Roman numerals (①, ⅩⅣ).
Words that only look numeric (一些 "some", 什么 "what") are locale data: each locale.toml
lists its own ([not_numbers]).

A content pack may bring catalogs of its own words (locales/<dir>/LC_MESSAGES/content.po
in the pack): they sit above the shared catalog, are checked the same way, and every
message of the pack (its names, its lists' items) must be translated in one of the two.
"""

from __future__ import annotations

import gettext
import io
import re
import unicodedata
from functools import cache
from itertools import groupby
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import locales, paths
from .content import PLACEHOLDER, placeholders
from .errors import CatalogError

if TYPE_CHECKING:  # babel.messages is imported where a catalog is read: English has none
    from babel.messages.catalog import Catalog

    from .content import ContentModel

TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# Numerals that the Unicode database gives no numeric value (unicodedata.numeric is None):
# 两 俩 倆 two, 半 half, 双 雙 a pair / double ("双倍剂量" is a double dose).
EXTRA_NUMERALS = frozenset("两俩倆半双雙")
# Where a placeholder stood, so that an entry can name the words next to it.
SLOT = "#"

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


def _parsed(path: Path, locale: str | None = None) -> Catalog:
    """A catalog read once per process while its file is unchanged (checked, then
    compiled; a content pack's check reads the shared catalogs again). Read-only."""
    st = path.stat()
    return _parsed_at(path, locale, st.st_mtime_ns, st.st_size)


@cache
def _parsed_at(path: Path, locale: str | None, mtime_ns: int, size: int) -> Catalog:
    return _read(path, locale)


def _msg_key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _texts(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [v for v in value]
    return [value]


def _is_numeral(ch: str) -> bool:
    return ch in EXTRA_NUMERALS or unicodedata.numeric(ch, None) is not None


def numbers(text: str, source: str = "", not_numbers: Mapping[str, str] | None = None) -> set[str]:
    """Runs of numeric characters in `text`, placeholders and the words of `not_numbers`
    left out (a locale's [not_numbers]; a word with an English word counts only when
    `source` has that word, "" : any source)."""
    return _numbers(text, source, _longest_first(not_numbers or {}))


def _longest_first(not_numbers: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """A locale's words, longest first (a word may hold a shorter one)."""
    return sorted(((w, e or None) for w, e in not_numbers.items()), key=lambda item: len(item[0]), reverse=True)


def _locale_words(po_path: Path, po: Catalog) -> Mapping[str, str]:
    """The [not_numbers] of the locale a catalog belongs to: the locale whose folder holds
    it, else the one its header names (a copy being checked elsewhere)."""
    specs = locales.available().values()
    folder = po_path.resolve().parent.parent
    found = next((s for s in specs if s.directory.resolve() == folder), None)
    if found is None and po.locale is not None:
        found = next((s for s in specs if s.directory.name == str(po.locale)), None)
    return found.not_numbers if found is not None else {}


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


def problems(po_path: Path, template: Path | Catalog | None = None, po: Catalog | None = None,
             not_numbers: Mapping[str, str] | None = None, fallbacks: Sequence[Catalog] = (),
             medical: bool | None = None) -> list[str]:
    """Every reason this catalog must not be shipped; empty when it is fine (`po`: the
    catalog at `po_path`, when the caller has read it already; `template`: a .pot path or
    a catalog of the messages it must translate; `not_numbers`: the locale's words, by
    default those of the locale the catalog belongs to; `fallbacks`: catalogs, already
    checked, that translate what this one leaves out; `medical`: whether every numeral
    counts, by default from the template's domain, True for a catalog of messages)."""
    template = template if template is not None else template_path()
    if medical is None:  # a catalog of messages (a content pack's) is medical text
        medical = template.stem in MEDICAL_DOMAINS if isinstance(template, Path) else True
    pot = _read(template) if isinstance(template, Path) else template
    po = po if po is not None else _read(po_path)
    words = _longest_first(not_numbers if not_numbers is not None else _locale_words(po_path, po))
    out: list[str] = []
    for tmsg in pot:
        if not tmsg.id:
            continue
        msg = po.get(tmsg.id, context=tmsg.context)
        label = _msg_key(tmsg.id)
        if msg is None and any(f.get(tmsg.id, context=tmsg.context) is not None for f in fallbacks):
            continue  # translated below, where that catalog was checked
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


def _own_path(code: str, domain: str) -> Path | None:
    """A locale's own catalog file for a domain, if it has one."""
    path = catalog_path(code, domain)
    return path if path is not None and path.is_file() else None


def _chain(code: str) -> list[str]:
    """The locale, then the locale whose catalogs it builds on (locale.toml catalog_base:
    zh-HK on zh-Hant), each consulted for what the one before leaves out."""
    spec = locales.get(code)
    if spec.catalog_base is None:
        return [code]
    base = locales.get(spec.catalog_base, "catalog_base")
    if not base.catalog or base.catalog_base is not None:
        raise CatalogError("catalog.base", "catalog_base", {"value": base.code},
                           where=f"{spec.directory.name}/locale.toml")
    return [code, base.code]


def locale_problems(code: str, domain: str = "handouts") -> list[str]:
    """Every reason a locale's own catalog of a domain must not ship (the gate
    translations() applies): a locale with a catalog_base may leave out what its base
    translates."""
    spec = locales.get(code)
    if not spec.catalog:
        return []
    chain = _chain(code)
    own = _own_path(code, domain)
    if own is None:
        if len(chain) > 1:
            return locale_problems(chain[1], domain)
        return [f"catalog missing: {catalog_path(code, domain)}"]
    below = [_parsed(p, spec.babel) for c in chain[1:] if (p := _own_path(c, domain)) is not None]
    return problems(own, _parsed(template_path(domain)), po=_parsed(own, spec.babel), not_numbers=spec.not_numbers,
                    fallbacks=below, medical=domain in MEDICAL_DOMAINS)


@cache
def translations(code: str, domain: str = "handouts") -> gettext.NullTranslations:
    """A locale's words for a domain: its own catalog, above its catalog_base's where it
    has one. Each catalog is checked first (CatalogError when unsafe or missing)."""
    spec = locales.get(code)
    if not spec.catalog:
        return gettext.NullTranslations()
    chain = _chain(code)
    if _own_path(chain[-1], domain) is None:  # a base, or a locale without one, has its own
        raise CatalogError("catalog.missing", "", where=str(catalog_path(chain[-1], domain)))
    layers = [p for c in chain if (p := _own_path(c, domain)) is not None]
    for c in chain:
        _refuse(locale_problems(c, domain), c)
    return _layered([_parsed(p, spec.babel) for p in layers], domain)


def _layered(cats: list[Catalog], domain: str) -> gettext.NullTranslations:
    """Catalogs compiled into one lookup, the first consulted first (fresh objects: a
    cached translation is never changed by add_fallback)."""
    out = None
    for cat in reversed(cats):
        t = _compiled(cat, domain)
        if out is not None:
            t.add_fallback(out)
        out = t
    return out if out is not None else gettext.NullTranslations()


def _refuse(bad: list[str], code: str) -> None:
    if bad:
        more = f" (and {len(bad) - 1} more; run `handouts check`)" if len(bad) > 1 else ""
        raise CatalogError("catalog.unsafe", "", {"detail": bad[0] + more}, where=f"catalog {code}")


def _compiled(po: Catalog, domain: str) -> gettext.NullTranslations:
    from babel.messages.mofile import write_mo
    from babel.support import Translations
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    return Translations(fp=buf, domain=domain)


def for_content(code: str, model: ContentModel) -> gettext.NullTranslations:
    """The words of a content model in a locale: for the locale and then its
    catalog_base, the pack's own catalog (if it has one) above the shared one. Refused,
    like a shipped catalog, when a pack's catalog is unsafe or a message of the pack
    (its names, its lists' items) is translated in none of them."""
    pack = model.pack.folder if model.pack is not None else None
    return _for_content(code, pack, tuple(model.messages()))


def untranslated(code: str, model: ContentModel) -> tuple[gettext.NullTranslations, frozenset[str]]:
    """The words of a content model in a locale even where some of its messages are not
    translated yet, and those messages: for recall, which must say which printed texts a
    new English wording has left without a translation, not refuse every text at once.
    An unsafe catalog is still refused."""
    pack = model.pack.folder if model.pack is not None else None
    try:
        return _for_content(code, pack, tuple(model.messages())), frozenset()
    except CatalogError:
        partial = _for_content(code, pack, ())  # refuses an unsafe catalog again
    missing = frozenset(msgid for context, msgid in model.messages()
                        if (partial.pgettext(context, msgid) if context else partial.gettext(msgid)) == msgid)
    return partial, missing


@cache
def _for_content(code: str, pack: Path | None, messages: tuple[tuple[str | None, str], ...]
                 ) -> gettext.NullTranslations:
    from .content import Pack
    shared = translations(code)  # checked
    spec = locales.get(code)
    if not spec.catalog:
        return shared
    from babel.messages.catalog import Catalog
    layers: list[Catalog] = []
    own_packs = False
    for c in _chain(code):
        c_spec = locales.get(c)
        own = Pack(pack).catalog(c_spec.directory.name) if pack is not None else None
        if own is not None:
            cat = _parsed(own, spec.babel)
            template = Catalog(locale=spec.babel)
            for msg in cat:
                if msg.id:
                    template.add(msg.id, context=msg.context)
            _refuse(problems(own, template, po=cat, not_numbers=c_spec.not_numbers), c)
            layers.append(cat)
            own_packs = True
        shared_own = _own_path(c, "handouts")
        if shared_own is not None:
            layers.append(_parsed(shared_own, spec.babel))
    missing = [msgid for context, msgid in messages
               if not any((m := cat.get(msgid, context=context)) is not None and all(_texts(m.string))
                          for cat in layers)]
    if missing:
        _refuse([f"untranslated: {m!r} (a message of the content pack)" for m in missing], code)
    return _layered(layers, Pack.DOMAIN) if own_packs else shared


def all_text(code: str) -> str:
    """Every string a reader of this locale can see, for glyph coverage checks."""
    spec = locales.get(code)
    if spec.catalog:
        cats = [_read(p) for c in _chain(code) if (p := _own_path(c, "handouts")) is not None]
        return "".join("".join(_texts(m.string)) for cat in cats for m in cat if m.id)
    cat = _read(template_path())
    return "".join("".join(_texts(m.id)) for m in cat if m.id)
