"""Set-up a newcomer can follow: `make render` installs only what rendering needs and
`make test` what the tests need; the system-deps script waits for apt's lock and prints
apt's reason when it fails; the README's commands run as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "install-system-deps.sh"


def _dry_run(target: str, tmp_path: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def test_make_render_installs_only_what_rendering_needs(tmp_path):
    render = _dry_run("render", tmp_path)
    assert "install-system-deps.sh render" in render
    assert re.search(r"pip install .*-c constraints\.txt -e \.$", render, re.M), render
    assert "[test" not in render and "install-system-deps.sh test" not in render
    test = _dry_run("test", tmp_path)
    assert "install-system-deps.sh test" in test and "-e '.[test,lint]'" in test


def _fake_system(tmp_path: Path, apt_script: str) -> dict[str, str]:
    """A PATH where ldconfig finds no HarfBuzz subsetter, `id -u` is root and apt-get is
    `apt_script` (a shell body; $calls counts its runs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ldconfig").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    (bin_dir / "apt-get").write_text(f"#!/bin/bash\ncount={tmp_path}/calls\n"
                                     "echo \"$*\" >> $count\ncalls=$(wc -l < $count)\n" + apt_script)
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HANDOUTS_APT_WAIT": "0.05",
            "HANDOUTS_APT_TRIES": "20"}


def test_the_script_waits_for_the_package_managers_lock(tmp_path):
    env = _fake_system(tmp_path, 'if [ "$calls" -le 3 ]; then\n'
                                 '  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. '
                                 'It is held by process 4242 (apt-get)" >&2; exit 100\nfi\nexit 0\n')
    done = subprocess.run(["bash", str(SCRIPT), "render"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "waiting for the package manager's lock" in done.stderr and "4242" in done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[-1].endswith("install -y -qq --no-install-recommends libharfbuzz-subset0"), calls
    assert "could not install" not in done.stderr


def test_the_script_prints_apts_reason_when_it_fails(tmp_path):
    env = _fake_system(tmp_path, 'case "$*" in *install*) echo "Reading package lists..."; '
                                 'echo "E: Unable to locate package libharfbuzz-subset0" >&2; exit 100;; '
                                 'esac\nexit 0\n')
    done = subprocess.run(["bash", str(SCRIPT), "render"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0                       # a notice: rendering works without it
    assert "could not install libharfbuzz-subset0" in done.stderr
    assert "E: Unable to locate package libharfbuzz-subset0" in done.stderr


def test_render_mode_asks_for_no_test_packages(tmp_path):
    env = _fake_system(tmp_path, "exit 0\n")
    subprocess.run(["bash", str(SCRIPT), "render"], env=env, check=True, capture_output=True, timeout=60)
    installs = [c for c in (tmp_path / "calls").read_text().splitlines() if " install " in f" {c} "]
    assert installs and all("chromium" not in c and "calcurse" not in c for c in installs), installs


# ------------------------------------------------------------------ the README

def _readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if re.match(r"(\.venv/bin/)?handouts\b", line):
                commands.append(shlex.split(line.split(" > ", 1)[0]))   # the shell's redirection is not ours
    return commands


def test_readme_commands_name_the_venvs_handouts():
    """Every command the README shows runs as written from the repository after `make`:
    none is a bare `handouts` (not on PATH unless the venv is activated)."""
    commands = _readme_commands()
    assert len(commands) > 15
    bare = [" ".join(c) for c in commands if c[0] == "handouts"]
    assert bare == [], bare


def test_readme_commands_parse_with_the_options_they_show(tmp_path, monkeypatch):
    """Each README command's options exist and take the values shown (parsed by the
    command line itself, without running it), and every file it names under docs/ exists.
    Run where `make render` has been: its out/ exists."""
    from handouts.cli import cli
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    for argv in _readme_commands():
        for arg in argv:
            if arg.startswith("out/") and arg.endswith(".pdf"):
                (tmp_path / arg).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / arg).write_bytes(b"%PDF-1.7")
    for argv in _readme_commands():
        args = argv[1:]
        command, rest = cli, list(args)
        try:
            while isinstance(command, click.Group):      # the command's name, then its own options
                assert rest and rest[0] in command.commands, argv
                command, rest = command.commands[rest[0]], rest[1:]
            command.make_context(command.name, rest)
        except click.ClickException as exc:
            pytest.fail(f"{' '.join(argv)}: {exc.format_message()}")
        for arg in args:
            if arg.startswith("docs/"):
                assert (ROOT / arg).is_file(), arg


def test_readme_says_how_many_test_workers_make_test_uses():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pytest -n auto" in makefile
    assert "2 workers" not in readme and "-n auto" in readme
