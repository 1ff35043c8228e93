"""Render sessions: the speed layer of one run, and nothing longer.

Laying out 10,000 cards is fast because what repeats is remembered: a checked patient,
a card's laid-out fields, a zone's fit, a text's font runs, a locale's localizer. Much
of that holds personal data (names, phone numbers), so it lives in a session that a
command-line run, a batch job or a web request opens and drops: when it closes,
everything it remembered goes with it, and a long-running worker (the counter page)
keeps no patient's text from one request to the next.

Code that renders asks for `current()`; the door that takes a request opens one with
`use()` (the open session, or a new one for the duration) or `RenderSession()` (always a
new one: a batch job). Files the process loads once and that hold no personal data
(fonts, catalogs, layouts, the content model) are cached per process by their modules.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

_CURRENT: ContextVar[RenderSession | None] = ContextVar("handouts_render_session", default=None)


class RenderSession:
    """Caches by name (each a plain dict), dropped when the session closes."""

    def __init__(self) -> None:
        self._caches: dict[str, dict[Any, Any]] = {}
        self._token: Any = None
        self._gc_depth = 0
        self._gc_was = False
        self._froze = False

    def cache(self, name: str) -> dict[Any, Any]:
        """The session's dict called `name` (made empty on first use)."""
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = {}
        return found

    def close(self) -> None:
        if self._froze:  # what a pause set aside is collected as usual again
            self._froze = False
            gc.unfreeze()
        for cache in self._caches.values():
            cache.clear()
        self._caches.clear()

    def __enter__(self) -> RenderSession:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _CURRENT.reset(self._token)
        self.close()

    @contextmanager
    def paused_gc(self) -> Iterator[None]:
        """No cyclic garbage collection while many cards are checked or drawn: each card
        leaves a few layouts alive until its sheet is drawn, and the collector walked all
        of them again and again. The setting comes back when the outermost pause ends.
        In the open session, what is alive then (mostly the layouts this session keeps
        until it closes) is first set aside from collection (gc.freeze) until the session
        closes: else the next collections walked all of it once more, twice (the young
        generation's, then the middle one's), to find that it is still alive. Any cycle
        made meanwhile is collected after the session closes."""
        if self._gc_depth == 0:
            self._gc_was = gc.isenabled()
            gc.disable()
        self._gc_depth += 1
        try:
            yield
        finally:
            self._gc_depth -= 1
            if self._gc_depth == 0 and self._gc_was:
                if _CURRENT.get() is self:  # open: its close() gives them back
                    gc.freeze()
                    self._froze = True
                gc.enable()


def current() -> RenderSession:
    """The open session; a fresh one (remembering nothing past its caller) when none is."""
    found = _CURRENT.get()
    return found if found is not None else RenderSession()


def is_open() -> bool:
    return _CURRENT.get() is not None


@contextmanager
def use() -> Iterator[RenderSession]:
    """The open session, or a new one until the block ends."""
    found = _CURRENT.get()
    if found is not None:
        yield found
        return
    with RenderSession() as new:
        yield new
