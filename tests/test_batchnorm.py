"""Tests of tinygrad_w.batchnorm: values by hand, running statistics, train/eval modes, gradients through the
batch statistics against central differences and against torch, and a BatchNorm network trained by fit."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_w import Value
from tinygrad_w.errors import (
    ArgumentError,
    NonFiniteError,
    OperandTypeError,
    OperationOverflowError,
    ShapeError,
)
from tinygrad_w.nn.batchnorm import Activation, BatchNorm1d, Sequential
from tinygrad_w.nn.layers import Layer
from tinygrad_w.testing.gradcheck import numeric_gradient
from tinygrad_w.train import data, optim
from tinygrad_w.train.fit import fit

H = 1e-6


def close(analytic: float, numeric: float) -> bool:
    return abs(analytic - numeric) <= 1e-5 + 1e-3 * abs(numeric)


def test_normalizes_each_feature_over_the_batch() -> None:
    bn = BatchNorm1d(2, eps=0.0 + 1e-12)
    out = bn([[1.0, 2.0], [3.0, 6.0]])
    # feature 0: mean 2, biased variance 1; feature 1: mean 4, variance 4
    assert [v.data for row in out for v in row] == pytest.approx([-1.0, -1.0, 1.0, 1.0])


def test_scale_and_shift_apply_after_normalizing() -> None:
    bn = BatchNorm1d(1)
    bn.gamma[0].data, bn.beta[0].data = 3.0, 0.5
    out = bn([[0.0], [2.0], [4.0]])
    std = math.sqrt(8 / 3 + 1e-5)
    assert [row[0].data for row in out] == pytest.approx([0.5 - 3 * 2 / std, 0.5, 0.5 + 3 * 2 / std])


def test_running_statistics_use_the_unbiased_variance() -> None:
    bn = BatchNorm1d(1, momentum=0.1)
    bn([[0.0], [2.0], [4.0]])  # mean 2, unbiased variance 4
    assert bn.running_mean == pytest.approx([0.2])
    assert bn.running_var == pytest.approx([0.9 * 1.0 + 0.1 * 4.0])
    assert bn.num_batches_tracked == 1


def test_eval_mode_uses_running_statistics_and_updates_nothing() -> None:
    bn = BatchNorm1d(1)
    bn.running_mean, bn.running_var = [1.0], [4.0]
    bn.eval()
    out = bn([[3.0]])  # a single sample is fine in eval mode
    assert out[0][0].data == pytest.approx(2.0 / math.sqrt(4.0 + 1e-5))
    assert (bn.running_mean, bn.running_var, bn.num_batches_tracked) == ([1.0], [4.0], 0)
    assert bn.train() is bn and bn.training


def test_parameters_and_labels() -> None:
    bn = BatchNorm1d(3, label="BN1")
    assert [p.data for p in bn.parameters()] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert [p.label for p in bn.weights()] == ["BN1.gamma0", "BN1.gamma1", "BN1.gamma2"]
    assert [name for name, _ in bn.named_parameters()][3] == "beta.0"


def test_bad_input() -> None:
    bn = BatchNorm1d(2)
    with pytest.raises(ShapeError, match="at least 2 samples"):
        bn([[1.0, 2.0]])
    with pytest.raises(ShapeError, match="sample 1 has 1 features, expected 2"):
        bn([[1.0, 2.0], [1.0]])
    with pytest.raises(ShapeError, match="non-empty"):
        bn([])
    for bad in (dict(num_features=0), dict(num_features=2, momentum=1.5), dict(num_features=2, eps=0.0)):
        with pytest.raises(ArgumentError):
            BatchNorm1d(**bad)


def test_a_failing_forward_pass_leaves_the_running_statistics_alone() -> None:
    bn = BatchNorm1d(2)
    with pytest.raises(OperationOverflowError):
        bn([[0.0, 1e200], [1.0, -1e200]])  # feature 1: (1e200)² overflows, after feature 0 was done
    assert (bn.running_mean, bn.running_var, bn.num_batches_tracked) == ([0.0, 0.0], [1.0, 1.0], 0)


# ----------------------------------------------------------------------------------------------------
# Gradients through the batch statistics


def weighted_output(
    bn: BatchNorm1d, batch: Sequence[Sequence[Value]], weights: Sequence[Sequence[float]]
) -> Value:
    """Σ c_ij y_ij: plain Σ y_ij would have zero gradient in x (normalized columns always sum to Σβ)."""
    total = Value(0.0)
    for row, coefficients in zip(bn(batch), weights):
        for y, c in zip(row, coefficients):
            total = total + y * c
    return total


@given(
    st.integers(2, 4).flatmap(
        lambda n: st.integers(1, 2).flatmap(
            lambda f: st.tuples(
                st.lists(st.lists(st.floats(-3, 3), min_size=f, max_size=f), min_size=n, max_size=n),
                st.lists(st.floats(0.2, 2.0), min_size=f, max_size=f),
                st.lists(st.floats(-1, 1), min_size=f, max_size=f),
                st.lists(st.lists(st.floats(-2, 2), min_size=f, max_size=f), min_size=n, max_size=n),
            )
        )
    )
)
@settings(max_examples=60)
def test_gradients_match_central_differences(
    case: tuple[list[list[float]], list[float], list[float], list[list[float]]],
) -> None:
    xs, gammas, betas, coefficients = case
    n, f = len(xs), len(xs[0])
    for j in range(f):  # a nearly constant column is ill-conditioned for finite differences
        column = [row[j] for row in xs]
        assume(max(column) - min(column) > 0.3)
    flat = [v for row in xs for v in row] + gammas + betas

    def evaluate(values: Sequence[float]) -> tuple[Value, list[Value]]:
        leaves = [Value(v) for v in values]
        bn = BatchNorm1d(f)
        bn.gamma = leaves[n * f : n * f + f]
        bn.beta = leaves[n * f + f :]
        batch = [leaves[i * f : (i + 1) * f] for i in range(n)]
        return weighted_output(bn, batch, coefficients), leaves

    loss, leaves = evaluate(flat)
    loss.backward()
    numeric = numeric_gradient(lambda point: evaluate(point)[0].data, flat, H)
    for k, leaf in enumerate(leaves):
        assert close(leaf.grad, numeric[k]), (k, leaf.grad, numeric[k])


def test_matches_torch_in_both_modes() -> None:
    torch = pytest.importorskip("torch")
    rng = random.Random(0)
    n, f = 5, 3
    xs = [[rng.uniform(-2, 2) for _ in range(f)] for _ in range(n)]
    coefficients = [[rng.uniform(-1, 1) for _ in range(f)] for _ in range(n)]
    ours = BatchNorm1d(f, eps=1e-3, momentum=0.2)
    theirs = torch.nn.BatchNorm1d(f, eps=1e-3, momentum=0.2, dtype=torch.float64)
    with torch.no_grad():
        for j in range(f):
            ours.gamma[j].data = theirs.weight[j].item() + 0.1 * j
            theirs.weight[j] += 0.1 * j
            ours.beta[j].data = 0.3 - 0.2 * j
            theirs.bias[j] = 0.3 - 0.2 * j
    inputs = [[Value(v) for v in row] for row in xs]
    torch_inputs = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    for _ in range(2):  # two batches: the running statistics accumulate
        for row in inputs:
            for v in row:
                v.grad = 0.0
        ours.zero_grad()
        weighted_output(ours, inputs, coefficients).backward()
        torch_inputs.grad = None
        theirs.zero_grad()
        (theirs(torch_inputs) * torch.tensor(coefficients, dtype=torch.float64)).sum().backward()
    assert [v.grad for row in inputs for v in row] == pytest.approx(
        torch_inputs.grad.flatten().tolist(), rel=1e-9, abs=1e-12
    )
    assert [g.grad for g in ours.gamma] == pytest.approx(theirs.weight.grad.tolist(), rel=1e-9)
    assert [b.grad for b in ours.beta] == pytest.approx(theirs.bias.grad.tolist(), rel=1e-9)
    assert ours.running_mean == pytest.approx(theirs.running_mean.tolist(), rel=1e-12)
    assert ours.running_var == pytest.approx(theirs.running_var.tolist(), rel=1e-12)
    ours.eval()
    theirs.eval()
    out = [v.data for row in ours(inputs) for v in row]
    assert out == pytest.approx(theirs(torch_inputs).flatten().tolist(), rel=1e-12)


# ----------------------------------------------------------------------------------------------------
# Inside a network


def small_bn_network(seed: int = 0) -> Sequential:
    rng = random.Random(seed)
    return Sequential(
        Layer(2, 8, "linear", rng=rng, index=1),
        BatchNorm1d(8, label="BN1"),
        Activation("tanh"),
        Layer(8, 1, "linear", rng=rng, index=2),
    )


def test_sequential_calls_batchwise_and_per_sample_modules() -> None:
    model = small_bn_network()
    outputs = model([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    assert len(outputs) == 3 and all(isinstance(o, Value) for o in outputs)
    assert len(model.parameters()) == 8 * 3 + 16 + 9
    assert len(model.weight_stats()["layers"]) == 4
    assert model.eval() is model and not model.layers[1].training


def test_fit_trains_a_batchnorm_network_on_minibatches() -> None:
    X, y = data.moons(32, noise=0.1, seed=0)
    model = small_bn_network()
    history = fit(
        model,
        X,
        y,
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        epochs=15,
        batch_size=8,
        seed=0,
        progress=False,
    )
    assert history.loss[-1] < history.loss[0]
    assert history.layer_names == ["L1", "L2", "L3", "L4"]
    model.eval()  # evaluation: one sample at a time, with the running statistics
    correct = sum((model([x])[0].data > 0) == (label > 0) for x, label in zip(X, y))
    assert correct / len(X) >= 0.75


def test_fit_never_gives_batch_norm_a_batch_of_one() -> None:
    X, y = data.moons(17, noise=0.1, seed=1)
    model = small_bn_network()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    fit(model, X, y, optimizer=optimizer, epochs=2, batch_size=8, progress=False)  # 8 + 9, not 8 + 8 + 1
    assert optimizer.step_count == 4


def test_train_takes_a_flag_not_a_truthy_string() -> None:
    bn = BatchNorm1d(2)
    bn.eval()
    with pytest.raises(
        OperandTypeError, match=r"^BatchNorm1d BN.train: mode must be True or False, got str 'no'"
    ):
        bn.train("no")  # type: ignore[arg-type]
    assert bn.training is False  # unchanged
    model = Sequential(BatchNorm1d(2))
    with pytest.raises(OperandTypeError, match=r"^Sequential.train: mode must be True or False"):
        model.train(0)  # type: ignore[arg-type]
    assert model.layers[0].training is True


def test_running_state_round_trips() -> None:
    bn = BatchNorm1d(2)
    saved = bn.running_state()
    bn([[1.0, 2.0], [3.0, 5.0]])
    assert bn.running_mean != [0.0, 0.0] and bn.num_batches_tracked == 1
    bn.restore_running_state(saved)
    assert (bn.running_mean, bn.running_var, bn.num_batches_tracked) == ([0.0, 0.0], [1.0, 1.0], 0)
    model = Sequential(BatchNorm1d(2), Activation("relu"))
    state = model.running_state()
    model([[1.0, 2.0], [3.0, 5.0]])
    model.restore_running_state(state)
    assert model.layers[0].running_mean == [0.0, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_features": 2.0}, OperandTypeError, "num_features must be an integer"),
        ({"num_features": 10**9}, ArgumentError, "num_features must be an integer >= 1 and <= 100,000"),
        ({"num_features": 2, "eps": 0.0}, ArgumentError, "eps must be > 0"),
        ({"num_features": 2, "momentum": math.nan}, NonFiniteError, "momentum must be finite"),
        ({"num_features": 2, "momentum": 1.5}, ArgumentError, r"momentum must be in \[0, 1\]"),
        ({"num_features": 2, "label": None}, OperandTypeError, "label must be a str"),
    ],
)
def test_bad_settings_name_the_setting(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^BatchNorm1d: {message}"):
        BatchNorm1d(**kwargs)  # type: ignore[arg-type]
