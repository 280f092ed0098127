"""Checks of settings (a learning rate, a noise level, a layer count, a flag): one place that decides what
each kind of setting accepts, and the typed error with which it refuses the rest.

Numbers that flow into graphs (inputs, labels, weights) are checked by the core's
:func:`tinygrad_w.core.value.as_real`; a setting is not an operand (a Value is no learning rate), so it
has these checks, which also know its allowed range.
"""

from __future__ import annotations

import math
import numbers

from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, show

__all__ = ["count_setting", "flag_setting", "real_setting", "seed_setting"]


def real_setting(
    value: object,
    name: str,
    where: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the range from ``low`` to ``high`` (ends included unless ``*_open``).

    OperandTypeError when it is not a real number (a bool is not: ``True`` as a setting is a mistake),
    NonFiniteError when it is NaN, infinite or an integer too large for a float, ArgumentError when it
    is out of range. Each message starts with ``where: name`` ("SGD: lr must be ...").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OperandTypeError(
            f"{where}: {name} must be a real number, got {type(value).__name__} {show(value)}"
        )
    try:
        number = float(value)
    except OverflowError:
        raise NonFiniteError(
            f"{where}: {name} must be finite, got {show(value)} (too large for a float)"
        ) from None
    if not math.isfinite(number):
        raise NonFiniteError(f"{where}: {name} must be finite, got {number!r}")
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        raise ArgumentError(
            f"{where}: {name} must be {_range(low, high, low_open, high_open)}, got {show(value)}"
        )
    return number


def _range(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """'>= 0', '> 0', 'in [0, 1)', ... as the messages write a range."""
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def count_setting(
    value: object, name: str, where: str, *, minimum: int = 1, maximum: int | None = None
) -> int:
    """``value`` as an int in [minimum, maximum] (a bool is not a count), else a typed error naming it.

    ``maximum`` is a resource limit: a count of 10**12 samples would exhaust memory, not fail cleanly.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OperandTypeError(
            f"{where}: {name} must be an integer, got {type(value).__name__} {show(value)}"
        )
    count = int(value)
    if count < minimum or (maximum is not None and count > maximum):
        upper = "" if maximum is None else f" and <= {maximum:,}"
        raise ArgumentError(f"{where}: {name} must be an integer >= {minimum}{upper}, got {show(value)}")
    return count


def flag_setting(value: object, name: str, where: str) -> bool:
    """``value`` if it is True or False: a string such as ``"no"`` would otherwise count as True."""
    if not isinstance(value, bool):
        raise OperandTypeError(
            f"{where}: {name} must be True or False, got {type(value).__name__} {show(value)}"
        )
    return value


def seed_setting(value: object, where: str) -> int | None:
    """A seed for ``random.Random``: an int (numpy's too) or None; anything else is a typed error, since
    ``random.Random`` would also take a string or a float and quietly seed from something else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OperandTypeError(
            f"{where}: seed must be an int or None, got {type(value).__name__} {show(value)}"
        )
    return int(value)
