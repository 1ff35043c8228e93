"""What a render remembers (laid-out cards, fitted zones, font runs, checked patients)
lives in a render session that the request's door opens and drops: after three patients
in one worker process, no live object holds any of their text."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from handouts.session import RenderSession, current, is_open, use
from tests.helpers import ROOT, SRC
from tests.helpers.sessions import CENTRE, HALVES, ONCOLOGIST, leftovers, patient_fields


def test_a_counter_page_worker_keeps_no_patient_text_after_its_requests():
    import os

    from handouts.web import core, workers
    pool = workers._Pool(1, False, os.getpid(), 0)  # one counter-page worker, as the server starts it
    try:
        for i in range(3):
            for card in (core.CARD_SINGLE, "letter-8up"):
                order = core.Order("en" if i else "zh-Hant", "both", "letter", card, patient=patient_fields(i))
                outcome = pool.submit(workers.produce, order).result(timeout=300)
                assert not outcome.problems and len(outcome.files) == 2
        del order, outcome
        found = pool.submit(leftovers, [*HALVES, ONCOLOGIST, CENTRE]).result(timeout=120)
    finally:
        pool.shutdown()
    assert found == []


CLI_AND_BATCH = """
import sys, datetime as dt
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tests.helpers.sessions import HALVES, ONCOLOGIST, CENTRE, leftovers, patient_fields
from handouts import batch
from handouts.cli import main
from handouts.patient import from_mapping
out = Path(sys.argv[1])
for i in range(3):
    p = out / f"p{i}.toml"
    data = patient_fields(i)
    p.write_text("".join(f'{k} = "{v}"\\n' for k, v in data.items() if k != "first_dose")
                 + f"first_dose = {data['first_dose']}\\n", encoding="utf-8")
    assert main(["build", "wallet-card", "--patient", str(p), "--out", str(out / "cli")]) == 0
    assert main(["build", "wallet-card", "--patient", str(p), "--sheet", "a4-10up", "--out", str(out / "cli")]) == 0
    job = batch.Job("wallet-card", "en", "id1", out, f"b/card{i}.pdf", patient=from_mapping(data, "row"))
    assert batch.render_job(job).status == "built"
    sheet = batch.Job("wallet-card", "en", "id1", out, f"b/sheet{i}.pdf", sheet="letter-8up",
                      patients=(from_mapping(data, "row"),))
    assert batch.render_job(sheet).status == "built"
    for path in out.glob("p*.toml"):
        path.unlink()
del p, data, job, sheet
print("LEFT", leftovers([*HALVES, ONCOLOGIST, CENTRE]))
"""


def test_the_command_line_and_batch_jobs_keep_no_patient_text_after_their_runs(tmp_path):
    res = subprocess.run([sys.executable, "-c", CLI_AND_BATCH, str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=600, env={"SOURCE_DATE_EPOCH": "1796342400",
                                                                            "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "LEFT []", res.stdout


def test_a_session_is_open_only_inside_its_block():
    assert not is_open()
    with RenderSession() as s:
        assert current() is s
        s.cache("x")["k"] = "v"
        with use() as inner:
            assert inner is s
        assert s.cache("x") == {"k": "v"}
    assert not is_open() and s.cache("x") == {}
    with use() as t:
        assert current() is t
    assert current() is not t


def test_nothing_renders_with_an_id_key_or_a_module_level_cache_of_personal_text():
    """The speed layer lives in sessions: no module keeps a dict keyed by id()."""
    src = SRC
    for path in (src / "build.py", src / "localizer.py", src / "cardlayout.py", src / "engines" / "reportlab_canvas.py",
                 src / "documents" / "wallet_card.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("_PASSED", "_LOCALIZERS", "_LAYOUTS", "_FITTED", "_ONE_LINE", "_FIELDS", "_LAID", "_PROBES",
                     "gc.disable"):
            assert not re.search(rf"(?<![\w.]){re.escape(name)}\b", text), f"{path.name}: {name}"


@pytest.mark.parametrize("cache", ["card.fields", "card.ids", "rl.fitted", "rl.font_stacks", "patients.passed"])
def test_a_render_leaves_personal_layouts_in_its_session_only(tmp_path, cache):
    from handouts import content
    from handouts.build import build
    from handouts.patient import from_mapping
    with RenderSession() as s:
        build("wallet-card", "en", None, from_mapping(patient_fields(0), "p"), tmp_path, content.default())
        assert s.cache(cache), f"the render used no {cache} cache: nothing was tested"
    assert s.cache(cache) == {}
