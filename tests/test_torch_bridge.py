"""Tests of tinygrad_w.torch_bridge: same outputs and gradients as PyTorch (to 1e-12), exact round trips,
clear errors for what an MLP cannot hold, and the install hint when torch is missing.

PyTorch is an optional oracle: these tests skip cleanly without it (all but the missing-torch test)."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import MLP, Value, from_torch, to_torch
from tinygrad_w.nn.layers import ACTIVATIONS


def test_without_torch_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(ImportError, match=r"to_torch needs PyTorch.*pip install torch==2\.13\.0"):
        to_torch(MLP(2, [1], seed=0))
    with pytest.raises(ImportError, match=r"from_torch needs PyTorch.*pip install torch==2\.13\.0"):
        from_torch(object())


@pytest.fixture
def pt() -> Any:
    return pytest.importorskip("torch")


def outputs_of(model: MLP, x: list[Value] | list[float]) -> list[Value]:
    out = model(x)
    return out if isinstance(out, list) else [out]


@settings(max_examples=40)
@given(
    nin=st.integers(1, 4),
    nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    output_activation=st.sampled_from(sorted(ACTIVATIONS)),
    seed=st.integers(0, 2**32),
    x=st.lists(st.floats(-30, 30, allow_nan=False), min_size=4, max_size=4),
)
def test_same_outputs_and_gradients_as_pytorch(
    nin: int, nouts: list[int], activation: str, output_activation: str, seed: int, x: list[float]
) -> None:
    torch = pytest.importorskip("torch")
    model = MLP(
        nin,
        nouts,
        activation,
        output_activation=output_activation,
        init="normal",
        bias_init="normal",
        seed=seed,
    )
    sequential = to_torch(model)
    assert all(p.dtype == torch.float64 for p in sequential.parameters())
    inputs = [Value(v) for v in x[:nin]]
    ours = outputs_of(model, inputs)
    x_torch = torch.tensor(x[:nin], dtype=torch.float64, requires_grad=True)
    theirs = sequential(x_torch)
    for a, b in zip(ours, theirs.tolist()):
        assert abs(a.data - b) <= 1e-12 * max(1.0, abs(b))
    # Gradients of the sum of the outputs, with respect to every weight, bias and input.
    sum(ours[1:], ours[0]).backward()
    theirs.sum().backward()
    linears = [m for m in sequential if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model.layers, linears):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                assert abs(w.grad - linear.weight.grad[j, k].item()) <= 1e-12 * max(1.0, abs(w.grad))
            assert abs(neuron.b.grad - linear.bias.grad[j].item()) <= 1e-12 * max(1.0, abs(neuron.b.grad))
    for xi, g in zip(inputs, x_torch.grad.tolist()):
        assert abs(xi.grad - g) <= 1e-12 * max(1.0, abs(g))


@settings(max_examples=30)
@given(
    nin=st.integers(1, 4),
    nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    output_activation=st.sampled_from(sorted(ACTIVATIONS)),
    seed=st.integers(0, 2**32),
)
def test_round_trip_through_pytorch_is_exact(
    nin: int, nouts: list[int], activation: str, output_activation: str, seed: int
) -> None:
    pytest.importorskip("torch")
    model = MLP(nin, nouts, activation, output_activation=output_activation, init="he_normal", seed=seed)
    back = from_torch(to_torch(model))
    assert back.nin == nin and back.nouts == nouts and back.output_activation == output_activation
    if len(nouts) > 1:
        assert back.activation == activation
    assert [(n, p.data) for n, p in back.named_parameters()] == [
        (n, p.data) for n, p in model.named_parameters()
    ]
    assert [p.label for p in back.parameters()] == [p.label for p in model.parameters()]


def test_from_a_float32_pytorch_model(pt: Any) -> None:
    pt.manual_seed(0)
    sequential = pt.nn.Sequential(pt.nn.Linear(3, 5), pt.nn.Tanh(), pt.nn.Linear(5, 2))
    model = from_torch(sequential, fused=True)
    assert model.fused and model.activation == "tanh" and model.output_activation == "linear"
    assert (
        model.layers[0].neurons[4].w[2].data == sequential[0].weight[4, 2].item()
    )  # float32 -> float64 exactly
    x = [0.1, -0.2, 0.3]
    expected = sequential.double()(pt.tensor(x, dtype=pt.float64)).tolist()
    assert [o.data for o in outputs_of(model, x)] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_layout_of_the_sequential(pt: Any) -> None:
    sequential = to_torch(MLP(2, [3, 3, 1], "leaky_relu", output_activation="softplus", seed=0))
    kinds = [type(m).__name__ for m in sequential]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Softplus"]
    assert sequential[1].negative_slope == 0.01
    assert [type(m).__name__ for m in to_torch(MLP(2, [1], seed=0))] == ["Linear"]  # linear adds nothing
    # PyTorch's default Softplus (threshold 20) is accepted too.
    assert from_torch(pt.nn.Sequential(pt.nn.Linear(2, 2), pt.nn.Softplus())).output_activation == "softplus"
    assert from_torch(pt.nn.Sequential(pt.nn.Linear(2, 2), pt.nn.Identity())).output_activation == "linear"


def unsupported(pt: Any) -> dict[str, tuple[Any, type[Exception], str]]:
    nn = pt.nn
    return {
        "dropout": (
            nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)),
            ValueError,
            r"module 1 \(Dropout\) is not supported",
        ),
        "no bias": (
            nn.Sequential(nn.Linear(2, 2, bias=False)),
            ValueError,
            r"module 0 \(Linear\) has no bias",
        ),
        "sizes": (
            nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)),
            tg.ShapeError,
            "expects 4 inputs but the layer before gives 3",
        ),
        "mixed": (
            nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)),
            ValueError,
            r"different activations \(relu, tanh\)",
        ),
        "slope": (nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.2)), ValueError, "negative_slope 0.2"),
        "beta": (nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2.0)), ValueError, "Softplus with beta 2.0"),
        "empty": (nn.Sequential(), ValueError, "the Sequential is empty"),
        "two activations": (
            nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh()),
            ValueError,
            r"module 2 \(Tanh\) follows an activation",
        ),
        "starts with activation": (
            nn.Sequential(nn.ReLU(), nn.Linear(2, 2)),
            ValueError,
            r"module 0 \(ReLU\) is not a Linear",
        ),
        "not a Sequential": (
            nn.Linear(2, 2),
            tg.OperandTypeError,
            "expected a torch.nn.Sequential, got Linear",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "dropout",
        "no bias",
        "sizes",
        "mixed",
        "slope",
        "beta",
        "empty",
        "two activations",
        "starts with activation",
        "not a Sequential",
    ],
)
def test_unsupported_modules_are_named(pt: Any, case: str) -> None:
    sequential, error, message = unsupported(pt)[case]
    with pytest.raises(error, match=message):
        from_torch(sequential)


def test_non_finite_weights_are_refused(pt: Any) -> None:
    sequential = pt.nn.Sequential(pt.nn.Linear(2, 2))
    with pt.no_grad():
        sequential[0].weight[1, 0] = float("nan")
    with pytest.raises(tg.NonFiniteError, match=r"holds nan \(for L1\.N1\.w0\)"):
        from_torch(sequential)
    with pytest.raises(tg.OperandTypeError, match="to_torch: expected an MLP"):
        to_torch(Value(1.0))  # type: ignore[arg-type]


def test_a_softplus_threshold_that_changes_values_is_refused(pt: Any) -> None:
    nn = pt.nn
    # threshold 5: softplus(6) = 6.00248, but PyTorch returns 6.0 there: a different function
    with pytest.raises(
        tg.ArgumentError, match=r"^from_torch: module 1 is Softplus with threshold 5: .* use threshold=40"
    ):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softplus(threshold=5)))
    # PyTorch's default, 20, is exact in float32 (e^-20 is below half a float32 step of 20) ...
    assert from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softplus())).output_activation == "softplus"
    # ... but not in float64, where 40 (what to_torch writes) is
    with pytest.raises(tg.ArgumentError, match=r"threshold 20.0: .*off by up to 2.1e-09 in float64"):
        from_torch(nn.Sequential(nn.Linear(2, 2, dtype=pt.float64), nn.Softplus()))
    sequential = nn.Sequential(nn.Linear(1, 1, dtype=pt.float64), nn.Softplus(threshold=40))
    with pt.no_grad():
        sequential[0].weight.fill_(1.0)
        sequential[0].bias.fill_(0.0)
    model = from_torch(sequential)
    for x in [-3.0, 0.5, 25.0, 39.0, 41.0, 300.0]:
        assert model([x]).data == pytest.approx(
            sequential(pt.tensor([x], dtype=pt.float64)).item(), rel=1e-15
        )


def test_to_torch_refuses_a_weight_that_is_not_a_finite_number(pt: Any) -> None:
    model = MLP(2, [2, 1], seed=0)
    model.layers[1].neurons[0].w[1].data = math.nan
    with pytest.raises(tg.NonFiniteError, match=r"^to_torch: L2\.N0\.w1: got nan"):
        to_torch(model)
    model.layers[1].neurons[0].w[1].data = "x"  # type: ignore[assignment]
    with pytest.raises(tg.OperandTypeError, match=r"^to_torch: L2\.N0\.w1: expected a real number"):
        to_torch(model)


def test_from_torch_takes_a_flag_for_fused(pt: Any) -> None:
    with pytest.raises(tg.OperandTypeError, match=r"^from_torch: fused must be True or False"):
        from_torch(pt.nn.Sequential(pt.nn.Linear(2, 2)), fused="yes")  # type: ignore[arg-type]
