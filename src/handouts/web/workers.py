"""Warm worker processes: each loads the content model, the catalogs and the fonts and
renders one card and one handout at start, so a request only pays for its own render.
Patient data reaches a worker as arguments and leaves as PDF bytes: nothing is written."""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from . import core


@dataclass(frozen=True)
class Outcome:
    problems: tuple[core.Problem, ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()
    previews: tuple[tuple[str, tuple[bytes, ...]], ...] = ()   # (file name, PNG per page)


def _warm(render: bool, scratch_dir: str | None = None) -> None:
    """Process initializer: pay every one-time cost before the first request."""
    if scratch_dir is not None:  # temporary files (WeasyPrint's font copies) go where the pool removes them
        from handouts import scratch
        scratch.adopt(scratch_dir)
    import logging
    logging.disable(logging.CRITICAL)   # a worker never logs (patient data stays unlogged)
    import weasyprint  # noqa: F401
    from handouts import catalogs
    core.model()
    for code in core.locale_codes():
        catalogs.translations(code)
    if render:
        for code in core.locale_codes():
            order = core.Order(code, "both", core.default_paper(code), core.CARD_SINGLE)
            core.render_order(order, core.check_order(order))


def produce(order: core.Order, preview: bool = False) -> Outcome:
    """Validate the order as the CLI does; if it is fine, render it (and page images)."""
    from handouts.errors import HandoutsError
    try:
        patient = core.check_order(order)
        files = core.render_order(order, patient)
    except HandoutsError as err:
        return Outcome(problems=tuple(core.problem(e) for e in getattr(err, "errors", [err])))
    if preview:
        return Outcome(files=tuple(files), previews=tuple((name, page_images(pdf)) for name, pdf in files))
    return Outcome(files=tuple(files))


def page_images(pdf: bytes, width_px: int = 760) -> tuple[bytes, ...]:
    """Each page as a PNG about `width_px` wide, rendered in memory."""
    import pypdfium2
    doc = pypdfium2.PdfDocument(pdf)
    try:
        out = []
        for page in doc:
            scale = width_px / page.get_width()
            image = page.render(scale=scale).to_pil()
            buf = io.BytesIO()
            image.save(buf, format="PNG", optimize=False)
            out.append(buf.getvalue())
            page.close()
        return tuple(out)
    finally:
        doc.close()


def check_csv(text: str, default_locale: str, sheet: str) -> list[tuple[int, object]]:
    """The rows of an uploaded CSV: (row, Patient) or (row, Problem)."""
    from handouts.errors import HandoutsError
    try:
        rows = core.csv_rows(text, default_locale, sheet)
    except HandoutsError as err:
        return [(0, core.problem(err))]
    return [(row, core.problem(item) if isinstance(item, HandoutsError) else item) for row, item in rows]


def render_patient(locale: str, paper: str, patient) -> Outcome:
    """A handout and a single wallet card for one CSV row (its card must fit, as in the CLI)."""
    from handouts.errors import HandoutsError
    order = core.Order(locale, "both", paper, core.CARD_SINGLE)
    try:
        core.check_order(order, patient)
        return Outcome(files=tuple(core.render_order(order, patient)))
    except HandoutsError as err:
        return Outcome(problems=(core.problem(err),))


def render_sheet(locale: str, sheet: str, patients: list) -> Outcome:
    name, pdf = core.render_sheet_of(locale, sheet, patients)
    return Outcome(files=((name, pdf),))


class _Pool(ProcessPoolExecutor):
    """Removes its workers' temporary folder when it shuts down (a worker stopped by the
    server's Ctrl-C cannot remove its own)."""

    def __init__(self, workers: int, warm: bool) -> None:
        from handouts import scratch
        self.scratch = scratch.Scratch()
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                         initializer=_warm, initargs=(warm, str(self.scratch.path)))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            self.scratch.close()


def pool(workers: int = 0, warm: bool = True) -> ProcessPoolExecutor:
    """Worker processes started with `spawn` (no inherited server threads or sockets)."""
    n = workers or min(4, os.cpu_count() or 1)
    ex = _Pool(n, warm)
    # Start every worker now (and wait for the warm-up), not on the first request.
    for f in [ex.submit(os.getpid) for _ in range(n)]:
        f.result()
    return ex
