import pytest

from handouts import output
from handouts.errors import HandoutsError


@pytest.mark.parametrize("fd_safe", [True, False], ids=["dir-fd", "by-path-fallback"])
def test_a_symlinked_folder_is_never_written_through(tmp_path, monkeypatch, fd_safe):
    monkeypatch.setattr(output, "_FD_SAFE", fd_safe)  # False: the path used where dir_fd is missing
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "o"
    (root / "patients").mkdir(parents=True)
    (root / "patients" / "Ann").symlink_to(elsewhere)
    with pytest.raises(HandoutsError, match="symbolic link"):
        output.OutputDir(root).write("patients/Ann/handout.pdf", b"x")
    assert list(elsewhere.iterdir()) == []
