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
                   "handouts/assets/fonts/OFL-NotoSansTC.txt", "handouts/data/tarlatamab/content.toml"):
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
    for name in ("tarlatamab-handout-zh-Hant-a4.pdf", "tarlatamab-wallet-card-zh-Hant-letter-8up.pdf",
                 "tarlatamab-poster-zh-Hant-tabloid.pdf"):
        assert (out / name).stat().st_size > 10_000, name


def test_wheel_carries_the_record_migrations(wheel, tmp_path):
    """The print record's schema migrations ship inside the package, and an installed
    wheel creates a record with them."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("handouts/records/migrations/env.py", "handouts/records/migrations/script.py.mako",
                   "handouts/records/migrations/versions/0001_print_record.py"):
        assert needed in names, needed
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True)
    res = subprocess.run([sys.executable, "-c",
                          "import sys; from handouts.records import Record, store; "
                          "assert str(store.MIGRATIONS).startswith(sys.argv[1]), store.MIGRATIONS; "
                          "r = Record.open(sys.argv[2]); print(r.counts()['prints']); r.close()",
                          str(target), str(tmp_path / "r.sqlite3")],
                         env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "0", res.stderr


def _runtime_requirements(wheel) -> set[str]:
    """Distributions the wheel requires without any extra, normalised (PEP 503)."""
    import email
    import re
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        msg = email.message_from_bytes(zf.read(meta))
    names = set()
    for req in msg.get_all("Requires-Dist") or []:
        if "extra ==" not in req:
            names.add(re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", req).group()).lower())
    return names


def test_every_runtime_import_is_a_declared_dependency(wheel):
    """What the package imports (anywhere, also inside functions) is installed by
    `pip install .`, not only by the test extra."""
    import ast
    import re
    from importlib.metadata import packages_distributions
    src = paths.resource_root() / "src" / "handouts"
    if not src.is_dir():
        pytest.skip("installed without sources")
    providers = packages_distributions()
    declared = _runtime_requirements(wheel)
    for f in src.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("handouts", "__future__"):
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(top, [top])}
                assert dists & declared, f"{f.name} imports {top}, which pyproject.toml does not declare"


def test_version_comes_from_the_package_metadata(wheel, capsys):
    import handouts
    from tests.helpers import run
    version = wheel.name.split("-")[1]
    assert handouts.__version__ == version
    code, out, _ = run(capsys, "--version")
    assert code == 0 and version in out
