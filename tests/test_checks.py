"""Tests of tinygrad_w._checks: what counts as a finite real number, and the typed errors otherwise."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w.errors import NonFiniteError, OperandTypeError
from tinygrad_w.nn.checks import finite_real


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**300), 10**300)))
def test_finite_numbers_come_back_as_the_same_float(x: float) -> None:
    value = finite_real(x, "f: x")
    assert type(value) is float and value == float(x)


def test_other_real_number_types_are_converted() -> None:
    assert finite_real(Fraction(1, 4), "f: x") == 0.25


@pytest.mark.parametrize("bad", [True, "1.0", None, 1j, [1.0]])
def test_non_numbers_and_bools_are_a_type_error_naming_the_argument(bad: object) -> None:
    with pytest.raises(OperandTypeError, match=r"^f: x must be a real number, got \w+ "):
        finite_real(bad, "f: x")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400])
def test_nan_infinities_and_huge_integers_are_non_finite(bad: float) -> None:
    with pytest.raises(NonFiniteError, match=r"^f: x must be finite, got "):
        finite_real(bad, "f: x")
