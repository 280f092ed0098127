"""Tests of tinygrad_w.engine: every derivative against central differences, the graph's bookkeeping,
higher-order gradients, and every bad input."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import Value, grad
from tinygrad_w.core.ops import ADD, MUL, POW
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.testing.gradcheck import numeric_gradient

H = 1e-6  # central-difference step


def close(analytic: float, numeric: float) -> bool:
    """PyTorch gradcheck's tolerance: |a - n| <= atol + rtol |n|."""
    return abs(analytic - numeric) <= 1e-5 + 1e-3 * abs(numeric)


def check_gradients(build: Callable[[Sequence[Value]], Value], xs: Sequence[float]) -> None:
    """backward() of build(Values at xs) agrees with central differences of the same function."""
    leaves = [Value(x) for x in xs]
    build(leaves).backward()
    numeric = numeric_gradient(lambda p: build([Value(v) for v in p]).data, xs, H)
    for leaf, n in zip(leaves, numeric):
        assert close(leaf.grad, n), (xs, leaf.grad, n)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(limit: float, gap: float = 1e-3) -> st.SearchStrategy[float]:
    """Inside [-limit, limit] but not within `gap` of 0 (the kink of relu, abs, leaky_relu)."""
    return finite(gap, limit) | finite(-limit, -gap)


# ----------------------------------------------------------------------------------------------------
# Every op's first derivative, inside its domain and away from kinks

UNARY: dict[str, tuple[Callable[[Value], Value], st.SearchStrategy[float]]] = {
    "neg": (lambda v: -v, finite(-10, 10)),
    "exp": (lambda v: v.exp(), finite(-20, 20)),
    "log": (lambda v: v.log(), finite(0.01, 100)),
    "sqrt": (lambda v: v.sqrt(), finite(0.01, 100)),
    "tanh": (lambda v: v.tanh(), finite(-5, 5)),
    "sigmoid": (lambda v: v.sigmoid(), finite(-15, 15)),
    "relu": (lambda v: v.relu(), away_from_zero(10)),
    "abs": (lambda v: v.abs(), away_from_zero(10)),
    "builtin abs": (lambda v: abs(v), away_from_zero(10)),
    "softplus": (lambda v: v.softplus(), finite(-30, 30)),
    "leaky_relu": (lambda v: v.leaky_relu(0.1), away_from_zero(10)),
    "square": (lambda v: v**2, finite(-10, 10)),
    "cube root of positive": (lambda v: v ** (1 / 3), finite(0.01, 10)),
    "negative integer power": (lambda v: v**-3, away_from_zero(5, 0.2)),
    "number ** x": (lambda v: 2.5**v, finite(-5, 5)),
    "number - x": (lambda v: 3 - v, finite(-10, 10)),
    "number / x": (lambda v: 3 / v, away_from_zero(10, 0.1)),
    "number + x": (lambda v: 3 + v, finite(-10, 10)),
    "number * x": (lambda v: 3 * v, finite(-10, 10)),
}

BINARY: dict[
    str, tuple[Callable[[Value, Value], Value], st.SearchStrategy[float], st.SearchStrategy[float]]
] = {
    "add": (lambda a, b: a + b, finite(-10, 10), finite(-10, 10)),
    "sub": (lambda a, b: a - b, finite(-10, 10), finite(-10, 10)),
    "mul": (lambda a, b: a * b, finite(-10, 10), finite(-10, 10)),
    "div": (lambda a, b: a / b, finite(-10, 10), away_from_zero(10, 0.1)),
    "pow with a Value exponent": (lambda a, b: a**b, finite(0.1, 10), finite(-3, 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_derivative_matches_central_difference(name: str) -> None:
    op, xs = UNARY[name]

    @given(xs)
    def check(x: float) -> None:
        check_gradients(lambda v: op(v[0]), [x])

    check()


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_derivative_matches_central_difference(name: str) -> None:
    op, first, second = BINARY[name]

    @given(first, second)
    def check(a: float, b: float) -> None:
        check_gradients(lambda v: op(v[0], v[1]), [a, b])

    check()


@given(away_from_zero(5, 0.2), st.integers(-4, 4))
def test_negative_base_to_an_integer_power(x: float, k: int) -> None:
    check_gradients(lambda v: v[0] ** k, [-abs(x)])


@given(away_from_zero(10), finite(0, 1))
def test_leaky_relu_any_slope(x: float, slope: float) -> None:
    check_gradients(lambda v: v[0].leaky_relu(slope), [x])


def test_the_subgradients_at_kinks_are_documented_values() -> None:
    for make, expected in [
        (lambda v: v.relu(), 0.0),
        (lambda v: v.abs(), 0.0),
        (lambda v: v.leaky_relu(0.2), 0.2),
    ]:
        x = Value(0.0)
        make(x).backward()
        assert x.grad == expected


def test_derivative_values_at_known_points() -> None:
    x = Value(0.5)
    x.tanh().backward()
    assert x.grad == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-15)
    y = Value(-1.0)
    s = y.sigmoid()
    assert s.data == pytest.approx(0.2689414213699951, rel=1e-15)
    s.backward()
    assert y.grad == pytest.approx(s.data * (1 - s.data), rel=1e-15)


# ----------------------------------------------------------------------------------------------------
# Random composite expressions with shared subexpressions

SMOOTH_UNARY: list[Callable[[Value], Value]] = [
    lambda v: v.tanh(),
    lambda v: v.sigmoid(),
    lambda v: v.softplus(),
    lambda v: (v.tanh() * 2).exp(),
    lambda v: (1 + v * v).log(),
    lambda v: (1 + v * v).sqrt(),
    lambda v: v**2,
    lambda v: -v,
    lambda v: 1.5 ** v.tanh(),
]
SMOOTH_BINARY: list[Callable[[Value, Value], Value]] = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (1 + b * b),
    lambda a, b: (1 + a * a) ** b.tanh(),
    lambda a, b: 2 - a * 0.5 + b,
]


@st.composite
def programs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, int]]]:
    """A straight-line program over n variables: each step applies an op to earlier results, so a result
    can be used many times (shared subexpressions, `a * a`)."""
    n_vars = draw(st.integers(1, 4))
    steps = []
    for k in range(draw(st.integers(1, 12))):
        available = n_vars + k
        if draw(st.booleans()):
            steps.append(
                (0, draw(st.integers(0, len(SMOOTH_UNARY) - 1)), draw(st.integers(0, available - 1)))
            )
        else:
            i, j = draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))
            steps.append((1 + draw(st.integers(0, len(SMOOTH_BINARY) - 1)), i, j))
    return n_vars, steps


def run_program(steps: list[tuple[int, int, int]], leaves: Sequence[Value]) -> Value:
    nodes = list(leaves)
    for kind, a, b in steps:
        if kind == 0:
            nodes.append(SMOOTH_UNARY[a](nodes[b]))
        else:
            nodes.append(SMOOTH_BINARY[kind - 1](nodes[a], nodes[b]))
    # Use every result at least once so every path carries gradient.
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    return total


@given(programs(), st.lists(finite(-2, 2), min_size=4, max_size=4))
def test_random_expressions_match_central_differences(
    program: tuple[int, list[tuple[int, int, int]]], values: list[float]
) -> None:
    n_vars, steps = program
    xs = values[:n_vars]
    try:
        out = run_program(steps, [Value(x) for x in xs])
    except tg.OperationError:
        assume(False)
    assume(abs(out.data) < 1e6)  # keep finite-difference round-off small
    check_gradients(lambda v: run_program(steps, v), xs)


@given(programs(), st.lists(finite(-2, 2), min_size=4, max_size=4))
def test_grad_function_agrees_with_backward(
    program: tuple[int, list[tuple[int, int, int]]], values: list[float]
) -> None:
    n_vars, steps = program
    leaves = [Value(x) for x in values[:n_vars]]
    try:
        out = run_program(steps, leaves)
    except tg.OperationError:
        assume(False)
    from_grad = grad(out, leaves)
    out.backward()
    assert from_grad == [leaf.grad for leaf in leaves]


# ----------------------------------------------------------------------------------------------------
# Higher order


def second_derivative_check(f: Callable[[Value], Value], x: float) -> None:
    """grad(grad(f)) agrees with a central difference of the first derivative."""
    v = Value(x)
    (first,) = grad(f(v), [v], create_graph=True)
    (second,) = grad(first, [v])

    def first_derivative(p: float) -> float:
        w = Value(p)
        return grad(f(w), [w])[0]

    h = 1e-5
    numeric = (first_derivative(x + h) - first_derivative(x - h)) / (2 * h)
    assert abs(second - numeric) <= 1e-4 + 1e-3 * abs(numeric), (x, second, numeric)


@pytest.mark.parametrize(
    "name", ["exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "square", "cube root of positive",
             "negative integer power", "number ** x", "number / x", "relu", "abs", "leaky_relu"],
)  # fmt: skip
def test_second_derivative_of_each_op(name: str) -> None:
    op, xs = UNARY[name]

    @given(xs.filter(lambda x: abs(x) < 8))
    def check(x: float) -> None:
        second_derivative_check(op, x)

    check()


@given(finite(0.2, 3), finite(-2, 2))
def test_mixed_second_partials_of_a_power(a: float, b: float) -> None:
    """∂²(a^b)/∂a∂b = a^(b-1) (1 + b ln a), reached through the exponent's derivative rule."""
    va, vb = Value(a), Value(b)
    (da,) = grad(va**vb, [va], create_graph=True)
    (dadb,) = grad(da, [vb])
    assert dadb == pytest.approx(a ** (b - 1) * (1 + b * math.log(a)), rel=1e-9, abs=1e-12)


def test_third_derivative_of_tanh() -> None:
    x = Value(0.3)
    (d1,) = grad(x.tanh(), [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    t = math.tanh(0.3)
    assert d3 == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-12)


def test_create_graph_returns_values_and_unused_inputs_get_zero() -> None:
    x, y, unused = Value(2.0), Value(3.0), Value(1.0)
    gx, gy, gu = grad(x * y, [x, y, unused], create_graph=True)
    assert all(isinstance(g, Value) for g in (gx, gy, gu))
    assert (gx.data, gy.data, gu.data) == (3.0, 2.0, 0.0)
    assert grad(x * y, [unused]) == [0.0]


def test_grad_of_several_outputs_is_grad_of_their_sum() -> None:
    x = Value(0.7)
    a, b = x.tanh(), x * x
    assert grad([a, b], [x]) == pytest.approx(grad(a + b, [x]))


def test_grad_does_not_touch_dot_grad() -> None:
    x = Value(2.0)
    y = x * x
    grad(y, [x])
    assert x.grad == 0.0 and y.grad == 0.0


# ----------------------------------------------------------------------------------------------------
# The graph and its bookkeeping


def test_value_accepts_ints_floats_and_numpy_reals() -> None:
    for raw in [3, 3.0, np.float64(3), np.float32(3), np.int64(3), np.int8(3)]:
        v = Value(raw)  # type: ignore[arg-type]
        assert v.data == 3.0 and type(v.data) is float
    assert Value(2.0, "w").label == "w"
    assert repr(Value(2.0, "w")) == "Value(label='w', data=2.0, grad=0.0)"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)"


def test_numpy_scalars_on_the_left_give_values() -> None:
    v = Value(3.0)
    for result in [np.float64(2) * v, np.float64(2) + v, np.float64(2) - v, np.float64(6) / v]:
        assert isinstance(result, Value)


def test_children_are_in_call_order_and_a_reused_node_appears_twice() -> None:
    a, b = Value(2.0, "a"), Value(3.0, "b")
    assert (a * a).children == (a, a)
    assert (b - a).children == (b, a)
    c = 2 - a
    assert c.children == (2.0, a) and c.op is tg.core.ops.SUB
    assert (a**3).op is POW and (a**3).children == (a, 3.0)


def test_a_node_used_twice_gets_both_contributions() -> None:
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_backward_twice_doubles_leaf_gradients_and_refreshes_intermediates() -> None:
    x, y = Value(1.5), Value(-0.5)
    hidden = (x * y).tanh()
    out = hidden * x + y
    out.backward()
    first = (x.grad, y.grad, hidden.grad, out.grad)
    out.backward()
    assert (x.grad, y.grad) == (2 * first[0], 2 * first[1])
    assert (hidden.grad, out.grad) == (first[2], first[3])  # this call's gradient, not a sum


def test_backward_of_a_leaf() -> None:
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0


def test_a_chain_of_a_million_operations_backpropagates() -> None:
    x = Value(1.0)
    v = x
    for _ in range(1_000_000):
        v = v * 1.0000001
    v.backward()
    assert x.grad == pytest.approx(1.0000001**1_000_000, rel=1e-9)


def test_topological_order_is_deterministic_and_inputs_come_first() -> None:
    def build() -> Value:
        xs = [Value(float(i), f"x{i}") for i in range(5)]
        acc = xs[0]
        for x in xs[1:]:
            acc = (acc * x + x).tanh()
        return acc

    first = [(n.label, n.op.name if n.op else None) for n in topological_order(build())]
    second = [(n.label, n.op.name if n.op else None) for n in topological_order(build())]
    assert first == second
    order = topological_order(build())
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for child in node.children:
            if isinstance(child, Value):
                assert position[child] < position[node]


def test_graphs_hold_no_reference_cycles() -> None:
    """Dropping a graph frees it by reference counting alone: the cycle collector finds nothing."""
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        out = x
        for _ in range(200):
            out = (out * x + 1.0).tanh()
        out.backward()
        del out, x
        assert gc.collect() == 0
    finally:
        gc.enable()


# ----------------------------------------------------------------------------------------------------
# Bad input: typed errors that name the op and the value, and nothing changes


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: Value("abc"), tg.OperandTypeError, ["Value", "'abc'"]),
        (lambda: Value(2) + "x", tg.OperandTypeError, ["add", "'x'"]),
        (lambda: "x" * Value(2), tg.OperandTypeError, ["mul", "'x'"]),
        (lambda: Value(2) ** "x", tg.OperandTypeError, ["pow", "'x'"]),
        (lambda: Value(None), tg.OperandTypeError, ["Value", "None"]),  # type: ignore[arg-type]
        (lambda: Value(True), tg.OperandTypeError, ["Value", "True"]),
        (lambda: Value(1 + 2j), tg.OperandTypeError, ["Value", "complex"]),  # type: ignore[arg-type]
        (lambda: Value(2.0, label=3), tg.OperandTypeError, ["label"]),  # type: ignore[arg-type]
        (lambda: Value(float("nan")), tg.NonFiniteError, ["Value", "nan"]),
        (lambda: Value(float("inf")), tg.NonFiniteError, ["Value", "inf"]),
        (lambda: Value(10**400), tg.NonFiniteError, ["Value", "too large"]),
        (lambda: Value(1) * float("nan"), tg.NonFiniteError, ["mul", "nan"]),
        (lambda: Value(0).log(), tg.DomainError, ["log", "0.0", "x > 0"]),
        (lambda: Value(-2).log(), tg.DomainError, ["log", "-2.0"]),
        (lambda: Value(-1).sqrt(), tg.DomainError, ["sqrt", "-1.0"]),
        (lambda: Value(-8) ** (1 / 3), tg.DomainError, ["pow", "-8.0"]),
        (lambda: Value(1) / 0, tg.OperationZeroDivisionError, ["div", "0.0"]),
        (lambda: 1 / Value(0), tg.OperationZeroDivisionError, ["div", "0.0"]),
        (lambda: Value(0) ** -1, tg.OperationZeroDivisionError, ["pow", "0.0"]),
        (lambda: Value(1000).exp(), tg.OperationOverflowError, ["exp", "1000.0"]),
        (lambda: Value(1e308) * 10, tg.OperationOverflowError, ["mul", "1e+308"]),
        (lambda: Value(10.0) ** 400, tg.OperationOverflowError, ["pow", "10.0"]),
        (lambda: Value(1).leaky_relu("a"), tg.OperandTypeError, ["leaky_relu"]),  # type: ignore[arg-type]
    ],
)
def test_bad_input_raises_a_typed_error_naming_op_and_value(
    make: Callable[[], object], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_typed_errors_are_also_the_builtin_exceptions() -> None:
    assert issubclass(tg.DomainError, ValueError)
    assert issubclass(tg.NonFiniteError, ValueError)
    assert issubclass(tg.OperandTypeError, TypeError)
    assert issubclass(tg.OperationZeroDivisionError, ZeroDivisionError)
    assert issubclass(tg.OperationOverflowError, OverflowError)


def test_a_failed_operation_changes_nothing() -> None:
    x = Value(-1.0)
    y = x * 3
    y.backward()
    before = [(n.data, n.grad, n.children) for n in (x, y)]
    with pytest.raises(tg.DomainError):
        y.log()
    assert [(n.data, n.grad, n.children) for n in (x, y)] == before


def test_a_failed_backward_restores_every_gradient() -> None:
    x = Value(0.0)
    w = Value(2.0)
    w.grad = 5.0
    root = x.sqrt() * w
    with pytest.raises(tg.OperationZeroDivisionError, match="derivative of sqrt"):
        root.backward()
    assert (x.grad, w.grad, root.grad) == (0.0, 5.0, 0.0)


def test_grad_rejects_non_values() -> None:
    with pytest.raises(tg.OperandTypeError):
        grad(Value(1.0), [1.0])  # type: ignore[list-item]


# ----------------------------------------------------------------------------------------------------
# Custom ops go through the same mechanism


def test_a_custom_op_is_differentiated_like_a_builtin_one() -> None:
    cube = tg.Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3 * x * x,))
    x = Value(1.5)
    y = cube(x)
    y.backward()
    assert (y.data, x.grad) == (3.375, 6.75)
    (d1,) = grad(cube(x), [x], create_graph=True)
    assert grad(d1, [x]) == [9.0]  # 6x, evaluated with Values


def test_calling_an_op_checks_its_operands() -> None:
    with pytest.raises(tg.OperandTypeError, match="mul"):
        MUL(Value(1.0), "2")  # type: ignore[arg-type]
    assert ADD(1, 2).data == 3.0


# ----------------------------------------------------------------------------------------------------
# The fused neuron node


@given(st.lists(st.tuples(finite(-3, 3), finite(-3, 3)), min_size=1, max_size=6), finite(-3, 3))
def test_linear_matches_the_chain_it_replaces(pairs: list[tuple[float, float]], b: float) -> None:
    ws, xs = [Value(w) for w, _ in pairs], [Value(x) for _, x in pairs]
    bias = Value(b)
    fused = tg.linear(ws, xs, bias)
    fused.backward()
    fused_grads = [v.grad for v in (*ws, *xs, bias)]
    for v in (*ws, *xs, bias):
        v.grad = 0.0
    chain = sum((w * x for w, x in zip(ws, xs)), bias)
    assert isinstance(chain, Value)
    chain.backward()
    assert fused.data == pytest.approx(chain.data, rel=1e-12, abs=1e-12)
    assert fused_grads == [v.grad for v in (*ws, *xs, bias)]
    check_gradients(lambda v: tg.linear(v[: len(pairs)], v[len(pairs) : -1], v[-1]), [*ws_data(pairs), b])


def ws_data(pairs: list[tuple[float, float]]) -> list[float]:
    return [w for w, _ in pairs] + [x for _, x in pairs]


def test_linear_rejects_mismatched_sizes() -> None:
    with pytest.raises(tg.ShapeError, match="2 weights but 1 inputs"):
        tg.linear([Value(1.0), Value(2.0)], [1.0], 0.0)
