"""The base of every validated record read from a data file: unknown keys are errors
(a misspelt field must not be silently ignored) and records are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
