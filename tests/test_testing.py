"""Tests of tinygrad_w.testing: gradcheck and gradgradcheck pass right derivatives, catch wrong ones
(including a user's custom Op), and explain the failure in a readable table."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import Op, Value
from tinygrad_w.errors import (
    ArgumentError,
    DomainError,
    GradcheckError,
    NonFiniteError,
    OperandTypeError,
    ShapeError,
    TinygradError,
)
from tinygrad_w.testing.gradcheck import (
    GradientRow,
    central_difference,
    gradcheck,
    gradcheck_parameters,
    gradgradcheck,
    is_close,
    near_kinks_or_edges,
    numeric_gradient,
)

# swish(x) = x·σ(x); swish'(x) = σ(x) + x·σ(x)(1 - σ(x)), written with m so it also runs on Values.
SWISH = Op(
    "swish",
    lambda m, x: x * m.sigmoid(x),
    lambda m, out, x: (m.sigmoid(x) * (1.0 + x * (1.0 - m.sigmoid(x))),),
)
# The classic mistake: the product rule forgotten.
WRONG_SWISH = Op("swish", lambda m, x: x * m.sigmoid(x), lambda m, out, x: (m.sigmoid(x),))
# A two-input op: hypot-like norm(a, b) = √(a² + b²), ∂/∂a = a/out, ∂/∂b = b/out.
NORM = Op(
    "norm",
    lambda m, a, b: m.sqrt(a * a + b * b),
    lambda m, out, a, b: (a / out, b / out),
)
# A right first derivative written without m: float(x) turns a Value into a plain number, so under
# create_graph the engine sees a constant and every second derivative comes out 0. gradgradcheck catches it.
FLOAT_ONLY_CUBE = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * float(x) ** 2,))


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def test_central_difference_of_a_polynomial() -> None:
    f = lambda p: p[0] ** 3 + 2 * p[0] * p[1]
    assert central_difference(f, [2.0, 5.0], 0, 1e-6) == pytest.approx(3 * 4 + 10, rel=1e-7)
    assert numeric_gradient(f, [2.0, 5.0]) == pytest.approx([22.0, 4.0], rel=1e-7)


def test_is_close_uses_atol_plus_rtol() -> None:
    assert is_close(1.0005, 1.0)
    assert not is_close(1.01, 1.0)
    assert is_close(5e-6, 0.0)
    assert not is_close(math.nan, 1.0)


def test_gradcheck_passes_builtin_ops() -> None:
    assert gradcheck(lambda x, y: (x * y + y.exp()).tanh() / (1 + x * x), [0.3, -0.4])
    assert gradcheck(lambda a, b: a**b, [1.5, 0.7])
    assert gradcheck(lambda x: x.log() + x.sqrt() + x.softplus() + x.leaky_relu(0.1), [0.8])


@settings(max_examples=30)
@given(finite(-3, 3), finite(-3, 3))
def test_gradcheck_passes_right_custom_ops(x: float, y: float) -> None:
    assert gradcheck(lambda v: SWISH(v), [x])
    assert gradgradcheck(lambda v: SWISH(v), [x])
    if math.hypot(x, y) > 0.1:
        assert gradcheck(lambda a, b: NORM(a, b), [x, y])
        assert gradgradcheck(lambda a, b: NORM(a, b), [x, y])


def test_gradcheck_catches_a_wrong_custom_derivative() -> None:
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: WRONG_SWISH(x) * 2, [1.5])
    message = str(caught.value)
    assert "1 of 1 derivatives disagree" in message
    assert "<-- FAIL" in message
    assert "x = 1.5" in message
    # analytic 2·σ(1.5), numeric 2·swish'(1.5) both appear in the table
    sigma = 1 / (1 + math.exp(-1.5))
    assert f"{2 * sigma:.8g}" in message
    assert f"{2 * (sigma + 1.5 * sigma * (1 - sigma)):.6g}"[:6] in message


def test_gradcheck_error_is_an_assertion_and_a_tinygrad_error() -> None:
    with pytest.raises(AssertionError):
        gradcheck(lambda x: WRONG_SWISH(x), [1.0])
    with pytest.raises(TinygradError):
        gradcheck(lambda x: WRONG_SWISH(x), [1.0])


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    assert gradcheck(lambda x: FLOAT_ONLY_CUBE(x), [1.2])  # the first derivative is right
    with pytest.raises(GradcheckError, match=r"∂²/∂x∂x.*<-- FAIL"):
        gradgradcheck(lambda x: FLOAT_ONLY_CUBE(x), [1.2])
    # gradgradcheck compares second derivatives with differences of the (engine's) first derivatives: a
    # wrong first derivative that is consistently wrong passes it, which is why both checks exist.
    assert gradgradcheck(lambda x: WRONG_SWISH(x), [0.5])


def test_only_failing_rows_are_marked() -> None:
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x, y: WRONG_SWISH(x) + y * y, [1.0, 3.0])
    lines = str(caught.value).splitlines()
    row_x = next(line for line in lines if line.strip().startswith("x "))
    row_y = next(line for line in lines if line.strip().startswith("y "))
    assert row_x.endswith("<-- FAIL")
    assert not row_y.endswith("<-- FAIL")
    assert "input" in lines[2] and "analytic" in lines[2] and "rel err" in lines[2]


def test_labels_come_from_values_then_parameters_then_positions() -> None:
    with pytest.raises(GradcheckError, match=r"\n  weight +"):
        gradcheck(lambda a: WRONG_SWISH(a), [Value(1.0, "weight")])
    with pytest.raises(GradcheckError, match=r"\n  a +"):
        gradcheck(lambda a: WRONG_SWISH(a), [1.0])
    with pytest.raises(GradcheckError, match=r"\n  x0 +"):
        gradcheck(lambda *xs: WRONG_SWISH(xs[0]), [1.0])
    with pytest.raises(GradcheckError, match=r"\n  first +"):
        gradcheck(lambda *xs: WRONG_SWISH(xs[0]), [1.0], labels=["first"])


def test_input_values_are_not_modified() -> None:
    x = Value(0.5, "x")
    assert gradcheck(lambda v: v * v, [x])
    assert (x.data, x.grad) == (0.5, 0.0)


def test_constant_function_and_unused_input() -> None:
    assert gradcheck(lambda x: 3.0, [1.0])
    assert gradcheck(lambda x, y: x * 2, [1.0, 4.0])
    assert gradgradcheck(lambda x, y: x * 2, [1.0, 4.0])


def test_bad_inputs_are_typed_errors() -> None:
    with pytest.raises(OperandTypeError, match="gradcheck"):
        gradcheck(lambda x: x, ["1"])  # type: ignore[list-item]
    with pytest.raises(NonFiniteError, match=r"^gradcheck: input 0: got nan"):
        gradcheck(lambda x: x, [math.nan])
    with pytest.raises(OperandTypeError, match="must return a Value"):
        gradcheck(lambda x: "no", [1.0])  # type: ignore[arg-type,return-value]
    with pytest.raises(ShapeError, match="labels"):
        gradcheck(lambda x: x, [1.0], labels=["a", "b"])
    # a domain error of f itself propagates unchanged
    with pytest.raises(DomainError):
        gradcheck(lambda x: x.log(), [-1.0])


def test_gradient_row_errors() -> None:
    row = GradientRow("x", 1.1, 1.0)
    assert row.abs_error == pytest.approx(0.1)
    assert row.rel_error == pytest.approx(0.1)
    assert GradientRow("x", 0.0, 0.0).rel_error == 0.0
    assert GradientRow("x", 1.0, 0.0).rel_error == math.inf


def test_gradcheck_parameters_restores_data_and_catches_a_wrong_op() -> None:
    w, b = Value(0.4, "w"), Value(-0.2, "b")
    assert gradcheck_parameters(lambda: SWISH(w * 1.5 + b), [w, b])
    assert (w.data, b.data, w.grad) == (0.4, -0.2, 0.0)
    with pytest.raises(GradcheckError, match=r"w .*<-- FAIL"):
        gradcheck_parameters(lambda: WRONG_SWISH(w * 1.5 + b), [w, b])
    assert (w.data, b.data) == (0.4, -0.2)

    def exploding() -> Value:
        if w.data != 0.4:
            raise RuntimeError("boom")
        return w * 2

    with pytest.raises(RuntimeError):
        gradcheck_parameters(exploding, [w])
    assert w.data == 0.4
    with pytest.raises(OperandTypeError):
        gradcheck_parameters(lambda: w, [1.0])  # type: ignore[list-item]


def test_exported_from_the_package() -> None:
    assert tg.testing.gradcheck is gradcheck
    assert tg.gradcheck is gradcheck
    assert tg.GradcheckError is GradcheckError


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: gradcheck(5, [1.0]),
            OperandTypeError,
            "gradcheck: f must be a function of Values, got int 5",
        ),
        (lambda: gradcheck(lambda: Value(1.0), []), ArgumentError, "gradcheck: no inputs"),
        (lambda: gradcheck(lambda x: x, Value(1.0)), OperandTypeError, "gradcheck: inputs must be a list"),
        (
            lambda: gradcheck(lambda x: x * x, [1.0], eps=0),
            ArgumentError,
            "gradcheck: eps must be > 0, got 0",
        ),
        (
            lambda: gradcheck(lambda x: x * x, [1.0], eps=math.nan),
            NonFiniteError,
            "gradcheck: eps must be finite",
        ),
        (
            lambda: gradcheck(lambda x: x * x, [1.0], atol=-1),
            ArgumentError,
            "gradcheck: atol must be >= 0, got -1",
        ),
        (
            lambda: gradcheck(lambda x: x * x, [1.0], rtol=math.inf),
            NonFiniteError,
            "gradcheck: rtol must be finite",
        ),
        (
            lambda: gradgradcheck(lambda x: x * x, [1.0], eps=-1e-6),
            ArgumentError,
            "gradgradcheck: eps must be > 0",
        ),
        (lambda: gradcheck(lambda x: 10**400, [1.0]), NonFiniteError, "gradcheck: the result of f: "),
        (
            lambda: gradcheck_parameters(5, [Value(1.0)]),
            OperandTypeError,
            "gradcheck_parameters: loss must be",
        ),
        (
            lambda: gradcheck_parameters(lambda: Value(1.0), []),
            ArgumentError,
            "gradcheck_parameters: parameters must be",
        ),
        (
            lambda: near_kinks_or_edges(1.0),
            OperandTypeError,
            "near_kinks_or_edges: expected a Value, got float",
        ),
    ],
)
def test_bad_arguments_are_typed_errors_naming_the_function(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{message}"):
        call()


def test_kinks_come_from_the_ops_own_facts() -> None:
    # A custom op declares its kink; the check reads it from the Op, with no table of names.
    step = Op("bump", lambda m, x: m.relu(x - 1.0), lambda m, out, x: (m.step(x - 1.0),), kinks=((0, 1.0),))
    x = Value(1.01, "x")
    assert near_kinks_or_edges(step(x)) == ["bump: input 1.01 is within 0.05 of its kink at 1"]
    assert near_kinks_or_edges(step(Value(2.0))) == []
