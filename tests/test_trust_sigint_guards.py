import concurrent.futures as cf
import os
import signal

from handouts import batch, output
from handouts.cli import main

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


def test_a_worker_ignores_ctrl_c_only_the_parent_acts_on_it():
    """Ctrl-C reaches the whole process group; an idle worker must not die of it
    (a dying worker prints a traceback and breaks the pool)."""
    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=batch._mp_context(),
                                  initializer=batch._worker_init, initargs=(os.getpid(),))
    try:
        worker = pool.submit(os.getpid).result(timeout=60)
        os.kill(worker, signal.SIGINT)
        assert pool.submit(os.getpid).result(timeout=60) == worker
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_a_second_ctrl_c_does_not_interrupt_the_cleanup(capsys, tmp_path, monkeypatch):
    """First Ctrl-C during the 2nd file; a second one while stopping must not cut the
    cleanup short: the batch still ends with the resume message (exit 130)."""
    csv = tmp_path / "p.csv"
    csv.write_text(HEADER + "".join(f"P{i},2026-12-01,,,,en\n" for i in range(4)))
    real_render, real_clean = batch.render_job, output.OutputDir.clean_partials
    state = {"calls": 0, "interrupted": False, "cleaned": 0}

    def render(job):
        state["calls"] += 1
        if state["calls"] == 2:
            state["interrupted"] = True
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C
        return real_render(job)

    def clean(self, rel=""):
        if state["interrupted"]:
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while stopping
        real_clean(self, rel)
        state["cleaned"] += state["interrupted"]

    monkeypatch.setattr(batch, "render_job", render)
    monkeypatch.setattr(output.OutputDir, "clean_partials", clean)
    try:
        code = main(["batch", "--patients", str(csv), "--out", str(tmp_path / "o"), "--jobs", "1"])
    except BaseException as exc:  # a KeyboardInterrupt must not reach pytest
        raise AssertionError(f"escaped: {exc!r}") from None
    err = capsys.readouterr().err
    assert code == 130 and "Run the same command again" in err, err
    assert state["cleaned"] >= 1 and not list((tmp_path / "o").rglob("*.part"))
