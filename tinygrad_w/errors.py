"""Every typed error of tinygrad_w: those of the core (tinygrad_w.core.errors) and those of the parts
built on it. Each also derives from the built-in exception a Python user would expect
(``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from tinygrad_w.core.errors import (
    DomainError,
    GraphChangedError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    OperationOverflowError,
    OperationZeroDivisionError,
    ShapeError,
    TinygradError,
    show,
)

__all__ = [
    "ArgumentError",
    "DivergenceError",
    "DomainError",
    "ExpressionError",
    "FileAccessError",
    "FileFormatError",
    "GradcheckError",
    "GraphChangedError",
    "NonFiniteError",
    "OperandTypeError",
    "OperationError",
    "OperationOverflowError",
    "OperationZeroDivisionError",
    "RenderError",
    "ShapeError",
    "TinygradError",
    "naming",
    "show",
]


class FileFormatError(TinygradError, ValueError):
    """A saved file is missing, truncated, corrupt, of another version or inconsistent."""


class FileAccessError(TinygradError, OSError):
    """A path that cannot be written (or read): a missing directory, a directory or a device where a file
    belongs, a name too long, no permission, a full disk. It is an OSError, so ``except OSError`` still
    catches it; the message names the function, the path and the reason."""


class ArgumentError(TinygradError, ValueError):
    """A setting or a label is outside its allowed range (a negative learning rate, betas outside [0, 1),
    a label that is not -1 or +1 for the hinge loss, ...)."""


class RenderError(TinygradError, RuntimeError):
    """Graphviz's ``dot`` program failed on a drawing (its error message is included)."""


class DivergenceError(NonFiniteError):
    """Training produced a non-finite or overflowing loss, gradient or weight.

    ``epoch`` is the epoch (counted from 1) in which it happened; ``history`` holds what was recorded
    before it. The model keeps the weights it had before the failing step.
    """

    def __init__(self, message: str, epoch: int = 0, history: object = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class GradcheckError(TinygradError, AssertionError):
    """An analytic derivative disagrees with its finite-difference estimate (see ``tinygrad_w.testing``).

    The message is a table of every partial derivative, with the disagreeing rows marked.
    """


class ExpressionError(TinygradError, ValueError):
    """A text expression given to ``tinygrad_w.parse`` is not allowed, malformed or cannot be evaluated.

    ``text`` is the expression and ``column`` the 1-based column of the offending part (0 if unknown).
    """

    def __init__(self, message: str, text: str = "", column: int = 0) -> None:
        super().__init__(message)
        self.text = text
        self.column = column


@contextmanager
def naming(where: str) -> Iterator[None]:
    """An OperationError raised inside (an overflow in ``mul``, a ``log`` of 0) is raised again, of the same
    type and with the same ``op`` and ``inputs``, with ``where: `` in front of its message: ``mse`` built
    the graph, so the message names ``mse`` as well as the op."""
    try:
        yield
    except OperationError as error:
        renamed = copy.copy(error)
        renamed.args = (f"{where}: {error}",)
        raise renamed from error
