"""Errors a user can act on: one line naming the field, exit code 2."""

from __future__ import annotations

EXIT_USAGE = 2


class HandoutsError(Exception):
    """Bad input or a refused build. `field` names what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def one_line(self) -> str:
        return " ".join(str(self).split())


class CatalogError(HandoutsError):
    """A shipped translation catalog is incomplete or unsafe to print."""


class LayoutOverflow(HandoutsError):
    """Text did not fit where the layout puts it, at any allowed size."""


class EngineError(HandoutsError):
    """A rendering engine failed: the document (and field, where known) is named."""


class Interrupted(HandoutsError):
    """Ctrl-C: the files finished so far are complete and recorded (a batch raises it;
    here so that the command line catches it without importing the batch machinery)."""
