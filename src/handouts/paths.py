"""Where layouts, locales, assets and the content file are.

In a wheel they sit inside the package (pyproject force-includes them); in a checkout
(editable install, tests) they sit at the top of the repository, where people edit them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

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


def content_file() -> Path:
    return _PKG / "data" / "tarlatamab.toml"
