"""The hostile suite, part 1: the core's public API (Value, its operators and methods, the ops, grad,
backward) under wrong types, NaN, infinities, huge integers and numpy scalars. Rule: hostile_support."""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import pytest
from hostile_support import FAST, HOSTILE, clean, finite, numbers_of, scalars, values
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import Op, Value, grad
from tinygrad_w.core import ops
from tinygrad_w.errors import show

BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow,
}  # fmt: skip
UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus", "leaky_relu"]
OPS = [ops.ADD, ops.SUB, ops.MUL, ops.DIV, ops.NEG, ops.POW, ops.VPOW, ops.EXP, ops.LOG, ops.SQRT,
       ops.TANH, ops.SIGMOID, ops.RELU, ops.ABS, ops.LEAKY_RELU, ops.SOFTPLUS]  # fmt: skip


@FAST
@given(HOSTILE, st.one_of(st.just(""), st.text(max_size=5), scalars()))
def test_value_takes_a_finite_real_number_and_a_text_label(x: Any, label: Any) -> None:
    def correct(v: Value) -> None:
        assert finite(v.data) and v.data == float(x) and v.label == label and v.grad == 0.0

    clean(lambda: Value(x, label), "Value", correct=correct)


@FAST
@given(st.floats(-3.0, 3.0), HOSTILE, st.sampled_from(sorted(BINARY)), st.booleans())
def test_operators_with_a_hostile_operand(data: float, other: Any, name: str, reflected: bool) -> None:
    v = Value(data, "v")
    apply = BINARY[name]
    call = (lambda: apply(other, v)) if reflected else (lambda: apply(v, other))

    def correct(out: Value) -> None:
        assert isinstance(out, Value) and finite(out.data)
        assert v in out.children  # the node records its inputs
        if name != "pow":  # math.pow and ** differ in their errors, not in values
            plain = float(other.data if isinstance(other, Value) else other)
            assert out.data == (apply(plain, data) if reflected else apply(data, plain))

    clean(call, (name, "vpow"), state=lambda: numbers_of([v]), correct=correct)


@FAST
@given(HOSTILE, st.sampled_from(UNARY))
def test_methods_on_a_value_whose_data_was_set_to_anything(data: Any, name: str) -> None:
    v = Value(1.0)
    v.data = data  # the attribute is public: a learner may write anything into it

    def correct(out: Value) -> None:
        assert isinstance(out, Value) and finite(out.data)

    clean(lambda: getattr(v, name)(), name, correct=correct)


@FAST
@given(values(), HOSTILE)
def test_leaky_relu_slope(v: Value, slope: Any) -> None:
    clean(lambda: v.leaky_relu(slope), "leaky_relu", correct=lambda out: finite(out.data))


@FAST
@given(st.sampled_from(OPS), st.lists(HOSTILE, min_size=0, max_size=3))
def test_calling_an_op_on_anything(op: Op, operands: list[Any]) -> None:
    clean(lambda: op(*operands), op.name, correct=lambda out: isinstance(out, Value) and finite(out.data))


@FAST
@given(HOSTILE, HOSTILE, st.booleans())
def test_grad_of_anything(outputs: Any, inputs: Any, create_graph: bool) -> None:
    leaves = [x for x in (outputs, inputs) if isinstance(x, Value)]

    def correct(result: list[Any]) -> None:
        assert isinstance(result, list)
        for g in result:
            assert finite(g.data if isinstance(g, Value) else g)

    clean(
        lambda: grad(outputs, inputs, create_graph), "grad", state=lambda: numbers_of(leaves), correct=correct
    )


# numpy values and complex numbers in .data: see the xfail below
PLAIN = HOSTILE.filter(lambda x: not isinstance(x, (np.ndarray, np.generic, complex)))


@FAST
@given(st.lists(PLAIN, min_size=1, max_size=3), st.sampled_from(["grad", "backward", "grad2"]))
def test_backward_and_grad_after_the_leaves_were_set_to_anything(data: list[Any], how: str) -> None:
    leaves = [Value(0.5 + i, f"x{i}") for i in range(len(data))]
    out = leaves[0] * 2.0
    for leaf in leaves[1:]:
        out = out + leaf * leaf
    out = out.tanh() / (leaves[0] + 3.0)
    for leaf, value in zip(leaves, data):
        leaf.data = value  # after building: backward reads the inputs again
    every = [leaves[0], *leaves, out]
    calls = {
        "grad": lambda: grad(out, leaves),
        "backward": out.backward,
        "grad2": lambda: [grad(g, leaves) for g in grad(out, leaves, create_graph=True)],
    }
    names = ("backward", "grad", "derivative of", "add", "mul", "div", "tanh")
    clean(calls[how], names, state=lambda: numbers_of(every))


def test_non_finite_gradients_never_pass_silently() -> None:
    x = Value(1e-170, "x")
    y = 1 / x
    for call in (y.backward, lambda: grad(y, [x]), lambda: grad(y, [x], create_graph=True)):
        clean(call, ("backward", "grad", "div"), state=lambda: numbers_of([x, y]))
    assert x.grad == 0.0


def test_grad_of_a_value_with_respect_to_a_value_is_a_typed_error() -> None:
    a = Value(2.0)
    error = clean(lambda: grad(a, a), "grad")
    assert isinstance(error, Exception) and "grad(" in str(error)


@pytest.mark.parametrize(
    "x", [10**5000, 2**2000, "x" * 10_000, list(range(1000))], ids=["1e5000", "2^2000", "text", "list"]
)
def test_echoed_values_are_capped(x: object) -> None:
    assert len(show(x)) <= 80
    error = clean(lambda: Value(x), "Value")
    assert len(str(error)) < 200


def test_show_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    clean(lambda: Value(Broken()), "Value")


@pytest.mark.parametrize(
    "data", [np.array([]), 1j, np.float32(np.inf)], ids=["array", "complex", "float32-inf"]
)
def test_backward_after_a_leaf_was_set_to_a_numpy_value_or_a_complex(data: object) -> None:
    a, b = Value(0.5), Value(1.5)
    out = (a * 2.0 + b * b).tanh() / (a + 3.0)
    b.data = data
    clean(lambda: grad(out, [a, b]), ("grad", "mul", "tanh"), state=lambda: numbers_of([a, b]))


def test_topological_order_of_a_non_value() -> None:
    from tinygrad_w import topological_order

    clean(lambda: topological_order(5), "topological_order")


def test_a_custom_op_with_the_wrong_arity_is_named() -> None:
    wrong = Op("wrong", lambda m, x: 2.0 * x, lambda m, out, x: (2.0, 5.0))
    x = Value(1.0)
    error = clean(lambda: wrong(x).backward(), "wrong", state=lambda: numbers_of([x]))
    assert isinstance(error, Exception)


def test_a_custom_op_returning_nonsense_is_named() -> None:
    broken = Op("broken", lambda m, x: x, lambda m, out, x: None)
    text = Op("text", lambda m, x: "abc", lambda m, out, x: (1.0,))
    x = Value(1.0)
    clean(lambda: broken(x).backward(), "broken", state=lambda: numbers_of([x]))
    clean(lambda: text(x), "text")
    assert math.isfinite(x.grad) and x.grad == 0.0
