"""Argument checks shared by the modules: one place that decides what "a finite real number" is."""

from __future__ import annotations

import math
import numbers

from tinygrad_w.errors import NonFiniteError, OperandTypeError

__all__ = ["finite_real"]


def finite_real(x: object, what: str) -> float:
    """``x`` as a finite float, or a typed error whose message starts with ``what`` ("normal: std").

    OperandTypeError when ``x`` is not a real number (a bool is not: ``True`` as a setting is a mistake);
    NonFiniteError when it is NaN, infinite, or an integer too large for a float.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise OperandTypeError(f"{what} must be a real number, got {type(x).__name__} {x!r}")
    try:
        value = float(x)
    except OverflowError:
        raise NonFiniteError(f"{what} must be finite, got {x!r} (too large for a float)") from None
    if not math.isfinite(value):
        raise NonFiniteError(f"{what} must be finite, got {value!r}")
    return value
