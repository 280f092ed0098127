"""Tests of tinygrad_w.checks: what each kind of setting accepts, and the typed error otherwise."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import Value
from tinygrad_w.checks import count_setting, flag_setting, real_setting
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**300), 10**300)))
def test_finite_numbers_come_back_as_the_same_float(x: float) -> None:
    value = real_setting(x, "x", "f")
    assert type(value) is float and value == float(x)


def test_other_real_number_types_are_converted() -> None:
    assert real_setting(Fraction(1, 4), "x", "f") == 0.25
    assert real_setting(np.float32(0.5), "x", "f") == 0.5
    assert real_setting(np.int64(3), "x", "f") == 3.0


@pytest.mark.parametrize("bad", [True, "1.0", None, 1j, [1.0], Value(1.0)])
def test_non_numbers_bools_and_values_are_a_type_error_naming_the_setting(bad: object) -> None:
    with pytest.raises(OperandTypeError, match=r"^f: x must be a real number, got \w+ "):
        real_setting(bad, "x", "f")


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, -math.inf, 10**400, 10**5000], ids=["nan", "inf", "-inf", "1e400", "1e5000"]
)
def test_nan_infinities_and_huge_integers_are_non_finite_with_a_short_message(bad: float) -> None:
    with pytest.raises(NonFiniteError, match=r"^f: x must be finite, got ") as caught:
        real_setting(bad, "x", "f")
    assert len(str(caught.value)) < 150


@pytest.mark.parametrize(
    ("value", "bounds", "shown"),
    [
        (-1.0, {"low": 0.0}, ">= 0"),
        (0.0, {"low": 0.0, "low_open": True}, "> 0"),
        (1.0, {"low": 0.0, "high": 1.0, "high_open": True}, r"in \[0, 1\)"),
        (2.0, {"high": 1.0}, "<= 1"),
    ],
)
def test_a_value_out_of_range_is_an_argument_error_stating_the_range(
    value: float, bounds: dict[str, object], shown: str
) -> None:
    with pytest.raises(ArgumentError, match=rf"^f: x must be {shown}, got "):
        real_setting(value, "x", "f", **bounds)  # type: ignore[arg-type]
    assert real_setting(0.5, "x", "f", **bounds) == 0.5  # type: ignore[arg-type]


def test_counts_are_integers_within_their_limit() -> None:
    assert count_setting(np.int64(3), "n", "f") == 3
    assert type(count_setting(np.int64(3), "n", "f")) is int
    with pytest.raises(OperandTypeError, match=r"^f: n must be an integer, got float 3.0"):
        count_setting(3.0, "n", "f")
    with pytest.raises(OperandTypeError):
        count_setting(True, "n", "f")
    with pytest.raises(ArgumentError, match=r"^f: n must be an integer >= 2, got 1"):
        count_setting(1, "n", "f", minimum=2)
    with pytest.raises(ArgumentError, match=r"^f: n must be an integer >= 1 and <= 1,000, got <an int of"):
        count_setting(10**5000, "n", "f", maximum=1000)


def test_flags_are_true_or_false_only() -> None:
    assert flag_setting(False, "mode", "f") is False
    for bad in ("no", 0, None, np.True_):
        with pytest.raises(OperandTypeError, match=r"^f: mode must be True or False"):
            flag_setting(bad, "mode", "f")
