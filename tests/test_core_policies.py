"""The core's promises beyond the derivatives themselves: non-finite gradients are refused with a typed
error and no .grad changes; a user's op that breaks its contract is named; anomaly mode catches a graph
changed after it was built; micrograd's graph attributes; messages stay short."""

from __future__ import annotations

import math

import pytest

from tinygrad_w import Op, Value, grad
from tinygrad_w.core.anomaly import detect_anomaly
from tinygrad_w.errors import (
    GraphChangedError,
    NonFiniteError,
    OperationError,
    OperationOverflowError,
    TinygradError,
)


def snapshot(*values: Value) -> list[float]:
    return [v.grad for v in values]


@pytest.mark.parametrize(
    ("build", "op_name"),
    [
        (lambda x: 1 / x, "div"),
        (lambda x: x.log(), "log"),
        (lambda x: x**1023.0, "pow"),
    ],
)
def test_a_non_finite_gradient_is_refused_and_no_grad_changes(build, op_name) -> None:  # type: ignore[no-untyped-def]
    x = Value(1e-170 if op_name == "div" else 5e-324 if op_name == "log" else 2.0, "x")
    x.grad = 0.25
    y = build(x)
    with pytest.raises(OperationOverflowError, match=op_name) as info:
        y.backward()
    assert "x" in str(info.value) and len(str(info.value)) < 300
    assert x.grad == 0.25 and y.grad == 0.0
    with pytest.raises(OperationOverflowError, match=op_name):
        grad(y, [x])


def test_a_custom_op_whose_derivative_is_nan_is_named() -> None:
    bad = Op("bad", lambda m, x: 2.0 * x, lambda m, out, x: (math.nan,))
    x = Value(1.0)
    y = bad(x) * 3.0
    with pytest.raises(OperationOverflowError, match="bad"):
        y.backward()
    assert x.grad == 0.0


@pytest.mark.parametrize(
    "derivative",
    [lambda m, out, x: None, lambda m, out, x: ("a",), lambda m, out, x: (1.0, 2.0), lambda m, out, x: ()],
)
def test_a_custom_op_breaking_its_contract_gets_a_typed_error_naming_it(derivative) -> None:  # type: ignore[no-untyped-def]
    broken = Op("broken", lambda m, x: x * 1.0, derivative)
    x = Value(3.0)
    x.grad = 1.5
    y = broken(x)
    with pytest.raises(OperationError, match="broken"):
        y.backward()
    assert x.grad == 1.5


def test_a_custom_op_returning_a_string_is_named() -> None:
    stringy = Op("stringy", lambda m, x: "abc", lambda m, out, x: (1.0,))
    with pytest.raises(OperationError, match="stringy"):
        stringy(Value(1.0))


def test_huge_numbers_in_messages_are_capped() -> None:
    for bad in (10**5000, 2**2000):
        with pytest.raises(NonFiniteError) as info:
            Value(bad)
        assert len(str(info.value)) < 200
        with pytest.raises(NonFiniteError) as info:
            Value(2.0) + bad
        assert len(str(info.value)) < 200


def test_bool_follows_the_number() -> None:
    assert not Value(0.0) and Value(-2.0) and bool(Value(1e-300))


def test_anomaly_mode_names_the_node_whose_input_changed() -> None:
    a = Value(2.0, "a")
    y = a * a
    a.data = 10.0
    with detect_anomaly(), pytest.raises(GraphChangedError, match=r"mul\(10\.0, 10\.0\)"):
        y.backward()
    assert a.grad == 0.0
    with detect_anomaly(), pytest.raises(GraphChangedError):
        grad(y, [a])
    y.backward()  # outside the block nothing is checked: the documented rule is the user's to keep
    assert a.grad == 20.0


def test_anomaly_mode_passes_an_untouched_graph_and_leaves_no_check_behind() -> None:
    a = Value(0.5)
    y = (a * a).tanh() + a.exp()
    with detect_anomaly():
        y.backward()
    expected = a.grad
    a.grad = 0.0
    y.backward()
    assert a.grad == expected
    from tinygrad_w.core.value import backward_checks

    assert backward_checks == []


def test_micrograd_graph_attributes() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b + 1.0
    assert c._op == "+" and a._op == ""
    assert {v.data for v in c._prev} == {-6.0, 1.0}  # the constant is a leaf Value, as in micrograd
    assert all(isinstance(v, Value) for v in c._prev) and (a * b)._prev == {a, b}
    with pytest.raises(AttributeError):
        c._prev = set()  # type: ignore[misc]


def test_every_core_error_is_a_tinygrad_error() -> None:
    assert issubclass(GraphChangedError, TinygradError) and issubclass(GraphChangedError, RuntimeError)
