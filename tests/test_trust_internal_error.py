from handouts import clock
from handouts.cli import main


def test_an_unexpected_bug_is_one_line_not_a_traceback(capsys, monkeypatch):
    def boom():
        raise RuntimeError("simulated bug\nsecond line")
    monkeypatch.setattr(clock, "source_date_epoch", boom)
    monkeypatch.delenv("HANDOUTS_DEBUG", raising=False)
    code = main(["check"])
    out, err = capsys.readouterr()
    assert code == 70
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "handouts: internal error: RuntimeError: simulated bug second line "
        "(please report it; set HANDOUTS_DEBUG=1 for details)"]
