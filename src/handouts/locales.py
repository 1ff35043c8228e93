"""Locales are data: locales/<dir>/locale.toml (font stack, paper, review status)
plus, for translated locales, LC_MESSAGES/handouts.po next to it."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from functools import cache
from pathlib import Path

from pydantic import Field, RootModel, field_validator, model_validator

from . import paths
from .errors import HandoutsError
from .models import Strict, load_toml


class MedicalReview(Strict):
    """Whether a qualified medical translator reviewed the catalog: a person's record
    (who, when, what they read), never a flag alone."""
    reviewed: bool
    reviewer: str = ""
    date: dt.date | None = None
    scope: str = ""  # what the reviewer read (e.g. "handouts.po, all entries, content 2026.12.0")

    def problem(self, translated: bool) -> str | None:
        """Why this record is not a record of a review that happened (None: it is one).
        A translated catalog's review names the reviewer, the date and the scope; the
        source language has no translation to review."""
        given = [k for k in ("reviewer", "date", "scope") if getattr(self, k)]
        if not translated:
            return None if self.reviewed else "the source language has no translation to review: reviewed = true"
        if self.reviewed and len(given) < 3:
            return "reviewed = true needs the reviewer, the date and the scope of the review"
        if not self.reviewed and given:
            return f"{given[0]} is set but reviewed = false: record a review only once it happened"
        return None


class EmergencyNumber(Strict):
    """An emergency telephone number and the region it works in, as this locale's
    readers write the region's name."""
    region: str = Field(min_length=1)
    number: str = Field(pattern=r"^[0-9]{3}$")


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
    # A locale written like another but for some words (zh-HK like zh-Hant): its own
    # catalogs (LC_MESSAGES/*.po) hold only the entries it writes differently, and every
    # other entry comes from this locale's catalogs. Its own files may be absent.
    catalog_base: str | None = None
    space_between_sentences: bool = True
    # Regular expressions for text no line may break inside (locale.toml keep_together):
    # 第N天, a date, a range, a bracketed brand. Matches print joined by word joiners.
    keep_together: list[str] = []
    regional: dict[str, str | list[str]] = {}  # regional word choices (locale.toml [regional])
    # Emergency numbers for this locale's readers, the home region first (locale.toml
    # [[emergency]]): documents print them; a catalog never spells one.
    emergency: list[EmergencyNumber] = Field(min_length=1)
    # Regions (content-model approval codes -> names as written here) whose approval status
    # this locale's documents state (locale.toml [approval_regions]).
    approval_regions: dict[str, str] = {}
    medical_review: MedicalReview
    # Words of this locale's catalogs that contain a numeral but add no number (一些
    # "some"): word -> the English word its source must contain ("" any source).
    not_numbers: dict[str, str] = {}
    directory: Path = Path()

    @field_validator("keep_together")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"keep_together {pattern!r}: {err}") from None
        return value

    @model_validator(mode="after")
    def _review_is_a_record(self):
        problem = self.medical_review.problem(self.catalog)
        if problem:
            raise ValueError(f"medical_review: {problem}")
        return self

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
def _files() -> tuple[Path, ...]:
    return tuple(sorted(paths.locales_dir().glob("*/locale.toml")))


@cache
def _read(toml: Path) -> LocaleSpec:
    spec = load_toml(toml, LocaleSpec, f"{toml.parent.name}/{toml.name}", directory=toml.parent)
    unknown = [f for f in spec.fonts if f not in font_families()]
    if unknown:
        raise HandoutsError(f"{toml}: fonts", f"unknown font families {unknown}")
    return spec


@cache
def available() -> dict[str, LocaleSpec]:
    found: dict[str, LocaleSpec] = {}
    for toml in _files():
        spec = _read(toml)
        found[spec.code] = spec
    # English first: it is the source language.
    return dict(sorted(found.items(), key=lambda kv: (kv[0] != "en", kv[0])))


@cache
def _from_folder(code: str) -> LocaleSpec | None:
    """The locale `code` read from its own folder (zh-Hans in zh_Hans/) without reading
    the others: a build in one locale does not parse and validate every locale's file
    (their keep_together patterns take milliseconds to compile). None when no folder is
    named so, or its file declares another code: then every file is read."""
    folder = code.replace("-", "_")
    for toml in _files():  # only folders that exist: `code` is never made into a path
        if toml.parent.name == folder:
            spec = _read(toml)
            return spec if spec.code == code else None
    return None


def get(code: str, field: str = "locale") -> LocaleSpec:
    spec = _from_folder(code) if isinstance(code, str) else None
    if spec is not None:
        return spec
    specs = available()
    if code not in specs:
        raise HandoutsError("locale.unknown", field, {"value": code, "choices": tuple(specs)})
    return specs[code]


@cache
def _sentence_spaces() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Chinese puts no space between sentences, after full-width punctuation, nor between
    two Han characters where text was joined or a placeholder set spaces ("16 小時 內").
    Compiled on first use (the Han range takes milliseconds): English never needs them."""
    return (re.compile(r"(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])"),
            re.compile(r"([。！？；：，、）」』](?:</\w+>)*)[ \t\r\n]+(?=[^\s<])"))


def sentence_spacing(text: str, spec: LocaleSpec) -> str:
    """The one rule for the space between sentences, driven by the locale's
    `space_between_sentences` flag: text as it is for a locale that spaces them,
    otherwise the spaces that joining put after full-width punctuation or between Han
    characters removed. Both engines use it: on a rendered HTML page (closing tags
    between the punctuation and the space are allowed) and on a card's paragraph."""
    if spec.space_between_sentences:
        return text
    between_han, after_fullwidth = _sentence_spaces()
    return between_han.sub("", after_fullwidth.sub(r"\1", text))


@cache
def keep_together_pattern(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression for a locale's keep_together list (the first alternative
    that matches at a position wins), or None for a locale that lists none."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# A tag or a comment; text inside these elements is not printed text and stays as it is.
_TAG = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
_RAW_ELEMENT = re.compile(r"<(head|style|script|title|textarea)\b[^>]*>", re.I)
# U+2060 WORD JOINER: no line break before or after it (Unicode line breaking, class
# WJ, which also holds at a space); it has no width and no glyph, and it is not in the
# PDF's text.
WORD_JOINER = "\u2060"
_CHARACTER = re.compile(r"&[#a-zA-Z0-9]+;|.", re.S)  # an entity is one character


def joined(text: str) -> str:
    """`text` (HTML text, entities included) with a word joiner wherever a line could
    break: between each two characters but inside a run of ASCII letters and digits,
    which never breaks and keeps its kerning whole ("CRS", "2026")."""
    chars = _CHARACTER.findall(text)
    out = chars[:1]
    for prev, cur in itertools.pairwise(chars):
        if not (prev.isascii() and prev.isalnum() and cur.isascii() and cur.isalnum()):
            out.append(WORD_JOINER)
        out.append(cur)
    return "".join(out)


def keep_together(html: str, spec: LocaleSpec) -> str:
    """No line break inside what the locale's `keep_together` patterns match (第N天, a
    date, a range, a bracketed brand): on a rendered HTML page each match in the printed
    text gets a word joiner between its characters (`joined`). Not an element of its
    own: a nowrap span per match was a third of a Chinese page's elements, each styled
    and laid out as a box. Tags, attributes, comments and the text of
    head/style/script/title are left as they are; a match never spans a tag. The card's
    line breaker reads the same patterns (handouts.linebreak)."""
    pattern = keep_together_pattern(tuple(spec.keep_together))
    if pattern is None:
        return html
    out: list[str] = []
    raw_until = ""  # the closing tag that ends a raw element we are inside
    for i, part in enumerate(_TAG.split(html)):
        if i % 2:  # a tag or a comment
            if raw_until:
                if part.lower().startswith(raw_until):
                    raw_until = ""
            elif (m := _RAW_ELEMENT.match(part)) and not part.endswith("/>"):
                raw_until = f"</{m.group(1).lower()}"
            out.append(part)
        elif raw_until or not part:
            out.append(part)
        else:
            out.append(pattern.sub(lambda m: joined(m.group(0)), part))
    return "".join(out)
