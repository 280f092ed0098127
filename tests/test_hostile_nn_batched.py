"""The hostile suite, part 4: networks (Neuron, Layer, MLP: construction and calls, parameters, zero_grad,
weight_stats, the fused ``linear``) and the batched path (compile, step, loss) under hostile arguments.
Rule: hostile_support."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hostile_support import FAST, HOSTILE, clean, finite, numbers_of, scalars, sequences, values
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import MLP, Value, batched
from tinygrad_w.nn.fused import linear
from tinygrad_w.nn.layers import Layer, Neuron, weight_stats

SIZES = st.one_of(st.integers(1, 3), HOSTILE)
KEYWORDS = {
    "Neuron": ["activation", "nonlin", "init", "bias_init", "fan_out", "seed", "rng", "label", "fused"],
    "Layer": ["activation", "nonlin", "init", "bias_init", "seed", "rng", "index", "fused"],
    "MLP": ["activation", "output_activation", "init", "bias_init", "seed", "fused"],
}
NAMES = ("Neuron", "Layer", "MLP", "initializer", "init")

# ----------------------------------------------------------------------------------------------------
# Construction


def built_right(module: Any, nin: Any) -> None:
    """A module built from hostile-looking but legal settings: finite weights, labels that are text."""
    params = module.parameters()
    assert params and all(finite(p.data) and p.grad == 0.0 for p in params)
    assert all(isinstance(p.label, str) and "None" not in p.label for p in params)
    assert module.nin == int(nin)


@FAST
@given(st.sampled_from(sorted(KEYWORDS)), SIZES, SIZES, st.data(), HOSTILE)
def test_modules_built_with_anything(kind: str, nin: Any, nout: Any, data: st.DataObject, value: Any) -> None:
    keyword = {data.draw(st.sampled_from(KEYWORDS[kind])): value}
    build = {
        "Neuron": lambda: Neuron(nin, **keyword),
        "Layer": lambda: Layer(nin, nout, **keyword),
        "MLP": lambda: MLP(nin, [nout, 1], **keyword),
    }[kind]
    clean(build, NAMES, correct=lambda module: built_right(module, nin))


@FAST
@given(st.one_of(HOSTILE, st.lists(st.one_of(st.integers(1, 3), scalars()), max_size=3)))
def test_mlp_layer_sizes_of_anything(nouts: Any) -> None:
    def correct(model: MLP) -> None:
        assert model.nouts == [int(n) for n in nouts] and len(model.layers) == len(nouts)

    clean(lambda: MLP(2, nouts, seed=0), "MLP", correct=correct)


# ----------------------------------------------------------------------------------------------------
# Calls, parameters, zero_grad


MODELS = {
    "Neuron": lambda: Neuron(2, "tanh", seed=0),
    "Layer": lambda: Layer(2, 2, "tanh", seed=0),
    "MLP": lambda: MLP(2, [3, 1], "tanh", seed=0),
    "fused MLP": lambda: MLP(2, [3, 2], "tanh", seed=0, fused=True),
}


@FAST
@given(st.sampled_from(sorted(MODELS)), st.one_of(HOSTILE, sequences(st.one_of(values(), scalars()))))
def test_modules_called_on_anything(kind: str, x: Any) -> None:
    model = MODELS[kind]()
    params = model.parameters()

    def correct(out: Any) -> None:
        outs = out if isinstance(out, list) else [out]
        assert all(isinstance(o, Value) and finite(o.data) for o in outs)
        expected = model([float(v.data if isinstance(v, Value) else v) for v in x])
        expected = expected if isinstance(expected, list) else [expected]
        assert [o.data for o in outs] == [e.data for e in expected]

    clean(lambda: model(x), ("Neuron", "Layer", "MLP"), state=lambda: numbers_of(params), correct=correct)


@FAST
@given(
    st.sampled_from(sorted(MODELS)), st.lists(HOSTILE, min_size=1, max_size=4), st.lists(HOSTILE, max_size=2)
)
def test_parameters_and_zero_grad_whatever_the_grads_and_data(
    kind: str, grads: list[Any], data: list[Any]
) -> None:
    model = MODELS[kind]()
    params = model.parameters()
    for p, g in zip(params, grads):
        p.grad = g
    for p, d in zip(params, data):
        p.data = d  # a weight spoiled by hand must not stop zero_grad
    assert clean(model.parameters, "parameters") == params
    assert [name for name, _ in model.named_parameters()] and len(model.named_parameters()) == len(params)
    clean(model.zero_grad, "zero_grad", correct=lambda _: all(p.grad == 0.0 for p in params))


# ----------------------------------------------------------------------------------------------------
# weight_stats and linear


@FAST
@given(st.one_of(HOSTILE, sequences(st.one_of(values(), scalars()))))
def test_weight_stats_of_anything(numbers: Any) -> None:
    leaves = [v for v in numbers if isinstance(v, Value)] if isinstance(numbers, (list, tuple)) else []

    def correct(stats: dict[str, Any]) -> None:
        xs = [float(v.data if isinstance(v, Value) else v) for v in numbers]
        assert stats["count"] == len(xs)
        if xs and all(math.isfinite(x) for x in xs) and max(map(abs, xs)) < 1e150:
            assert math.isclose(stats["sum"], math.fsum(xs), abs_tol=1e-300)
            assert stats["min"] == min(xs) and stats["max"] == max(xs)
        elif any(math.isnan(x) for x in xs):
            assert math.isnan(stats["min"]) and math.isnan(stats["max"]) and math.isnan(stats["mean"])

    clean(lambda: weight_stats(numbers), "weight_stats", state=lambda: numbers_of(leaves), correct=correct)


@FAST
@given(
    st.one_of(HOSTILE, sequences(st.one_of(values(), scalars()))),
    st.one_of(HOSTILE, sequences(st.one_of(values(), scalars()))),
    st.one_of(values(), scalars()),
)
def test_linear_of_anything(weights: Any, inputs: Any, bias: Any) -> None:
    leaves = [v for group in (weights, inputs, [bias]) if isinstance(group, (list, tuple)) for v in group]
    leaves = [v for v in leaves if isinstance(v, Value)]

    def number(v: Any) -> float:
        return float(v.data if isinstance(v, Value) else v)

    def correct(out: Value) -> None:
        expected = math.fsum([number(bias), *(number(w) * number(x) for w, x in zip(weights, inputs))])
        assert finite(out.data) and math.isclose(out.data, expected, rel_tol=1e-9, abs_tol=1e-9)

    clean(lambda: linear(weights, inputs, bias), "linear", state=lambda: numbers_of(leaves), correct=correct)


# ----------------------------------------------------------------------------------------------------
# The batched path

W, B = Value(0.5, "w"), Value(-0.25, "b")


def square_loss(x: list[Value], t: Value) -> Value:
    return (W * x[0] + B * x[1] - t) ** 2


REPLAY = batched.compile(square_loss, [W, B], [1.0, 2.0], 0.0)
BATCH_ELEMENTS = st.one_of(st.floats(-3, 3), scalars())


@FAST
@given(
    st.one_of(HOSTILE, sequences(sequences(BATCH_ELEMENTS)), st.just([[1.0, 2.0], [0.5, -1.0]])),
    st.one_of(HOSTILE, sequences(BATCH_ELEMENTS), st.just([0.5, 1.0])),
    st.sampled_from(["step", "loss", "value_and_grad"]),
)
def test_batched_calls_on_anything(X: Any, y: Any, method: str) -> None:
    for p in (W, B):
        p.grad = 0.0
    kept = REPLAY.last_outputs.copy()
    state = lambda: (
        numbers_of([W, B]),
        REPLAY.last_outputs.tolist() if REPLAY.last_outputs is kept else None,
    )

    def correct(result: Any) -> None:
        total = result[0] if method == "value_and_grad" else result
        rows = np.asarray(X, dtype=np.float64)
        targets = np.asarray(y, dtype=np.float64)
        expected = np.mean((W.data * rows[:, 0] + B.data * rows[:, 1] - targets) ** 2)
        assert finite(total) and math.isclose(total, expected, rel_tol=1e-9, abs_tol=1e-12)

    clean(lambda: getattr(REPLAY, method)(X, y), f"batched.{method}", state=state, correct=correct)
    for p in (W, B):
        p.grad = 0.0


@FAST
@given(
    st.sampled_from(
        ["sample_loss", "params", "x_example", "y_example", "penalty", "reduction", "blas_threads"]
    ),
    st.one_of(HOSTILE, st.sampled_from([lambda: math.nan, lambda: "x", lambda: None, lambda: math.inf])),
)
def test_compile_with_one_hostile_argument(which: str, value: Any) -> None:
    arguments: dict[str, Any] = {
        "sample_loss": square_loss,
        "params": [W, B],
        "x_example": [1.0, 2.0],
        "y_example": 0.0,
    }
    keywords: dict[str, Any] = {}
    if which in arguments:
        arguments[which] = value
    else:
        keywords[which] = value

    def correct(replay: batched.BatchedLoss) -> None:
        assert isinstance(replay, batched.BatchedLoss) and finite(
            replay.loss([[1.0] * len(replay.inputs)], [0.0])
        )

    clean(
        lambda: batched.compile(*arguments.values(), **keywords),
        ("batched.compile", "Value", "square_loss", "pow", "mul", "sub", "add"),
        state=lambda: numbers_of([W, B]),
        correct=correct,
    )
