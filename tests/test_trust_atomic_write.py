import errno

import pytest

from handouts import output
from handouts.errors import HandoutsError


def _disk_full(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_midway_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    out = output.OutputDir(tmp_path)
    out.write("a/x.pdf", b"%PDF- old, complete %%EOF")
    monkeypatch.setattr(output.os, "fsync", _disk_full)
    with pytest.raises(HandoutsError):
        out.write("a/x.pdf", b"%PDF- new, cut short")
    monkeypatch.undo()
    assert (tmp_path / "a" / "x.pdf").read_bytes() == b"%PDF- old, complete %%EOF"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.pdf"]


def test_a_write_that_fails_midway_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    out = output.OutputDir(tmp_path)
    monkeypatch.setattr(output.os, "fsync", _disk_full)
    with pytest.raises(HandoutsError):
        out.write("a/new.pdf", b"%PDF- cut short")
    monkeypatch.undo()
    assert list((tmp_path / "a").iterdir()) == []
