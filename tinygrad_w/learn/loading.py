"""Loading a learner's file and calling the code in it: a ``todo()`` still in place (NotImplementedError)
means "not written yet"; any other exception is a bug of the learner's to report, never a crash of ours."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tinygrad_w.errors import ArgumentError, FileFormatError, show


class NotWritten(Exception):
    """The learner's code raised NotImplementedError: a todo() still in place."""


class LearnerBug(Exception):
    """The learner's code raised: the message says what was called and what it raised."""


def load_learner(path: str | Path) -> ModuleType:
    """The learner's file, imported as a fresh module (each call runs it again)."""
    file = Path(path)
    if file.suffix != ".py":
        raise ArgumentError(f"learn check: expected a Python file (.py), got {show(str(path))}")
    if not file.is_file():
        raise FileFormatError(f"learn check: no file {show(str(path))}")
    digest = hashlib.sha256(str(file.resolve()).encode("utf-8")).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"learner_{digest}", file)
    if spec is None or spec.loader is None:
        raise FileFormatError(f"learn check: cannot load {show(str(path))} as a module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the learner's file may raise anything while it runs
        raise FileFormatError(
            f"learn check: {file} stops while it is imported: {type(exc).__name__}: {show(str(exc), 200)}"
        ) from None
    return module


def attempt(what: str, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, with the learner's exceptions turned into NotWritten or LearnerBug."""
    try:
        return function(*args)
    except NotImplementedError as exc:
        raise NotWritten(str(exc) or what) from None
    except Exception as exc:  # the learner's code may raise anything: report it
        raise LearnerBug(f"{what} raised {type(exc).__name__}: {show(str(exc), 160)}") from None


def piece(module: ModuleType, name: str) -> Any:
    """A name the template defines; a LearnerBug naming it when the learner's file lacks it."""
    if not hasattr(module, name):
        raise LearnerBug(f"{name} is missing: keep the template's names")
    return getattr(module, name)
