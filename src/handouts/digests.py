"""Digests of what a document depends on: the code, a layout folder, a locale's catalog
and settings, its font files, the content model, the engines. A batch's manifest records
them to decide what to rebuild; the static-part cache keys by them. Each file set is read
once per process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from . import content, locales, paths


def hash_files(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@cache
def code_digest() -> str:
    pkg = Path(__file__).resolve().parent
    return hash_files(p for p in pkg.rglob("*.py"))


@cache
def layout_digest(layout: str) -> str:
    folders = (paths.layouts_dir() / layout, paths.layouts_dir() / "_shared")
    return hash_files(p for folder in folders for p in folder.rglob("*") if p.is_file())


@cache
def locale_digest(code: str) -> str:
    """A locale's settings and catalogs, with those of the locale it builds on (zh-HK's
    entries come from zh-Hant's catalogs where its own have none)."""
    files: list[Path] = []
    seen: set[str] = set()
    spec: locales.LocaleSpec | None = locales.get(code)
    while spec is not None and spec.code not in seen:
        seen.add(spec.code)
        files += [p for p in spec.directory.rglob("*") if p.is_file() and p.suffix in (".po", ".toml")]
        spec = locales.get(spec.catalog_base) if spec.catalog_base else None
    return hash_files([*files, paths.fonts_dir() / "fonts.toml"])


def font_files(code: str) -> list[Path]:
    """The font files a locale prints with."""
    spec = locales.get(code)
    return sorted({*locales.font_files(spec, "regular"), *locales.font_files(spec, "bold")})


@cache
def fonts_digest(code: str) -> str:
    """The font files a locale prints with: a changed font changes every glyph."""
    return hash_files(font_files(code))


@cache
def content_digest(folder: Path) -> str:
    """The content pack: its content file and its own catalogs."""
    return hash_files(content.Pack(folder).files())


@cache
def engines() -> dict[str, str | None]:
    """The engine libraries' versions, which of their patches are on, and the system's
    text libraries: a new WeasyPrint or pydyf may change a file's bytes, and so may a
    Debian update of Pango or HarfBuzz under the same WeasyPrint."""
    from .engines import patches
    return {**patches.engine_versions(), **text_libraries()}


def text_libraries() -> dict[str, str | None]:
    """Pango, HarfBuzz and the HarfBuzz subsetter as the system has them (asked through
    their version functions; nothing of WeasyPrint is imported)."""
    import ctypes
    out: dict[str, str | None] = {}
    for name, soname, symbol in (("pango", "libpango-1.0.so.0", "pango_version_string"),
                                 ("harfbuzz", "libharfbuzz.so.0", "hb_version_string"),
                                 ("harfbuzz_subset", "libharfbuzz-subset.so.0", "hb_version_string")):
        try:
            function = getattr(ctypes.CDLL(soname), symbol)
        except (OSError, AttributeError):  # another platform, or no subsetter: still a key
            out[name] = "absent"
            continue
        function.restype = ctypes.c_char_p
        out[name] = function().decode()
    return out
