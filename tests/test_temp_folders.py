"""No command, worker or server stop leaves a temporary folder behind (WeasyPrint copies
the bundled fonts, about 35 MB, into one per rendering process)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc")

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp), "SOURCE_DATE_EPOCH": "1796342400"}


def _left(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir())


def _font_copies(tmp: Path) -> int:
    return sum(1 for p in tmp.rglob("*") if p.is_dir() and p.name.startswith("weasyprint-"))


def _patients(path: Path, n: int) -> Path:
    path.write_text(HEADER + "".join(f"Patient {i},2026-12-01,,,,zh-Hant\n" for i in range(n)), encoding="utf-8")
    return path


def test_a_batch_leaves_no_temporary_folder(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    csv = _patients(tmp_path / "p.csv", 3)
    res = subprocess.run([sys.executable, "-m", "handouts", "batch", "--patients", str(csv), "--out",
                          str(tmp_path / "o"), "--jobs", "2"], env=_env(tmp), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "o").rglob("tarlatamab-handout-*.pdf"))) == 3
    assert _left(tmp) == []


def test_a_single_build_leaves_no_temporary_folder(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    res = subprocess.run([sys.executable, "-m", "handouts", "build", "handout", "--locale", "zh-Hans",
                          "--out", str(tmp_path / "o")], env=_env(tmp), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert _left(tmp) == []


def test_a_batch_stopped_with_ctrl_c_leaves_no_temporary_folder(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    csv = _patients(tmp_path / "p.csv", 24)
    proc = subprocess.Popen([sys.executable, "-m", "handouts", "batch", "--patients", str(csv), "--out",
                             str(tmp_path / "o"), "--jobs", "2"], env=_env(tmp), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "o").rglob("tarlatamab-handout-*.pdf"))) < 2:
        time.sleep(0.05)
    assert _font_copies(tmp) >= 1, "the workers made no font folder: nothing was tested"
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert _left(tmp) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_server_stop_leaves_no_temporary_folder(tmp_path, stop):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "handouts", "serve", "--port", str(port), "--workers", "2"],
                            env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None and time.time() < deadline, "the server did not start"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/en/", timeout=5) as res:
                    if res.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        # The page answers while the workers warm up; the counter's worker renders while it
        # warms, and makes its font folder then (the list workers make theirs on a first list).
        while _font_copies(tmp) < 1 and time.time() < deadline:
            time.sleep(0.2)
        assert _font_copies(tmp) >= 1, "the warm worker made no font folder: nothing was tested"
        os.killpg(proc.pid, stop)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert _left(tmp) == []


def test_a_killed_batch_leaves_its_folder_to_the_next_one(tmp_path):
    """kill -9 of the parent: nothing can clean up then; the next pool removes the folder."""
    from handouts import scratch
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    orphan = tmp / f"{scratch.PREFIX}{child.pid}-abc"
    (orphan / "weasyprint-x").mkdir(parents=True)
    live = tmp / f"{scratch.PREFIX}{os.getpid()}-def"
    live.mkdir()
    child.kill()
    child.wait()
    old = scratch.tempfile.tempdir
    scratch.tempfile.tempdir = str(tmp)
    try:
        with scratch.Scratch() as s:
            assert s.path.parent == tmp
            assert not orphan.exists()
            assert live.exists()  # its process is alive: not touched
    finally:
        scratch.tempfile.tempdir = old
    assert _left(tmp) == [live.name]
