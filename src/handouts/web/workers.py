"""Warm worker processes in two lanes: one for the walk-in patient at the counter, one
for patient lists, so a card is never queued behind a list's rows.

Each worker loads the content model, the catalogs and the fonts at start (the counter's
also renders one card and one handout per locale), so a request only pays for its own
render. Patient data reaches a worker as arguments and leaves as PDF bytes: nothing is
written. Workers die with the server (also after `kill -9`), and a lane whose worker
died is rebuilt and the request retried once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from . import core

log = logging.getLogger("handouts.web")


@dataclass(frozen=True)
class Outcome:
    problems: tuple[core.Problem, ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()
    previews: tuple[tuple[str, tuple[bytes, ...]], ...] = ()   # (file name, PNG per page)
    outdated: tuple[core.Outdated, ...] = ()   # what the print record says this patient holds that is outdated
    patients: tuple[dict, ...] = ()   # an uploaded FHIR bundle's patients (core.bundle_patients)


# Set in each worker by `_warm`: the pool's start barrier (see `_warmed`).
_START: list = []


def _warm(render: bool, parent: int, nice: int = 0, scratch_dir: str | None = None, start=None) -> None:
    """Process initializer: tie the worker to the server's life, then pay every one-time
    cost before the first request."""
    if start is not None:
        _START[:] = [start]
    from handouts.batch import _die_with_parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl+C reaches the group; the server stops us
    _die_with_parent(parent)
    if scratch_dir is not None:  # temporary files (WeasyPrint's font copies) go where the pool removes them
        from handouts import scratch
        scratch.adopt(scratch_dir)
    if nice:
        os.nice(nice)                   # list rows yield the CPU to the counter's card
    logging.disable(logging.CRITICAL)   # a worker never logs (patient data stays unlogged)
    import weasyprint  # noqa: F401
    from handouts import catalogs, staticcache
    # One static-part cache per worker (the handout's patient-independent pages, laid
    # out at most once per locale and paper; from the cache folder when it has them).
    staticcache.configure(staticcache.default_folder())
    core.model()
    for code in core.locale_codes():
        catalogs.translations(code)
    if render:
        for code in core.locale_codes():
            order = core.Order(code, "both", core.default_paper(code), core.CARD_SINGLE)
            core.render_order(order, core.check_order(order))


def produce(order: core.Order, preview: bool = False, record: str | None = None) -> Outcome:
    """Validate the order as the CLI does; if it is fine, render it (and page images).
    `record`: the print record (`serve --record`): a download is recorded; a preview
    says which of the patient's recorded documents are outdated."""
    from handouts.errors import HandoutsError
    if not preview and order.first_dose_from and not order.first_dose_confirmed:
        return Outcome(problems=(core.Problem("first_dose", "confirm_first_dose"),))
    try:
        patient = core.check_order(order)
        files = core.render_order(order, patient, None if preview else record)
        outdated = core.outdated_documents(order, patient, record) if preview and record else ()
    except HandoutsError as err:
        return Outcome(problems=tuple(core.problem(e) for e in getattr(err, "errors", [err])))
    if preview:
        return Outcome(files=tuple(files), previews=tuple((name, page_images(pdf)) for name, pdf in files),
                       outdated=outdated)
    return Outcome(files=tuple(files))


def calendar(order: core.Order) -> Outcome:
    """The patient's dated schedule as an .ics file, for the phone's calendar."""
    from handouts.errors import HandoutsError
    try:
        return Outcome(files=(core.calendar(order, core.check_order(order)),))
    except HandoutsError as err:
        return Outcome(problems=tuple(core.problem(e) for e in getattr(err, "errors", [err])))


def read_bundle(data: bytes, name: str) -> Outcome:
    """An uploaded FHIR bundle's patients, for the page to show before anything is printed."""
    from handouts.errors import HandoutsError
    try:
        return Outcome(patients=tuple(core.bundle_patients(data, name)))
    except HandoutsError as err:
        return Outcome(problems=(core.problem(err),))


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


def check_list(name: str, data: bytes, default_locale: str, sheet: str, date_order: str,
               max_rows: int) -> list[tuple[int, object]]:
    """The rows of an uploaded list (CSV or .xlsx): (row, Patient) or (row, Problem);
    row 0: the file as a whole cannot be read."""
    from handouts.errors import HandoutsError
    try:
        rows = core.list_rows(name, data, default_locale, sheet, date_order, max_rows)
    except HandoutsError as err:
        return [(0, core.problem(err))]
    return [(row, core.problem(item) if isinstance(item, HandoutsError) else item) for row, item in rows]


def render_patient(locale: str, paper: str, patient, file_names: str = "initials") -> Outcome:
    """A handout and a single wallet card for one list row (its card must fit, as in the CLI)."""
    from handouts.errors import HandoutsError
    order = core.Order(locale, "both", paper, core.CARD_SINGLE, file_names=file_names)
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

    def __init__(self, workers: int, render: bool, parent: int, nice: int, warm: Callable[..., None] = _warm) -> None:
        from handouts import scratch
        self.scratch = scratch.Scratch()
        context = multiprocessing.get_context("spawn")
        super().__init__(max_workers=workers, mp_context=context, initializer=warm,
                         initargs=(render, parent, nice, str(self.scratch.path), context.Barrier(workers)))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            self.scratch.close()


def _ready() -> int:
    return os.getpid()


WARM_UP_LIMIT = 600  # seconds a worker may take to warm up before the lane gives up


def _warmed() -> int:
    """Returns once every worker of the pool has warmed up. The pool's `workers` calls of
    this are each held by a different worker (a worker waiting here takes no other call),
    so the lane is ready only when all are: otherwise the first worker to finish warming
    could answer every call, and the first patients would wait behind the others'
    warm-up, which takes a core for seconds."""
    if _START:
        _START[0].wait(WARM_UP_LIMIT)
    return os.getpid()


class Lane:
    """A pool of warm worker processes for one kind of work.

    A worker that dies (killed, out of memory, a crash in a native library) breaks the
    whole pool: every later call would fail. `run` then builds a new pool and retries the
    call once; the lane is unhealthy while it cannot be rebuilt (the next call tries
    again). Processes are started from the event loop's thread, which lives as long as
    the server, because the kernel's parent-death signal follows the starting thread."""

    def __init__(self, name: str, workers: int, render: bool = False, nice: int = 0,
                 warm: Callable[..., None] = _warm):
        self.name, self.workers, self.render, self.nice, self.warm = name, workers, render, nice, warm
        self.restarts = 0
        self.started: set[int] = set()   # the process ids that answered the last start
        self._pool: ProcessPoolExecutor | None = None    # None: down, could not be rebuilt
        self._generation = 0
        self._lock = asyncio.Lock()

    @property
    def healthy(self) -> bool:
        return self._pool is not None

    async def _new_pool(self) -> ProcessPoolExecutor:
        ex = _Pool(self.workers, self.render, os.getpid(), self.nice, self.warm)
        try:
            # Start every worker now and wait for its warm-up, not on the first request.
            pids = await asyncio.gather(*[asyncio.wrap_future(ex.submit(_warmed)) for _ in range(self.workers)])
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        self.started = set(pids)
        return ex

    async def start(self) -> None:
        self._pool = await self._new_pool()

    def _submit(self, fn, *args):
        if self._pool is None:
            raise BrokenProcessPool(f"the {self.name} lane is down")
        return self._pool.submit(fn, *args)

    async def run(self, fn, *args):
        """fn(*args) in a worker; on a broken pool, once more in a new one."""
        for attempt in (1, 2):
            generation = self._generation
            try:
                return await asyncio.wrap_future(self._submit(fn, *args))
            except BrokenProcessPool:
                if attempt == 2:
                    raise
                await self._rebuild(generation)

    async def probe(self) -> bool:
        """Whether the lane can take work, after rebuilding a broken pool."""
        try:
            self._submit(_ready)        # raises at once on a broken pool; else a no-op
        except BrokenProcessPool:
            try:
                await self._rebuild(self._generation)
            except BrokenProcessPool:
                pass                    # reported as unhealthy
        return self.healthy

    async def _rebuild(self, broken: int) -> None:
        """A new pool for the one of generation `broken` (once, however many calls saw
        it break); BrokenProcessPool if no new pool can be started."""
        async with self._lock:
            if self._generation != broken and self._pool is not None:
                return                   # another call has rebuilt it meanwhile
            log.error("a %s worker died: restarting the %s workers", self.name, self.name)
            old, self._pool = self._pool, None
            if old is not None:
                old.shutdown(wait=False, cancel_futures=True)
            try:
                self._pool = await self._new_pool()
            except Exception as exc:
                log.error("the %s workers could not be restarted: %s", self.name, type(exc).__name__)
                raise BrokenProcessPool(f"the {self.name} lane could not be restarted") from None
            self._generation += 1
            self.restarts += 1

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
