"""Typed errors. Each also derives from the built-in exception a Python user would expect
(``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working."""

from __future__ import annotations


class TinygradError(Exception):
    """Base class of every error raised on purpose by tinygrad_w."""


class OperandTypeError(TinygradError, TypeError):
    """An operation was given something that is not a real number or a Value."""


class NonFiniteError(TinygradError, ValueError):
    """A NaN or an infinity was given where a finite number is needed."""


class OperationError(TinygradError):
    """An operation failed on the values it was given.

    ``op`` is the operation's name and ``inputs`` the numbers it was applied to.
    """

    def __init__(self, message: str, op: str = "", inputs: tuple[float, ...] = ()) -> None:
        super().__init__(message)
        self.op = op
        self.inputs = inputs


class DomainError(OperationError, ValueError):
    """An input lies outside the operation's domain (log of 0, sqrt of -1, ...)."""


class OperationZeroDivisionError(OperationError, ZeroDivisionError):
    """An operation divided by zero (x / 0, 0 ** -1, or an infinite derivative in backward)."""


class OperationOverflowError(OperationError, OverflowError):
    """An operation's result is too large for a float (exp(1000), 1e308 * 10)."""


class ShapeError(TinygradError, ValueError):
    """Sizes that must agree do not (a model's input length, X against y, ...)."""


class FileFormatError(TinygradError, ValueError):
    """A saved file is missing, truncated, corrupt, of another version or inconsistent."""


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
