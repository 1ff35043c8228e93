"""`pip install .` gives a working tool: layouts, locales, assets ship in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from handouts import paths


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(paths.resource_root())], check=True)
    return next(out.glob("handouts-*.whl"))


def test_wheel_carries_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("handouts/layouts/handout/template.html", "handouts/layouts/handout/style.css",
                   "handouts/locales/handouts.pot", "handouts/locales/zh_Hans/LC_MESSAGES/handouts.po",
                   "handouts/locales/zh_Hant/locale.toml", "handouts/assets/fonts/NotoSansSC_400Regular.ttf",
                   "handouts/assets/fonts/OFL-NotoSansTC.txt", "handouts/data/tarlatamab.toml"):
        assert needed in names, needed
    from handouts import registry
    for spec in registry.DOCUMENTS.values():
        folder = paths.layouts_dir() / spec.layout
        for f in folder.rglob("*"):
            if f.is_file():
                rel = f"handouts/layouts/{f.relative_to(paths.layouts_dir()).as_posix()}"
                assert rel in names, rel


def test_installed_wheel_renders(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    res = subprocess.run([sys.executable, "-c",
                          "import handouts.paths as p, sys; from handouts.cli import main; "
                          "assert str(p.resource_root()).startswith(sys.argv[1]), p.resource_root(); "
                          "sys.exit(main(['batch', '--locale', 'zh-Hant', '--out', sys.argv[2], '--jobs', '1']))",
                          str(target), str(tmp_path / "out")],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out" / "zh-Hant"
    for name in ("handout-zh-Hant-a4.pdf", "wallet-card-zh-Hant-letter-8up.pdf", "poster-zh-Hant-tabloid.pdf"):
        assert (out / name).stat().st_size > 10_000, name
