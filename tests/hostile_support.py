"""What the hostile suite throws, and the one rule it checks.

The rule: a public function given bad input either raises a typed error from our hierarchy
(``TinygradError``) whose first line is short and names the function, or returns a correct result; in
both cases nothing it should not touch has changed (parameters, gradients, optimizer state, files).
Anything else (a raw ``TypeError``, a silent infinity, a changed weight) fails the test.

``HOSTILE`` draws wrong types, NaN, ±inf, huge integers, numpy scalars and arrays, empty and nested
sequences, Values, callables and plain objects. Set ``HOSTILE_COUNT=path`` to have every checked call
counted in that file (one line per call), which is how the report counts the cases the suite tries.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tinygrad_w import Value
from tinygrad_w.errors import TinygradError

MESSAGE_LIMIT = 400  # characters in an error's first line

# Each test gets a small budget: the whole suite stays well under a minute on a shared machine.
# HOSTILE_EXAMPLES=2000 multiplies it for a deep run by hand.
_SCALE = int(os.environ.get("HOSTILE_EXAMPLES", "60"))
FAST = settings(max_examples=_SCALE, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=max(1, _SCALE // 3), deadline=None, suppress_health_check=list(HealthCheck))

HUGE_INTS = [10**400, -(10**400), 10**5000, 2**2000, 2**63, -(2**63) - 1]
NUMPY = [
    np.float32(1.5), np.float64(np.nan), np.float32(np.inf), np.float64(-np.inf), np.float16(65504),
    np.int64(3), np.int64(-(2**63)), np.int8(-1), np.uint64(2**64 - 1), np.bool_(True),
    np.array(2.0), np.array([1.0, 2.0]), np.array([]), np.array([[1.0], [2.0]]),
]  # fmt: skip
ODDITIES = [
    None, Ellipsis, NotImplemented, object(), print, type, int, Decimal("1.5"), Decimal("NaN"),
    Decimal("1e999"), Fraction(1, 3), 1j, complex(math.nan, 0), b"1.0", bytearray(b"x"), "1.0", "", "nan",
    "\0", "x" * 200, {}, {"a": 1}, set(), frozenset({1.0}), range(3), (), [],
]  # fmt: skip


def values() -> st.SearchStrategy[Value]:
    return st.floats(-3.0, 3.0).map(Value)


def scalars() -> st.SearchStrategy[Any]:
    """One hostile thing that is not a container of hostile things."""
    return st.one_of(
        st.floats(),  # NaN, ±inf, subnormals, ±1.8e308
        st.integers(-5, 5),
        st.sampled_from(HUGE_INTS),
        st.booleans(),
        st.sampled_from(NUMPY),
        st.sampled_from(ODDITIES),
        values(),
        st.text(max_size=3),
    )


def sequences(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists, tuples and numpy arrays of ``elements``, empty ones included."""
    return st.one_of(
        st.lists(elements, max_size=4),
        st.lists(elements, max_size=3).map(tuple),
        st.lists(st.floats(allow_nan=True), max_size=3).map(np.array),
    )


HOSTILE: st.SearchStrategy[Any] = st.one_of(scalars(), sequences(scalars()), sequences(sequences(scalars())))


def count_case() -> None:
    target = os.environ.get("HOSTILE_COUNT")
    if target:
        with open(target, "a", encoding="utf-8") as file:
            file.write("1\n")


def clean(
    call: Callable[[], Any],
    names: str | tuple[str, ...],
    state: Callable[[], object] = lambda: None,
    correct: Callable[[Any], object] | None = None,
) -> Any:
    """Run ``call`` under the rule (see the module docstring); returns the result or the typed error.

    ``names``: the function's name (or names, for a function reached through another); ``state``: a
    snapshot of what must not change on an error; ``correct(result)`` asserts a success is right.
    """
    count_case()
    before = state()
    try:
        result = call()
    except TinygradError as error:
        first = str(error).splitlines()[0] if str(error) else ""
        wanted = (names,) if isinstance(names, str) else names
        assert any(name in first for name in wanted), (
            f"{type(error).__name__} does not name {wanted}: {first!r}"
        )
        assert len(first) <= MESSAGE_LIMIT, f"message of {len(first)} characters: {first[:200]!r}..."
        assert state() == before, f"state changed although {type(error).__name__} was raised: {first!r}"
        return error
    if correct is not None:
        verdict = correct(result)
        assert verdict is None or verdict, f"wrong result {result!r}"
    return result


def numbers_of(params: list[Value]) -> list[tuple[str, str]]:
    """Parameters' data and gradients as text: NaN compares equal to NaN, and nothing is converted."""
    return [(_exact(p.data), _exact(p.grad)) for p in params]


def _exact(x: object) -> object:
    """An equality-comparable record of x: an int as itself (repr refuses 5,000 digits), else its repr
    (so NaN equals NaN), with the type."""
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_exact(item) for item in x))
    try:
        return (type(x).__name__, repr(x))
    except ValueError:  # a container with a huge int inside
        return (type(x).__name__, id(x))


def files_in(folder: Path) -> list[tuple[str, object]]:
    """What a folder holds: names, kinds, link targets and contents (for 'no file changed')."""
    listing: list[tuple[str, object]] = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            listing.append((path.name, ("link", os.readlink(path))))
        elif path.is_file():
            listing.append((path.name, path.read_bytes()))
        else:
            listing.append((path.name, path.stat().st_mode))
    return listing


def finite(x: object) -> bool:
    return isinstance(x, float) and math.isfinite(x)
