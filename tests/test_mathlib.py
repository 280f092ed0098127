"""Tests of tinygrad_w.mathlib: the float and array primitives agree, and every op's rules run on arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w.batched.arraymath import ArrayMath
from tinygrad_w.core import ops as engine
from tinygrad_w.core.ops import FloatMath

NAMES = ["exp", "log", "log1p", "tanh", "sqrt", "sigmoid", "relu", "step", "sign"]


@pytest.mark.parametrize("name", NAMES)
def test_float_and_array_primitives_agree(name: str) -> None:
    xs = np.array([0.0, 0.3, 1.0, 2.5, 7.0]) if name in {"log", "log1p", "sqrt"} else np.linspace(-6, 6, 25)
    if name == "log":
        xs = xs[1:]
    on_array = getattr(ArrayMath, name)(xs)
    on_floats = [getattr(FloatMath, name)(float(x)) for x in xs]
    np.testing.assert_allclose(on_array, on_floats, rtol=1e-14, atol=1e-300)


def test_sigmoid_is_stable_in_both_tails() -> None:
    assert FloatMath.sigmoid(-800.0) == 0.0 and FloatMath.sigmoid(800.0) == 1.0
    assert FloatMath.sigmoid(-40.0) == pytest.approx(math.exp(-40.0), rel=1e-12)
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(
            ArrayMath.sigmoid(np.array([-800.0, -40.0, 800.0])), [0.0, math.exp(-40), 1.0]
        )


def test_kinks_use_the_documented_subgradients() -> None:
    assert FloatMath.step(0.0) == 0.0 and FloatMath.sign(0.0) == 0.0
    assert ArrayMath.step(np.array([0.0]))[0] == 0.0 and ArrayMath.sign(np.array([0.0]))[0] == 0.0


def test_pow_errors_are_pythons_own() -> None:
    with pytest.raises(ZeroDivisionError):
        FloatMath.pow(0.0, -1.0)
    with pytest.raises(ValueError):
        FloatMath.pow(-8.0, 1 / 3)
    assert FloatMath.pow(-2.0, 3.0) == -8.0


UNARY_OPS = [engine.EXP, engine.TANH, engine.SIGMOID, engine.RELU, engine.ABS, engine.SOFTPLUS, engine.NEG]
BINARY_OPS = [engine.ADD, engine.SUB, engine.MUL, engine.DIV]


@given(st.lists(st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3), min_size=1, max_size=8))
def test_every_rule_gives_the_same_numbers_on_arrays_and_on_floats(xs: list[float]) -> None:
    """One rule serves both paths: evaluated on an array it equals the rule evaluated per float."""
    arr = np.array(xs)
    for op in UNARY_OPS:
        out = op.forward(ArrayMath, arr)
        np.testing.assert_allclose(out, [op.forward(FloatMath, x) for x in xs], rtol=1e-13)
        (d,) = op.derivative(ArrayMath, out, arr)
        expected = [op.derivative(FloatMath, op.forward(FloatMath, x), x)[0] for x in xs]
        np.testing.assert_allclose(np.broadcast_to(d, arr.shape), expected, rtol=1e-12, atol=1e-14)
    for op in BINARY_OPS:
        out = op.forward(ArrayMath, arr, arr[::-1])
        np.testing.assert_allclose(
            out, [op.forward(FloatMath, a, b) for a, b in zip(xs, xs[::-1])], rtol=1e-13
        )
        partials = op.derivative(ArrayMath, out, arr, arr[::-1])
        for k, d in enumerate(partials):
            expected = [
                op.derivative(FloatMath, op.forward(FloatMath, a, b), a, b)[k] for a, b in zip(xs, xs[::-1])
            ]
            np.testing.assert_allclose(np.broadcast_to(d, arr.shape), expected, rtol=1e-12, atol=1e-14)
