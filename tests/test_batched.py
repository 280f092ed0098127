"""The batched path gives the same loss and gradients as the plain scalar graph, and fails the same way."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import (
    DomainError,
    NonFiniteError,
    Op,
    OperandTypeError,
    OperationError,
    OperationZeroDivisionError,
    ShapeError,
    Value,
    batched,
    nn,
    topological_order,
)
from tinygrad_w.core.ops import MUL

# A user's own op: x³, with its derivative written once; it must work in the replay with no extra code.
CUBE = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * x * x,))

SampleLoss = Callable[[list[Value], Value], Value]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def scalar_reference(
    sample_loss: SampleLoss,
    params: list[Value],
    X: np.ndarray,
    y: np.ndarray,
    penalty: Callable[[], Value | float] | None,
    reduction: str,
) -> tuple[float, list[float]]:
    """The loss as one ordinary scalar graph over the whole batch, and its parameter gradients."""
    for p in params:
        p.grad = 0.0
    terms = [sample_loss([Value(float(v)) for v in row], Value(float(t))) for row, t in zip(X, y)]
    total: Any = sum(terms[1:], terms[0])
    if reduction == "mean":
        total = total * (1.0 / len(terms))
    if penalty is not None:
        total = total + penalty()
    grads: list[float] = []
    if isinstance(total, Value):
        total.backward()
        grads = [p.grad for p in params]
        loss = total.data
    for p in params:
        p.grad = 0.0
    return loss, grads


def batched_result(
    sample_loss: SampleLoss, params: list[Value], X: np.ndarray, y: np.ndarray, penalty: Any, reduction: str
) -> tuple[float, list[float]]:
    replay = batched.compile(sample_loss, params, X[0], y[0], penalty=penalty, reduction=reduction)
    loss = replay.step(X, y)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss, grads


LOSSES: dict[str, Callable[[Any], SampleLoss]] = {
    # micrograd's hinge on a ±1 label
    "hinge": lambda model: lambda x, t: (1.0 - t * model(x)).relu(),
    "squared": lambda model: lambda x, t: (model(x) - t) ** 2,
    # a custom op, a division by a Value, exp/log/abs/neg and constants on both sides of - and /
    "mixed": lambda model: (
        lambda x, t: (
            CUBE(model(x) - 0.5 * t) / (2.0 + abs(t))
            - (-model(x)).exp() / 4.0
            + (1.0 + (model(x) * t).sigmoid()).log()
        )
    ),
}


@settings(max_examples=100)
@given(
    nin=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=2),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "softplus"]),
    fused=st.booleans(),
    samples=st.integers(1, 7),
    loss_name=st.sampled_from(sorted(LOSSES)),
    with_penalty=st.booleans(),
    reduction=st.sampled_from(["mean", "sum"]),
    seed=st.integers(0, 2**16),
)
def test_batched_matches_scalar_graph(
    nin: int,
    hidden: list[int],
    activation: str,
    fused: bool,
    samples: int,
    loss_name: str,
    with_penalty: bool,
    reduction: str,
    seed: int,
) -> None:
    model = nn.MLP(nin, [*hidden, 1], activation, seed=seed, fused=fused)
    params = model.parameters()
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(samples, nin))
    y = np.where(rng.uniform(size=samples) < 0.5, -1.0, 1.0)
    sample_loss = LOSSES[loss_name](model)
    penalty = (lambda: 1e-2 * sum((p * p for p in params), Value(0.0))) if with_penalty else None
    expected_loss, expected_grads = scalar_reference(sample_loss, params, X, y, penalty, reduction)
    loss, grads = batched_result(sample_loss, params, X, y, penalty, reduction)
    assert close(loss, expected_loss), (loss, expected_loss)
    assert len(grads) == len(expected_grads)
    for g, e in zip(grads, expected_grads):
        assert close(g, e), (g, e)


def test_traced_graph_has_one_node_per_weight_operation() -> None:
    model = nn.MLP(2, [4, 1], seed=0)
    replay = batched.compile(lambda x, t: (1.0 - t * model(x)).relu(), model.parameters(), [0.5, -0.5], 1.0)
    nodes = topological_order(replay.graph)
    products = [n for n in nodes if n.op is MUL and any(c in model.weights() for c in n.children)]
    assert len(products) == len(model.weights())  # one * node per weight: the graph people draw
    assert [x.label for x in replay.inputs] == ["x0", "x1"] and replay.target.label == "y"
    assert replay.steps < len(nodes)  # and the replay needs far fewer steps than there are nodes


def test_traced_graph_draws_like_any_value_graph() -> None:
    from tinygrad_w import viz

    model = nn.MLP(2, [3, 1], seed=0)
    replay = batched.compile(lambda x, t: (1.0 - t * model(x)).relu(), model.parameters(), [0.5, -0.5], 1.0)
    source = viz.draw_graph(replay.graph, collapse="none").source  # DOT text; no `dot` program needed
    assert all(w.label in source for w in model.weights())


def test_gradients_accumulate_and_parameter_updates_are_read_each_call() -> None:
    w = Value(2.0, "w")
    replay = batched.compile(lambda x, t: (w * x[0] - t) ** 2, [w], [1.0], 0.0)
    X, y = np.array([[1.0], [3.0]]), np.array([1.0, 2.0])
    loss = replay.step(X, y)
    assert loss == pytest.approx(((2 - 1) ** 2 + (6 - 2) ** 2) / 2)
    first = w.grad
    replay.step(X, y)
    assert w.grad == pytest.approx(2 * first)  # like backward: leaves accumulate
    w.data = 0.0
    assert replay.loss(X, y) == pytest.approx((1 + 4) / 2)  # new parameter values are used


def test_loss_that_does_not_depend_on_the_sample() -> None:
    w = Value(3.0)
    for reduction, factor in (("mean", 1.0), ("sum", 4.0)):
        w.grad = 0.0
        replay = batched.compile(lambda x, t: w * w, [w], [0.0], 0.0, reduction=reduction)
        assert replay.step(np.zeros((4, 1)), np.zeros(4)) == pytest.approx(9.0 * factor)
        assert w.grad == pytest.approx(6.0 * factor)


def test_unused_parameter_and_constant_leaf() -> None:
    w, unused = Value(1.5), Value(7.0)
    unused.grad = 0.25
    offset = Value(0.5)  # a leaf that is not a parameter: a constant, read at every call
    replay = batched.compile(lambda x, t: w * x[0] + offset, [w, unused, w], [1.0], 0.0)
    assert replay.step(np.array([[2.0]]), np.array([0.0])) == pytest.approx(3.5)
    assert w.grad == pytest.approx(2.0) and unused.grad == 0.25
    offset.data = 1.0
    assert replay.loss(np.array([[2.0]]), np.array([0.0])) == pytest.approx(4.0)


def test_domain_error_names_the_op_and_the_sample_and_changes_nothing() -> None:
    w = Value(1.0)
    w.grad = 0.5
    replay = batched.compile(lambda x, t: (w * x[0]).log(), [w], [1.0], 0.0)
    with pytest.raises(DomainError, match=r"sample 2: log\(-1\.0\)"):
        replay.step(np.array([[1.0], [2.0], [-1.0]]), np.zeros(3))
    assert w.grad == 0.5
    with pytest.raises(OperationError, match="log"):
        replay.loss(np.array([[0.0]]), np.zeros(1))


def test_overflow_and_derivative_errors() -> None:
    w = Value(1.0)
    replay = batched.compile(lambda x, t: (w * x[0]).exp(), [w], [1.0], 0.0)
    with pytest.raises(OverflowError, match="exp"):
        replay.step(np.array([[1.0], [1000.0]]), np.zeros(2))
    sqrt = batched.compile(lambda x, t: (w * x[0]).sqrt(), [w], [1.0], 0.0)
    assert sqrt.loss(np.array([[0.0]]), np.zeros(1)) == 0.0  # the forward is fine at 0 ...
    with pytest.raises(OperationZeroDivisionError, match=r"sample 0: derivative of sqrt"):
        sqrt.step(np.array([[0.0]]), np.zeros(1))  # ... its derivative 1/(2√x) is not
    assert w.grad == 0.0


def test_bad_batches_and_bad_arguments() -> None:
    w = Value(1.0)
    replay = batched.compile(lambda x, t: w * x[0] * x[1] - t, [w], [1.0, 2.0], 0.0)
    with pytest.raises(ShapeError):
        replay.step(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ShapeError):
        replay.step(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ShapeError):
        replay.step(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(NonFiniteError):
        replay.step(np.array([[1.0, math.nan]]), np.zeros(1))
    with pytest.raises(ValueError, match="reduction"):
        batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, reduction="max")
    with pytest.raises(OperandTypeError):
        batched.compile(lambda x, t: w * x[0], [1.0], [1.0], 0.0)  # type: ignore[list-item]
    with pytest.raises(OperandTypeError):
        batched.compile(lambda x, t: 1.0, [w], [1.0], 0.0)  # type: ignore[arg-type,return-value]
    sample: list[Value] = []
    with pytest.raises(ShapeError, match="penalty"):
        batched.compile(
            lambda x, t: sample.append(x[0]) or w * x[0], [w], [1.0], 0.0, penalty=lambda: sample[0] * w
        )


def test_hostile_batches_raise_typed_errors_naming_batched_and_change_nothing() -> None:
    w, b = Value(0.5, "w"), Value(-0.25, "b")
    replay = batched.compile(lambda x, t: (w * x[0] + b * x[1] - t) ** 2, [w, b], [1.0, 2.0], 0.0)
    replay.step([[1.0, 2.0]], [0.5])
    before = [(p.data, p.grad) for p in (w, b)]
    kept = replay.last_outputs.copy()
    cases: list[tuple[Any, Any, type[Exception], str]] = [
        ([["a", "b"]], ["c"], OperandTypeError, "X must hold real numbers, got str 'a'"),
        ([[1.0, 2.0]], ["c"], OperandTypeError, "y must hold real numbers, got str 'c'"),
        ([[True, False]], [1.0], OperandTypeError, "X must hold real numbers, got bool True"),
        (
            np.array([[True, False]]),
            [1.0],
            OperandTypeError,
            "X must hold real numbers, got an array of bool",
        ),
        ([[1.0, 2.0]], [np.bool_(True)], OperandTypeError, "y must hold real numbers, got bool"),
        (
            np.array([[1.0, "a"]], dtype=object),
            [1.0],
            OperandTypeError,
            "X must hold real numbers, got str 'a'",
        ),
        (
            np.array([["1.0", "2.0"]]),
            [1.0],
            OperandTypeError,
            "X must hold real numbers, got an array of <U3",
        ),
        ([[1.0, 10**400]], [1.0], NonFiniteError, "X holds a number too large for a float"),
        ([[1.0, 2.0]], [-(10**400)], NonFiniteError, "y holds a number too large for a float"),
        ([[1.0, math.nan]], [1.0], NonFiniteError, "X contains NaN or infinity"),
        ([[1.0, 2.0]], [math.inf], NonFiniteError, "y contains NaN or infinity"),
        ([[1.0, 2.0], [1.0]], [1.0, 2.0], ShapeError, "X must be a rectangular array"),
        ([], [], ShapeError, r"X must have shape \(samples, 2\) with samples > 0, got \(0,\)"),
        (
            np.zeros((0, 2)),
            np.zeros(0),
            ShapeError,
            r"X must have shape \(samples, 2\) with samples > 0, got \(0, 2\)",
        ),
        ([[1.0, 2.0]], [1.0, 2.0], ShapeError, r"y must have shape \(1,\) to match X, got \(2,\)"),
        (5.0, 1.0, ShapeError, r"X must have shape"),
        (None, [1.0], OperandTypeError, "X must hold real numbers, got NoneType None"),
        ([[1j, 2.0]], [1.0], OperandTypeError, "X must hold real numbers, got complex"),
    ]
    for X, y, error, message in cases:
        for call, name in ((replay.step, "batched.step"), (replay.loss, "batched.loss")):
            with pytest.raises(error, match=f"^{name}: {message}"):
                call(X, y)
            assert [(p.data, p.grad) for p in (w, b)] == before
            assert np.array_equal(replay.last_outputs, kept)
    # numpy scalars, ints and a list of row arrays are real numbers, read as floats
    rows = [np.array([1.0, 2.0]), np.array([np.float32(0.5), np.int64(1)])]
    assert replay.loss(rows, (np.float64(0.5), 1)) == replay.loss([[1.0, 2.0], [0.5, 1.0]], [0.5, 1.0])


def test_non_finite_losses_and_hostile_compile_arguments_are_typed() -> None:
    w = Value(1.0, "w")
    with pytest.raises(NonFiniteError, match=r"^batched\.compile: penalty\(\): got nan"):
        batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, penalty=lambda: math.nan)
    with pytest.raises(OperandTypeError, match=r"^batched\.compile: penalty\(\): expected a real number"):
        batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, penalty=lambda: "abc")  # type: ignore[arg-type,return-value]
    for args, message in (
        ((5, [w], [1.0], 0.0), "sample_loss must be callable"),
        ((lambda x, t: w * x[0], 5, [1.0], 0.0), "params must be a sequence of Values, got 5"),
        ((lambda x, t: w * x[0], [w], ["a"], 0.0), "x_example must hold real numbers"),
        (
            (lambda x, t: w * x[0], [w], [[1.0]], 0.0),
            r"x_example must be one sample's features, got \(1, 1\)",
        ),
        ((lambda x, t: w * x[0], [w], [1.0], math.nan), "y_example: got nan"),
        ((lambda x, t: w * x[0], [w], [1.0], True), "y_example: expected a real number, got bool"),
    ):
        with pytest.raises(
            (OperandTypeError, NonFiniteError, ShapeError), match=f"^batched.compile: {message}"
        ):
            batched.compile(*args)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"reduction must be 'mean' or 'sum', got array"):
        batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, reduction=np.array([1, 2]))  # type: ignore[arg-type]
    exploding = batched.compile(lambda x, t: (w * x[0]).exp(), [w], [1.0], 0.0)
    w.data = 800.0
    for call, name in ((exploding.loss, "loss"), (exploding.step, "step")):
        with pytest.raises(
            OperationError, match=rf"^batched\.{name}: batched replay, sample 0: exp\(800\.0\)"
        ):
            call([[1.0]], [0.0])
    assert w.grad == 0.0
    # Each sample's loss is finite, their sum is not: no op to name, yet no silent infinity.
    w.data = 1e308
    summed = batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, reduction="sum")
    for call, name in ((summed.loss, "loss"), (summed.step, "step")):
        with pytest.raises(NonFiniteError, match=rf"^batched\.{name}: the loss is inf"):
            call([[1.0], [1.0]], [0.0, 0.0])
    assert w.grad == 0.0


def test_a_sample_loss_that_fails_is_named_in_a_typed_error() -> None:
    w = Value(1.0, "w")
    with pytest.raises(ValueError, match=r"^batched\.compile: sample_loss\(x, y\) raised IndexError"):
        batched.compile(lambda x, t: w * x[1], [w], [1.0], 0.0)
    with pytest.raises(ValueError, match=r"^batched\.compile: sample_loss\(x, y\) raised TypeError"):
        batched.compile(int, [w], [1.0], 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"blas_threads must be an int in \[1, 1024\] or None, got 1000"):
        batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, blas_threads=10**400)
    assert w.grad == 0.0
