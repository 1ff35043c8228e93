"""Load gettext catalogs from the .po files and refuse unsafe ones.

A catalog is refused when an entry of the template (locales/handouts.pot) is missing,
untranslated or fuzzy, or when a translation changes the placeholders or markup tags of
its source, or brings a digit its source does not have: numbers come from the content
model only.
"""

from __future__ import annotations

import gettext
import io
import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from . import locales, paths
from .errors import CatalogError

PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\{\w*\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
DIGIT_RUN = re.compile(r"\d+")


def template_path(domain: str = "handouts") -> Path:
    return paths.locales_dir() / f"{domain}.pot"


def catalog_path(code: str, domain: str = "handouts") -> Path | None:
    """A locale's catalog for a gettext domain (`handouts`: documents; `web`: the page)."""
    spec = locales.get(code)
    return spec.directory / "LC_MESSAGES" / f"{domain}.po" if spec.catalog else None


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def _msg_key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _texts(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [v for v in value]
    return [value]


def problems(po_path: Path, template: Path | None = None) -> list[str]:
    """Every reason this catalog must not be shipped; empty when it is fine."""
    template = template or template_path()
    pot = _read(template)
    po = _read(po_path)
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
        want_ph = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        want_tags = sorted(TAG.findall(sources[0]))
        for text in _texts(msg.string):
            if set(PLACEHOLDER.findall(text)) != want_ph:
                out.append(f"placeholders differ: {label!r} -> {text!r}")
            if sorted(TAG.findall(text)) != want_tags:
                out.append(f"markup tags differ: {label!r} -> {text!r}")
            allowed = set(DIGIT_RUN.findall(PLACEHOLDER.sub("", " ".join(sources))))
            extra = set(DIGIT_RUN.findall(PLACEHOLDER.sub("", text))) - allowed
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
        raise CatalogError(str(po_path), "catalog missing")
    bad = problems(po_path, template_path(domain))
    if bad:
        more = f" (and {len(bad) - 1} more; run `handouts check`)" if len(bad) > 1 else ""
        raise CatalogError(f"catalog {code}", bad[0] + more)
    buf = io.BytesIO()
    write_mo(buf, _read(po_path, locale=spec.babel))
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
