"""The base of every validated record read from a data file: unknown keys are errors
(a misspelt field must not be silently ignored) and records are immutable. Also the
one way a data file's validation error becomes a HandoutsError: one line naming the
file and the key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import HandoutsError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def validation_error(where: str, exc: ValidationError,
                     message: Callable[[Mapping[str, Any], str], str | None] | None = None) -> HandoutsError:
    """The first error of `exc` as one line: `where: the.key`, then pydantic's words (or
    `message(error, key)` where that gives better ones)."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    msg = (message(err, key) if message else None) or err["msg"].removeprefix("Value error, ")
    return HandoutsError(f"{where}: {key}" if key else where, msg)


def load_toml(path: Path, model: type[M], where: str | None = None, **extra: Any) -> M:
    """A TOML data file validated as `model` (with `extra` keys added): a syntax error or
    a bad value is one line naming the file (`where`, default its name) and the key."""
    try:
        return model.model_validate({**tomllib.loads(path.read_text(encoding="utf-8")), **extra})
    except tomllib.TOMLDecodeError as exc:
        raise HandoutsError(str(path), f"not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise validation_error(where or path.name, exc) from None
