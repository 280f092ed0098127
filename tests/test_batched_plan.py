"""How the batched path plans a graph: which nodes become sums (from the ops' ``linear_in``), how many steps
a network takes whatever its width, and that the replay runs on the core's reverse-mode walk."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import ArgumentError, Op, Value, batched, linear, nn
from tinygrad_w.batched import compiler
from tinygrad_w.batched.linearity import LinearForms
from tinygrad_w.batched.plan import plan_groups
from tinygrad_w.core.ops import ADD, DIV, MUL, RELU, SUB
from tinygrad_w.nn.fused import LINEAR


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def scalar_loss_and_grads(sample_loss: Any, params: list[Value], X: np.ndarray, y: np.ndarray) -> tuple[float, list[float]]:  # fmt: skip
    terms = [sample_loss([Value(float(v)) for v in row], Value(float(t))) for row, t in zip(X, y)]
    total = sum(terms[1:], terms[0]) * (1.0 / len(terms))
    for p in params:
        p.grad = 0.0
    total.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return total.data, grads


def test_forms_come_from_linear_in_and_the_derivative_rule() -> None:
    forms = LinearForms()
    a, b = Value(1.0), Value(2.0)
    add, sub = forms.of(ADD, (a, b)), forms.of(SUB, (3.0, a))
    assert add is not None and add.entries == ((0, 1.0, None), (1, 1.0, None)) and add.offset == 0.0
    assert sub is not None and sub.entries == ((1, -1.0, None),) and sub.offset == 3.0  # 3 - a
    mul = forms.of(MUL, (a, b))
    assert mul is not None and mul.entries == ((0, 1.0, 1),) and mul.pairs == ((0, 1),)  # the product a·b
    half = forms.of(DIV, (a, 4.0))
    assert half is not None and half.entries == ((0, 0.25, None),)
    assert forms.of(DIV, (4.0, a)) is None  # 4 / a: DIV is linear in its numerator only
    assert forms.of(RELU, (a,)) is None  # not linear at all
    fused = forms.of(LINEAR, (a, b, a, b, 0.5))  # w0·x0 + w1·x1 + 0.5, all five inputs "every"
    assert fused is not None and fused.pairs == ((0, 2), (1, 3)) and fused.offset == 0.5


def test_an_op_that_claims_linearity_it_lacks_is_replayed_op_by_op() -> None:
    # x + y + x·y is linear in each input separately, but not a sum of the two kinds the replay uses.
    bilinear = Op("bilinear", lambda m, x, y: x + y + x * y, lambda m, out, x, y: (1.0 + y, 1.0 + x), linear_in=(0, 1))  # fmt: skip
    # And one whose linear_in is simply wrong: x² declared linear.
    wrong = Op("wrong", lambda m, x: x * x, lambda m, out, x: (2.0 * x,), linear_in=(0,))
    assert LinearForms().of(bilinear, (Value(1.0), Value(2.0))) is None
    assert LinearForms().of(wrong, (Value(1.0),)) is None
    w = Value(0.7)
    X, y = np.array([[1.0], [-2.0], [0.5]]), np.array([1.0, -1.0, 1.0])

    def sample_loss(x: list[Value], t: Value) -> Value:
        return wrong(bilinear(w * x[0], t) + w)  # type: ignore[no-any-return]

    expected = scalar_loss_and_grads(sample_loss, [w], X, y)
    loss = batched.compile(sample_loss, [w], X[0], y[0]).step(X, y)
    assert close(loss, expected[0]) and close(w.grad, expected[1][0])


def test_a_custom_op_declared_linear_joins_the_sums() -> None:
    # 2a - b, declared linear in both inputs: the chain it ends collapses into one sum with a matrix.
    twice_minus = Op("twice_minus", lambda m, a, b: 2.0 * a - b, lambda m, out, a, b: (2.0, -1.0), linear_in=(0, 1))  # fmt: skip
    w0, w1 = Value(0.3), Value(-1.2)
    X, y = np.array([[1.0, 2.0], [-0.5, 3.0]]), np.array([0.2, -0.1])

    def sample_loss(x: list[Value], t: Value) -> Value:
        return (twice_minus(w0 * x[0], w1 * x[1]) - t).relu()

    groups, _, _ = plan_groups([sample_loss([Value(1.0), Value(2.0)], Value(0.2))], [])
    assert any(group.op is None for group in groups)  # a step of sums
    expected = scalar_loss_and_grads(sample_loss, [w0, w1], X, y)
    loss = batched.compile(sample_loss, [w0, w1], X[0], y[0]).step(X, y)
    assert close(loss, expected[0]) and all(close(p.grad, e) for p, e in zip([w0, w1], expected[1]))


@pytest.mark.parametrize("fused", [False, True])
def test_the_number_of_steps_does_not_grow_with_the_width(fused: bool) -> None:
    steps = []
    for width in (2, 8, 32):
        model = nn.MLP(2, [width, width, 1], seed=0, fused=fused)
        params = model.parameters()
        replay = batched.compile(
            lambda x, t, model=model: (1.0 - t * model(x)).relu(),
            params, [0.5, -0.5], 1.0, penalty=lambda params=params: 1e-4 * sum(p * p for p in params),
        )  # fmt: skip
        steps.append(replay.steps)
    assert steps[0] == steps[1] == steps[2]


def test_a_layer_is_one_step_and_its_weights_one_matrix_read_without_copying() -> None:
    model = nn.MLP(3, [5, 1], seed=0)
    replay = batched.compile(lambda x, t: (model(x) - t) ** 2, model.parameters(), [0.1, 0.2, 0.3], 0.0)
    from tinygrad_w.batched.steps import SumStep

    sums = [b for b in replay._blocks if isinstance(b, SumStep)]
    first = sums[0].matrix_part
    assert first is not None and first.shape == (5, 3) and first.exact
    assert all(source.span is not None for source in first.factors.sources)  # a slice of one block


def test_the_replay_walks_back_with_the_cores_backpropagate(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = compiler.backpropagate

    def counting(order: Any, grads: Any, pullback: Any) -> Any:
        calls.append(len(order))
        return real(order, grads, pullback)

    monkeypatch.setattr(compiler, "backpropagate", counting)
    w = Value(1.5)
    replay = batched.compile(lambda x, t: (w * x[0] - t) ** 2, [w], [1.0], 0.0)
    replay.step(np.array([[1.0], [2.0]]), np.array([0.0, 1.0]))
    assert calls and w.grad == pytest.approx(((1.5 - 0) * 2 * 1 + (3.0 - 1) * 2 * 2) / 2)


def test_gc_and_blas_settings_are_as_they_were_after_compiling_and_stepping() -> None:
    from threadpoolctl import threadpool_info

    model = nn.MLP(2, [4, 1], seed=0)
    blas_before = [lib["num_threads"] for lib in threadpool_info()]
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    replay = batched.compile(lambda x, t: (model(x) - t) ** 2, model.parameters(), [0.0, 0.0], 0.0)
    replay.step(np.ones((3, 2)), np.zeros(3))
    assert gc.get_threshold() == thresholds and gc.isenabled() == enabled
    assert [lib["num_threads"] for lib in threadpool_info()] == blas_before
    gc.disable()
    try:
        replay.step(np.ones((3, 2)), np.zeros(3))
        assert not gc.isenabled()  # a user who turned the collector off keeps it off
    finally:
        if enabled:
            gc.enable()


def test_blas_threads_must_be_a_positive_int_or_none() -> None:
    w = Value(1.0)
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ArgumentError, match="blas_threads"):
            batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, blas_threads=bad)  # type: ignore[arg-type]
    free = batched.compile(lambda x, t: w * x[0], [w], [1.0], 0.0, blas_threads=None)
    assert free.step(np.array([[2.0]]), np.array([0.0])) == 2.0


@settings(max_examples=12)
@given(
    widths=st.lists(st.integers(20, 90), min_size=1, max_size=2),
    fused=st.booleans(),
    activation=st.sampled_from(["relu", "tanh", "leaky_relu"]),
    samples=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_wide_models_match_the_scalar_graph(
    widths: list[int], fused: bool, activation: str, samples: int, seed: int
) -> None:
    """Batched (plain or fused model) and the scalar graph agree to 1e-12 on wide layers too."""
    model = nn.MLP(3, [*widths, 1], activation, seed=seed, fused=fused)
    params = model.parameters()
    rng = np.random.default_rng(seed)
    X, y = rng.uniform(-2, 2, size=(samples, 3)), np.where(rng.uniform(size=samples) < 0.5, -1.0, 1.0)

    def sample_loss(x: list[Value], t: Value) -> Value:
        return (1.0 - t * model(x)).relu() + 0.1 * (model(x) - t) ** 2  # type: ignore[no-any-return]

    def penalty() -> Value:
        return 1e-3 * sum((p * p for p in params), Value(0.0))

    expected_loss, expected_grads = scalar_loss_and_grads(sample_loss, params, X, y)
    pen = penalty()
    pen.backward()
    expected_loss += pen.data
    expected_grads = [g + p.grad for g, p in zip(expected_grads, params)]
    for p in params:
        p.grad = 0.0
    loss = batched.compile(sample_loss, params, X[0], y[0], penalty=penalty).step(X, y)
    assert close(loss, expected_loss)
    assert all(close(p.grad, e) for p, e in zip(params, expected_grads))


def test_a_fused_neuron_and_its_chain_plan_the_same_steps() -> None:
    w, x_leaf = [Value(0.5), Value(-0.25)], Value(0.1)
    chained = plan_groups([(w[0] * x_leaf + w[1] * x_leaf + 0.3).tanh()], [x_leaf])[0]
    fused = plan_groups([linear(w, [x_leaf, x_leaf], 0.3).tanh()], [x_leaf])[0]
    assert [(g.op, g.per_sample, len(g.nodes)) for g in chained] == [
        (g.op, g.per_sample, len(g.nodes)) for g in fused
    ]


def test_many_small_sums_are_computed_entry_by_entry_and_match() -> None:
    """300 sums of two inputs each: a dense matrix would be 300 × 301 almost empty; the step keeps the 600
    entries instead, and gives the scalar graph's results."""
    from tinygrad_w.batched.steps import SparsePart, SumStep

    n = 300
    ws, vs = (
        [Value(0.01 * (k % 7) - 0.03) for k in range(n)],
        [Value(0.02 * (k % 5) - 0.04) for k in range(n)],
    )
    params = [*ws, *vs]

    def sample_loss(x: list[Value], t: Value) -> Value:
        hidden = [(ws[k] * x[k] + vs[k] * x[k + 1]).tanh() for k in range(n)]
        return (sum(hidden, Value(0.0)) - t) ** 2

    rng = np.random.default_rng(1)
    X, y = rng.uniform(-1, 1, size=(3, n + 1)), rng.uniform(-1, 1, size=3)
    replay = batched.compile(sample_loss, params, X[0], y[0])
    assert any(isinstance(b, SumStep) and isinstance(b.matrix_part, SparsePart) for b in replay._blocks)
    expected_loss, expected_grads = scalar_loss_and_grads(sample_loss, params, X, y)
    assert close(replay.step(X, y), expected_loss)
    assert all(close(p.grad, e) for p, e in zip(params, expected_grads))
