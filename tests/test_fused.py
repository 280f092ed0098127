"""Fused neuron nodes (``tinygrad_w.linear``) give the same values and gradients as the unfused graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import OperandTypeError, ShapeError, Value, batched, linear, nn, topological_order
from tinygrad_w.nn.fused import LINEAR


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


finite = st.floats(-10, 10, allow_nan=False)


@given(
    weights=st.lists(finite, min_size=1, max_size=12),
    data=st.data(),
)
def test_linear_node_matches_the_chain_it_replaces(weights: list[float], data: st.DataObject) -> None:
    inputs = data.draw(st.lists(finite, min_size=len(weights), max_size=len(weights)))
    bias = data.draw(finite)
    ws, xs, b = [Value(w) for w in weights], [Value(x) for x in inputs], Value(bias)
    fused = linear(ws, xs, b)
    assert fused.op is LINEAR and len(topological_order(fused)) == 2 * len(ws) + 2  # leaves + one node
    (fused * fused).backward()
    fused_grads = [v.grad for v in [*ws, *xs, b]]
    for v in [*ws, *xs, b]:
        v.grad = 0.0
    chain = b
    for w, x in zip(ws, xs):
        chain = chain + w * x
    (chain * chain).backward()
    assert close(fused.data, chain.data)
    for g, e in zip(fused_grads, [v.grad for v in [*ws, *xs, b]]):
        assert close(g, e)


@settings(max_examples=40)
@given(
    nin=st.integers(1, 4),
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "softplus", "linear"]),
    samples=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_fused_mlp_matches_unfused_mlp(
    nin: int, hidden: list[int], activation: str, samples: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(samples, nin)).tolist()
    y = np.where(rng.uniform(size=samples) < 0.5, -1.0, 1.0).tolist()
    results = []
    for fused in (False, True):
        model = nn.MLP(nin, [*hidden, 1], activation, seed=seed, fused=fused)
        params = model.parameters()
        losses = [(1.0 - t * model(row)).relu() + (model(row) - t) ** 2 for row, t in zip(X, y)]
        total = sum(losses[1:], losses[0]) * (1.0 / samples) + 1e-3 * sum((p * p for p in params), Value(0.0))
        total.backward()
        results.append((total.data, [p.grad for p in params]))
    (loss_plain, grads_plain), (loss_fused, grads_fused) = results
    assert close(loss_fused, loss_plain)
    assert all(close(g, e) for g, e in zip(grads_fused, grads_plain))


@settings(max_examples=25)
@given(samples=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_batched_fused_matches_scalar_unfused(samples: int, seed: int) -> None:
    """All three paths agree: scalar unfused (the reference), batched on a fused model, batched unfused."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(samples, 2))
    y = np.where(rng.uniform(size=samples) < 0.5, -1.0, 1.0)
    outcomes = []
    for fused, replayed in ((False, False), (True, True), (False, True)):
        model = nn.MLP(2, [5, 4, 1], seed=seed, fused=fused)
        params = model.parameters()

        def sample_loss(x: list[Value], t: Value, model: nn.MLP = model) -> Value:
            return (1.0 - t * model(x)).relu()  # type: ignore[operator]

        def penalty(params: list[Value] = params) -> Value:
            return 1e-4 * sum((p * p for p in params), Value(0.0))

        if replayed:
            loss = batched.compile(sample_loss, params, X[0], y[0], penalty=penalty).step(X, y)
        else:
            terms = [sample_loss([Value(v) for v in row], Value(t)) for row, t in zip(X.tolist(), y.tolist())]
            total = sum(terms[1:], terms[0]) * (1.0 / samples) + penalty()
            total.backward()
            loss = total.data
        outcomes.append((loss, [p.grad for p in params]))
    reference = outcomes[0]
    for loss, grads in outcomes[1:]:
        assert close(loss, reference[0])
        assert all(close(g, e) for g, e in zip(grads, reference[1]))


def test_linear_errors() -> None:
    with pytest.raises(ShapeError, match="linear"):
        linear([Value(1.0)], [Value(1.0), Value(2.0)], 0.0)
    with pytest.raises(OperandTypeError, match="linear"):
        linear([Value(1.0)], ["x"], 0.0)  # type: ignore[list-item]
