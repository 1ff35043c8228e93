"""Locales are data: locales/<dir>/locale.toml (font stack, paper, review status)
plus, for translated locales, LC_MESSAGES/handouts.po next to it."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

from pydantic import Field, RootModel

from . import paths
from .errors import HandoutsError
from .models import Strict, load_toml


class MedicalReview(Strict):
    reviewed: bool
    reviewer: str = ""
    date: dt.date | None = None


class FontFamily(Strict):
    regular: str
    bold: str


class FontFamilies(RootModel[dict[str, FontFamily]]):
    """assets/fonts/fonts.toml: each family's regular and bold file."""


class LocaleSpec(Strict):
    code: str
    name: str
    babel: str
    html_lang: str
    default_paper: str
    fonts: list[str] = Field(min_length=1)
    catalog: bool
    space_between_sentences: bool = True
    regional: dict[str, str | list[str]] = {}  # regional word choices (locale.toml [regional])
    medical_review: MedicalReview
    directory: Path = Path()

    @property
    def po_path(self) -> Path | None:
        return self.directory / "LC_MESSAGES" / "handouts.po" if self.catalog else None


@cache
def font_families() -> dict[str, FontFamily]:
    return load_toml(paths.fonts_dir() / "fonts.toml", FontFamilies).root


def font_files(spec: LocaleSpec, weight: str = "regular") -> list[Path]:
    fams = font_families()
    return [paths.fonts_dir() / getattr(fams[f], weight) for f in spec.fonts]


@cache
def available() -> dict[str, LocaleSpec]:
    found: dict[str, LocaleSpec] = {}
    for toml in sorted(paths.locales_dir().glob("*/locale.toml")):
        spec = load_toml(toml, LocaleSpec, f"{toml.parent.name}/{toml.name}", directory=toml.parent)
        unknown = [f for f in spec.fonts if f not in font_families()]
        if unknown:
            raise HandoutsError(f"{toml}: fonts", f"unknown font families {unknown}")
        found[spec.code] = spec
    # English first: it is the source language.
    return dict(sorted(found.items(), key=lambda kv: (kv[0] != "en", kv[0])))


def get(code: str, field: str = "--locale") -> LocaleSpec:
    specs = available()
    if code not in specs:
        raise HandoutsError(field, f"unknown locale {code!r}; available: {', '.join(specs)}")
    return specs[code]


# Chinese puts no space between sentences, after full-width punctuation, nor between two
# Han characters where text was joined or a placeholder set spaces ("16 小時 內").
_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])")
_SPACE_AFTER_FULLWIDTH = re.compile(r"([。！？；：，、）」』](?:</\w+>)*)[ \t\r\n]+(?=[^\s<])")


def sentence_spacing(text: str, spec: LocaleSpec) -> str:
    """The one rule for the space between sentences, driven by the locale's
    `space_between_sentences` flag: text as it is for a locale that spaces them,
    otherwise the spaces that joining put after full-width punctuation or between Han
    characters removed. Both engines use it: on a rendered HTML page (closing tags
    between the punctuation and the space are allowed) and on a card's paragraph."""
    if spec.space_between_sentences:
        return text
    return _SPACE_BETWEEN_HAN.sub("", _SPACE_AFTER_FULLWIDTH.sub(r"\1", text))
