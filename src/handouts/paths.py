"""Where layouts, locales, assets and the content pack are.

In a wheel they sit inside the package (pyproject force-includes them); in a checkout
(editable install, tests) they sit at the top of the repository, where people edit them.
Content packs ship in the package's data/ folder, one folder per drug; HANDOUTS_CONTENT
names another pack's folder (or one of the shipped packs by its folder name).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from .errors import HandoutsError

CONTENT_ENV = "HANDOUTS_CONTENT"

_PKG = Path(__file__).resolve().parent


@cache
def resource_root() -> Path:
    if (_PKG / "layouts").is_dir():
        return _PKG
    repo = _PKG.parents[1]
    if (repo / "layouts").is_dir() and (repo / "locales").is_dir():
        return repo
    raise RuntimeError(f"handouts resources not found next to {_PKG}")


def layouts_dir() -> Path:
    return resource_root() / "layouts"


def locales_dir() -> Path:
    return resource_root() / "locales"


def assets_dir() -> Path:
    return resource_root() / "assets"


def fonts_dir() -> Path:
    return assets_dir() / "fonts"


def packs_dir() -> Path:
    return _PKG / "data"


def shipped_packs() -> dict[str, Path]:
    """The content packs that ship with handouts, by folder name."""
    return {p.parent.name: p.parent for p in sorted(packs_dir().glob("*/content.toml"))}


def content_pack() -> Path:
    """The folder of the content pack to print: HANDOUTS_CONTENT (a folder, or the name of
    a shipped pack), else the one shipped pack."""
    chosen = os.environ.get(CONTENT_ENV, "")
    shipped = shipped_packs()
    if chosen:
        folder = shipped.get(chosen) or Path(chosen).expanduser()
        if not (folder / "content.toml").is_file():
            raise HandoutsError("content.no_pack", CONTENT_ENV, {"value": chosen, "choices": tuple(shipped)})
        return folder
    if len(shipped) != 1:
        raise HandoutsError("content.choose_pack", CONTENT_ENV, {"choices": tuple(shipped)})
    return next(iter(shipped.values()))


def content_file() -> Path:
    return content_pack() / "content.toml"
