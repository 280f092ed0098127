"""The core's errors, one line each; each also is the built-in error a user expects (ValueError, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


# fmt: off
class TinygradError(Exception): """Base class of every error raised on purpose by tinygrad_w."""
class OperandTypeError(TinygradError, TypeError): """Not a real number or a Value, where one is needed."""
class NonFiniteError(TinygradError, ValueError): """A NaN or an infinity given or computed where a finite number is needed."""
class ShapeError(TinygradError, ValueError): """Sizes that must agree do not (a model's inputs, X against y, ...)."""
# fmt: on


class OperationError(TinygradError):
    """An operation failed: ``op`` is its name and ``inputs`` the numbers it was applied to."""

    def __init__(self, message: str, op: str = "", inputs: tuple[float, ...] = ()) -> None:
        super().__init__(message)
        self.op, self.inputs = op, inputs


# fmt: off
class DomainError(OperationError, ValueError): """An input lies outside the op's domain (log of 0, sqrt of -1)."""
class OperationZeroDivisionError(OperationError, ZeroDivisionError): """Division by zero (x / 0, sqrt'(0))."""
class OperationOverflowError(OperationError, OverflowError): """A result or a gradient too large for a float."""
class GraphChangedError(TinygradError, RuntimeError): """A node's input was changed after the node was computed."""
# fmt: on


def show(x: object, limit: int = 80) -> str:
    """``repr(x)`` cut to ``limit`` characters, for messages: a huge number must not flood (or break) them."""
    try:
        text = repr(x)
    except Exception:  # Python refuses to print an int of 4300 digits; a user's __repr__ may fail
        text = f"<an int of {x.bit_length()} bits>" if isinstance(x, int) else f"<a {type(x).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_call(name: str, args: Iterable[object]) -> str:  # "log(-1.0)": an op and its inputs, for messages
    return f"{name}({', '.join(map(show, args))})"


def operation_error(op: Any, args: list[float], exc: Exception, during: str = "") -> OperationError:
    """Python's exception from the rule of ``op`` (an Op), as our typed error naming it and its inputs."""
    where, inputs = during + show_call(op.name, args), tuple(args)
    needs = f"; {op.name} needs {op.domain}" if op.domain else ""
    if isinstance(exc, ZeroDivisionError):
        return OperationZeroDivisionError(f"{where}: division by zero{needs}", op.name, inputs)
    if isinstance(exc, OverflowError):
        return OperationOverflowError(f"{where}: too large for a float, or NaN{needs}", op.name, inputs)
    if isinstance(exc, ValueError):
        return DomainError(f"{where}: outside the domain{needs}", op.name, inputs)
    return OperationError(f"{where}: the rule failed: {show(exc)}", op.name, inputs)  # a user's op's mistake
