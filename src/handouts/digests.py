"""Digests of what a document depends on: the code, a layout folder, a locale's catalog
and settings, its font files, the content model, the engines. A batch's manifest records
them to decide what to rebuild; the static-part cache keys by them. Each file set is read
once per process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from . import locales, paths


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
    spec = locales.get(code)
    files = [p for p in spec.directory.rglob("*") if p.is_file() and p.suffix in (".po", ".toml")]
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
def content_digest() -> str:
    return hash_files([paths.content_file()])


@cache
def engines() -> dict[str, str | None]:
    """The engine libraries' versions and which of their patches are on: a new WeasyPrint
    or pydyf may change a file's bytes."""
    from .engines import patches
    return patches.engine_versions()
