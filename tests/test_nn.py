"""Tests of tinygrad_w.nn: the micrograd-compatible model API, labels and names, seeds, fused and unfused
neurons, the symmetry that random initialization breaks, weight statistics and dropout."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import MLP, Value, viz
from tinygrad_w.core.ops import ADD, MUL
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, ShapeError
from tinygrad_w.nn import Dropout, Sequential
from tinygrad_w.nn import initializers as init
from tinygrad_w.nn.fused import LINEAR
from tinygrad_w.nn.layers import ACTIVATIONS, Layer, Module, Neuron, weight_stats
from tinygrad_w.train import data, fit, optim

NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "linear": lambda z: z,
}

activations = st.sampled_from(sorted(ACTIVATIONS))
layer_sizes = st.lists(st.integers(1, 4), min_size=1, max_size=3)


def inputs_for(n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(st.floats(-3, 3, allow_nan=False), min_size=n, max_size=n)


def as_list(out: Value | list[Value]) -> list[Value]:
    return [out] if isinstance(out, Value) else out


def numpy_forward(model: MLP, x: Sequence[float]) -> np.ndarray:
    """The same network with matrices: h = act(W h + b), layer by layer."""
    h = np.array(x, dtype=float)
    for layer in model.layers:
        weights = np.array([[w.data for w in n.w] for n in layer.neurons])
        biases = np.array([n.b.data for n in layer.neurons])
        h = NUMPY_ACTIVATIONS[layer.activation](weights @ h + biases)
    return h


# ----------------------------------------------------------------------------------------------------
# The micrograd-compatible API


def test_micrograd_demo_network() -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert [(layer.nin, layer.nout) for layer in model.layers] == [(2, 16), (16, 16), (16, 1)]
    assert model.nin == 2 and model.nouts == [16, 16, 1]
    assert model.activation == "relu" and model.output_activation == "linear"
    assert len(model.parameters()) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1 == 337
    assert all(-1 <= w.data <= 1 for w in model.weights())  # micrograd: U[-1, 1]
    assert all(b.data == 0.0 for b in model.biases())  # and zero biases
    out = model([1.0, -2.0])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert repr(model) == "MLP(2, [16, 16, 1], activation='relu')"


def test_several_outputs_give_a_list() -> None:
    model = MLP(3, [4, 2], seed=1)
    out = model([1, 2, 3])
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(o, Value) for o in out)
    layer = model.layers[1]
    assert isinstance(layer([0.5] * 4), list) and len(layer([0.5] * 4)) == 2
    one = Layer(2, 1, rng=random.Random(0))
    single = one([1.0, 2.0])  # one neuron: the Value itself, as from micrograd's Layer and our MLP
    assert isinstance(single, Value) and single.data == one.neurons[0]([1.0, 2.0]).data


@given(st.integers(1, 4), layer_sizes, activations, activations, st.integers(0, 2**32), st.data())
def test_forward_matches_a_matrix_computation(
    nin: int, nouts: list[int], activation: str, output_activation: str, seed: int, data: st.DataObject
) -> None:
    model = MLP(nin, nouts, activation, output_activation=output_activation, init="normal", seed=seed)
    x = data.draw(inputs_for(nin))
    got = [o.data for o in as_list(model(x))]
    np.testing.assert_allclose(got, numpy_forward(model, x), rtol=1e-12, atol=1e-12)


def test_activations_by_name() -> None:
    assert set(ACTIVATIONS) == {"relu", "leaky_relu", "tanh", "sigmoid", "softplus", "linear"}
    neuron = Neuron(1, "leaky_relu", init=init.constant(1.0))
    assert neuron([-2.0]).data == pytest.approx(-0.02)  # slope 0.01
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'.*relu"):
        MLP(2, [1], "gelu")
    with pytest.raises(ValueError, match="output: unknown activation 'swish'"):
        MLP(2, [1], output_activation="swish")


# ----------------------------------------------------------------------------------------------------
# Labels and names


def resolve(model: MLP, dotted: str) -> object:
    """Follow a dotted name through attributes and list indices: 'layers.0.neurons.2.w.1'."""
    obj: object = model
    for part in dotted.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)  # type: ignore[index]
    return obj


def test_labels_and_dotted_names() -> None:
    model = MLP(3, [4, 2], seed=0)
    assert model.layers[0].neurons[2].w[1].label == "L1.N2.w1"
    assert model.layers[0].neurons[2].b.label == "L1.N2.b"
    assert model.layers[1].neurons[1].w[3].label == "L2.N1.w3"
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert len({name for name, _ in named}) == len(named) == 4 * 4 + 2 * 5
    assert named[0][0] == "layers.0.neurons.0.w.0"
    assert named[3][0] == "layers.0.neurons.0.b"  # micrograd order: a neuron's weights, then its bias
    for name, p in named:
        assert resolve(model, name) is p
        parts = name.split(".")  # layers.i.neurons.j.w.k or layers.i.neurons.j.b
        suffix = "b" if parts[4] == "b" else f"w{parts[5]}"
        assert p.label == f"L{int(parts[1]) + 1}.N{parts[3]}.{suffix}"
    assert set(model.weights()).isdisjoint(model.biases())
    assert len(model.weights()) + len(model.biases()) == len(model.parameters())
    assert all(name.endswith(".b") for name, p in named if p in set(model.biases()))


def test_numbers_stay_constants_and_values_get_gradients() -> None:
    model = MLP(2, [3, 1], seed=5)
    out = model([0.5, 2])
    assert isinstance(out, Value)
    leaves = [v for v in topological_order(out) if v.op is None]
    assert set(leaves) <= set(model.parameters())  # no Value was made for the inputs
    first_products = [node for node in topological_order(out) if node.op is MUL and 0.5 in node.children]
    assert first_products and all(type(c) is float for node in first_products for c in node.children[1:])
    x = [Value(0.5, "x0"), Value(2.0, "x1")]
    out2 = model(x)
    assert isinstance(out2, Value)
    assert out2.data == out.data
    out2.backward()
    assert any(xi.grad != 0 for xi in x)


def test_bad_inputs() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(tg.ShapeError, match="expected 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expected 2 inputs, got 1"):
        model([1.0])
    with pytest.raises(tg.NonFiniteError, match="nan"):
        model([1.0, math.nan])
    with pytest.raises(tg.OperandTypeError, match="'a'"):
        model([1.0, "a"])  # type: ignore[list-item]
    for not_a_vector in (3.0, "ab", {0: 1.0, 1: 2.0}, {1.0, 2.0}, Value(1.0)):
        with pytest.raises(tg.OperandTypeError, match="input must be a sequence of 2 numbers or Values"):
            model(not_a_vector)  # type: ignore[arg-type]
    with pytest.raises(tg.ShapeError, match=r"MLP: input must be one vector of 2 numbers.*\(2, 2\)"):
        model(np.zeros((2, 2)))  # type: ignore[arg-type]
    assert model(np.array([0.5, 2.0])).data == model([0.5, 2.0]).data  # type: ignore[union-attr]
    with pytest.raises(tg.ShapeError, match=r"Neuron L1\.N0: expected 2 inputs, got 1"):
        model.layers[0].neurons[0]([1.0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, [1]), "MLP: nin must be an integer >= 1 and <= 1,000,000, got 0"),
        ((2, []), "nouts must be a non-empty sequence"),
        ((2, [3, 0]), r"nouts\[1\] must be an integer >= 1 and <= 1,000,000, got 0"),
        ((2, [2.5]), r"nouts\[0\] must be an integer, got float 2.5"),
        ((True, [1]), "nin must be an integer, got bool True"),
        ((2, 3), "nouts must be a non-empty sequence"),
        ((10**400, [1]), r"nin must be an integer >= 1 and <= 1,000,000, got 1000.*\.\.\."),
        ((2, np.zeros((1, 1))), "nouts must be a non-empty sequence"),
    ],
)
def test_bad_architectures(args: tuple[object, object], message: str) -> None:
    with pytest.raises(tg.TinygradError, match=message):
        MLP(*args)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------
# Initialization and seeds


def test_seeds_reproduce_models_without_touching_global_random_state() -> None:
    before = random.getstate()
    a, b, c = MLP(3, [5, 2], seed=42), MLP(3, [5, 2], seed=42), MLP(3, [5, 2], seed=43)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in c.parameters()]
    assert a.seed == 42
    assert random.getstate() == before
    with pytest.raises(TypeError, match="seed must be an int or None"):
        MLP(3, [1], seed=1.5)  # type: ignore[arg-type]


def test_without_a_seed_weights_come_from_the_global_random_module_as_in_micrograd() -> None:
    random.seed(1337)
    expected = [random.uniform(-1, 1) for _ in range(2 * 4 + 4 * 1)]  # micrograd's draws: w only, in order
    random.seed(1337)
    model = MLP(2, [4, 1])
    assert model.seed is None
    assert [w.data for w in model.weights()] == expected
    assert all(b.data == 0.0 for b in model.biases())
    random.seed(1337)
    assert [w.data for w in Layer(2, 4).weights()] == expected[:8]
    random.seed(1337)
    assert [w.data for w in Neuron(2).w] == expected[:2]
    random.seed(1337)
    MLP(2, [4, 1])
    draw_after_the_model = random.random()
    random.seed(1337)
    for _ in expected:
        random.random()
    assert draw_after_the_model == random.random()  # the model took exactly its 12 draws


def test_micrograd_nonlin_flag_names_relu_or_linear() -> None:
    assert Neuron(2, nonlin=True, seed=0).activation == "relu"
    assert Neuron(2, nonlin=False, seed=0).activation == "linear"
    assert Layer(2, 3, nonlin=False, seed=0).activation == "linear"
    assert [n.activation for n in Layer(2, 3, nonlin=False, seed=0).neurons] == ["linear"] * 3
    assert Neuron(2, seed=0).activation == Layer(2, 1, seed=0).activation == "relu"
    with pytest.raises(ValueError, match=r"Neuron: give activation or nonlin, not both"):
        Neuron(2, "tanh", nonlin=True, seed=0)
    with pytest.raises(TypeError, match=r"Layer: nonlin must be True or False, got int 1"):
        Layer(2, 3, nonlin=1, seed=0)  # type: ignore[arg-type]


def test_initializers_by_name_and_object() -> None:
    model = MLP(50, [40, 10], init="he_uniform", bias_init=init.constant(0.1), seed=0)
    for layer in model.layers:
        a = math.sqrt(6 / layer.nin)
        assert all(abs(w.data) <= a for w in layer.weights())
        assert max(abs(w.data) for w in layer.weights()) > 0.9 * a
    assert all(b.data == 0.1 for b in model.biases())
    xavier = MLP(50, [40], init=init.xavier_normal(), seed=0)
    std = float(np.std([w.data for w in xavier.weights()]))
    assert abs(std / math.sqrt(2 / 90) - 1) < 0.05
    with pytest.raises(ValueError, match="unknown initializer"):
        MLP(2, [1], init="glorot")


def train_a_few_steps(model: MLP, steps: int = 5, lr: float = 0.1) -> None:
    """Plain SGD on a tiny regression problem: p.data -= lr * p.grad."""
    data = [([1.0, -0.5, 2.0], 1.0), ([-1.5, 0.3, 0.2], -1.0), ([0.7, 0.8, -1.1], 0.5)]
    for _ in range(steps):
        model.zero_grad()
        loss = sum(((model(x) - y) ** 2 for x, y in data), Value(0.0))  # type: ignore[operator]
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad


def hidden_units_identical(layer: Layer) -> bool:
    first = layer.neurons[0]
    return all(
        [w.data for w in n.w] == [w.data for w in first.w] and n.b.data == first.b.data for n in layer.neurons
    )


@pytest.mark.parametrize("weight_init", [init.constant(0.3), init.zeros()])
def test_constant_init_keeps_hidden_units_identical_through_training(weight_init: init.Initializer) -> None:
    model = MLP(3, [4, 4, 1], "tanh", init=weight_init, seed=0)
    before = [p.data for p in model.parameters()]
    train_a_few_steps(model)
    assert [p.data for p in model.parameters()] != before  # training did change the weights
    for layer in model.layers[:-1]:
        assert hidden_units_identical(layer)  # but every hidden unit still computes the same thing


def test_random_init_breaks_the_symmetry() -> None:
    model = MLP(3, [4, 4, 1], "tanh", init="xavier_uniform", seed=0)
    train_a_few_steps(model)
    for layer in model.layers[:-1]:
        assert not hidden_units_identical(layer)
        rows = {tuple(w.data for w in n.w) for n in layer.neurons}
        assert len(rows) == layer.nout  # every unit is different


# ----------------------------------------------------------------------------------------------------
# Fused and unfused neurons


def test_unfused_neuron_is_a_chain_from_the_bias_and_fused_is_one_node() -> None:
    neuron = Neuron(3, "linear", rng=random.Random(0))
    out = neuron([1.0, 2.0, 3.0])
    ops = [node.op for node in topological_order(out) if node.op is not None]
    assert ops.count(MUL) == 3 and ops.count(ADD) == 3 and len(ops) == 6
    node = out
    while node.op is ADD and isinstance(node.children[0], Value) and node.children[0].op is ADD:
        node = node.children[0]
    assert node.children[0] is neuron.b  # the chain starts from b: b + w0*x0
    fused = Neuron(3, "tanh", rng=random.Random(0), fused=True)
    fused_out = fused([1.0, 2.0, 3.0])
    assert fused_out.children[0].op is LINEAR  # type: ignore[union-attr]
    assert [n.op for n in topological_order(fused_out) if n.op is not None] == [LINEAR, fused_out.op]


@given(st.integers(1, 4), layer_sizes, activations, activations, st.integers(0, 2**32), st.data())
def test_fused_and_unfused_models_agree_on_outputs_and_gradients(
    nin: int, nouts: list[int], activation: str, output_activation: str, seed: int, data: st.DataObject
) -> None:
    kwargs = {"output_activation": output_activation, "init": "normal", "bias_init": "normal", "seed": seed}
    plain = MLP(nin, nouts, activation, fused=False, **kwargs)  # type: ignore[arg-type]
    fused = MLP(nin, nouts, activation, fused=True, **kwargs)  # type: ignore[arg-type]
    x = data.draw(inputs_for(nin))
    xs_plain, xs_fused = [Value(v) for v in x], [Value(v) for v in x]
    outs_plain, outs_fused = as_list(plain(xs_plain)), as_list(fused(xs_fused))
    for a, b in zip(outs_plain, outs_fused):
        assert abs(a.data - b.data) <= 1e-12 * max(1.0, abs(a.data))
    total_plain = sum(outs_plain[1:], outs_plain[0])
    total_fused = sum(outs_fused[1:], outs_fused[0])
    total_plain.backward()
    total_fused.backward()
    for p, q in zip([*plain.parameters(), *xs_plain], [*fused.parameters(), *xs_fused]):
        assert abs(p.grad - q.grad) <= 1e-12 * max(1.0, abs(p.grad))


@settings(max_examples=50)
@given(st.integers(0, 2**32))
def test_model_gradients_match_central_differences(seed: int) -> None:
    model = MLP(2, [3, 2], "tanh", output_activation="sigmoid", init="normal", bias_init="normal", seed=seed)
    x = [0.4, -1.3]

    def loss() -> Value:
        a, b = as_list(model(x))
        return a * a + b

    loss().backward()
    h = 1e-6
    for p in model.parameters():
        saved = p.data
        p.data = saved + h
        up = loss().data
        p.data = saved - h
        down = loss().data
        p.data = saved
        assert abs(p.grad - (up - down) / (2 * h)) <= 1e-6 + 1e-4 * abs(p.grad)


# ----------------------------------------------------------------------------------------------------
# Weight statistics


def numpy_stats(xs: Sequence[float]) -> dict[str, float]:
    a = np.array(xs, dtype=float)
    return {
        "count": a.size,
        "sum": a.sum(),
        "abs_sum": np.abs(a).sum(),
        "sq_sum": (a**2).sum(),
        "mean": a.mean(),
        "std": a.std(),  # population std (ddof=0)
        "min": a.min(),
        "max": a.max(),
        "negative": int((a < 0).sum()),
        "positive": int((a > 0).sum()),
        "zero": int((a == 0).sum()),
    }


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False) | st.just(0.0), min_size=1, max_size=60))
def test_weight_stats_match_numpy(xs: list[float]) -> None:
    stats = weight_stats([Value(x) for x in xs])
    expected = numpy_stats(xs)
    assert set(stats) == set(expected)
    scale = max(1.0, max(abs(x) for x in xs)) * len(xs)
    for key, value in expected.items():
        if key in ("count", "negative", "positive", "zero", "min", "max"):
            assert stats[key] == value, key  # type: ignore[literal-required]
        elif key in ("sq_sum",):
            assert stats[key] == pytest.approx(value, rel=1e-12, abs=1e-12 * scale * scale)
        else:
            assert stats[key] == pytest.approx(value, rel=1e-9, abs=1e-12 * scale), key  # type: ignore[literal-required]


def test_model_weight_stats_are_per_layer_over_weights_only() -> None:
    model = MLP(3, [4, 2], init="normal", bias_init=init.constant(100.0), seed=3)
    model.layers[0].neurons[0].w[0].data = 0.0
    stats = model.weight_stats()
    assert [s["count"] for s in stats["layers"]] == [12, 8]
    assert stats["total"] == weight_stats(model.weights())
    assert stats["layers"][0] == weight_stats(model.layers[0].weights())
    assert stats["total"]["max"] < 100.0  # the biases (100) are not included
    assert stats["total"]["zero"] == 1
    expected = numpy_stats([w.data for w in model.weights()])
    assert stats["total"]["std"] == pytest.approx(expected["std"], rel=1e-12)
    assert stats["total"]["negative"] + stats["total"]["positive"] + stats["total"]["zero"] == 20


def test_weight_stats_of_nothing_and_of_plain_numbers() -> None:
    empty = weight_stats([])
    assert empty["count"] == 0 and empty["sum"] == 0.0
    assert all(math.isnan(empty[k]) for k in ("mean", "std", "min", "max"))  # type: ignore[literal-required]
    assert weight_stats([1.0, -3.0])["abs_sum"] == 4.0


def test_module_base_and_repr() -> None:
    assert isinstance(MLP(1, [1], seed=0), Module)
    with pytest.raises(NotImplementedError):
        Module().parameters()
    assert repr(Neuron(3, "tanh", rng=random.Random(0))) == "Neuron(3, activation='tanh')"
    assert repr(Layer(3, 2, "relu", rng=random.Random(0))) == "Layer(3, 2, activation='relu')"
    assert (
        repr(MLP(2, [1], "tanh", output_activation="sigmoid", fused=True, seed=0))
        == "MLP(2, [1], activation='tanh', output_activation='sigmoid', fused=True)"
    )


def test_neurons_and_layers_on_their_own_follow_micrograd_defaults_and_take_seeds() -> None:
    neuron = Neuron(2, seed=3)
    assert neuron.activation == "relu"  # micrograd's Neuron(nin) is a ReLU neuron
    assert [w.data for w in neuron.w] == [w.data for w in Neuron(2, seed=3).w]
    assert all(-1 <= w.data <= 1 for w in neuron.w) and neuron.b.data == 0.0
    assert [w.label for w in neuron.w] == ["N0.w0", "N0.w1"] and neuron.b.label == "N0.b"
    layer = Layer(2, 3, seed=4, index=2)
    assert layer.activation == "relu" and layer.neurons[1].b.label == "L2.N1.b"
    assert [p.data for p in layer.parameters()] == [p.data for p in Layer(2, 3, seed=4).parameters()]
    with pytest.raises(ValueError, match="give seed or rng, not both"):
        Layer(2, 3, seed=1, rng=random.Random(1))
    with pytest.raises(TypeError, match=r"rng must be a random\.Random"):
        Neuron(2, rng=5)  # type: ignore[arg-type]
    neuron.activation = "tanh"  # the activation is looked up when the neuron runs
    assert neuron([0.5, 0.5]).op is tg.core.ops.TANH


def test_weight_stats_of_a_diverged_model_come_out_non_finite_instead_of_raising() -> None:
    stats = weight_stats([1e308, 1e308, -1.0])
    assert stats["sum"] == math.inf and stats["max"] == 1e308 and stats["negative"] == 1
    assert math.isnan(weight_stats([math.inf, -math.inf])["sum"])


def test_weight_stats_refuses_what_is_not_a_real_number_by_name_and_index() -> None:
    for values, error, message in (
        (["a"], OperandTypeError, r"weight_stats: values\[0\] must be a Value or a real number, got str 'a'"),
        ([1.0, True], OperandTypeError, r"values\[1\] .* got bool True"),
        ([1.0, 10**400], NonFiniteError, r"weight_stats: values\[1\] = 1000.* is too large for a float"),
        ("ab", OperandTypeError, "weight_stats: values must be a sequence"),
        (None, OperandTypeError, "weight_stats: values must be a sequence"),
        ({1.0: 2.0}, OperandTypeError, "weight_stats: values must be a sequence"),
    ):
        with pytest.raises(error, match=message):
            weight_stats(values)  # type: ignore[arg-type]
    broken = Value(1.0)
    broken.data = "abc"  # type: ignore[assignment]
    with pytest.raises(OperandTypeError, match=r"weight_stats: values\[0\] .* Value"):
        weight_stats([broken])


def test_weight_stats_of_numpy_scalars_equal_those_of_floats() -> None:
    numbers = [np.float32(1.5), np.int64(-2), np.float64(0.25), np.uint8(3)]
    assert weight_stats(numbers) == weight_stats([1.5, -2.0, 0.25, 3.0])  # type: ignore[arg-type]
    assert weight_stats(np.array([1.0, -1.0]))["std"] == 1.0  # type: ignore[arg-type]


def test_weight_stats_with_a_nan_say_nan_whatever_the_order() -> None:
    for order in ([math.nan, 1.0, -2.0], [1.0, math.nan, -2.0], [1.0, -2.0, math.nan]):
        values = [Value(0.0) for _ in order]
        for v, x in zip(values, order):
            v.data = x  # a diverged weight
        stats = weight_stats(values)
        assert all(math.isnan(stats[k]) for k in ("sum", "mean", "std", "min", "max"))  # type: ignore[literal-required]
        assert (stats["count"], stats["negative"], stats["positive"], stats["zero"]) == (3, 1, 1, 0)


def test_labels_must_be_text_and_layer_indices_counts() -> None:
    for label in (None, 5, b"N", Value(1.0)):
        with pytest.raises(OperandTypeError, match=r"Neuron: label must be a str, got"):
            Neuron(2, label=label, seed=0)  # type: ignore[arg-type]
    for index in (None, "1", 1.5, True):
        with pytest.raises(OperandTypeError, match=r"Layer: index must be an integer, got"):
            Layer(2, 1, index=index, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"Layer: index must be an integer >= 0, got -1"):
        Layer(2, 1, index=-1, seed=0)
    for fused in ("no", 1, None):
        with pytest.raises(OperandTypeError, match=r"fused must be True or False"):
            MLP(2, [1], fused=fused, seed=0)  # type: ignore[arg-type]
    assert Neuron(1, label="out", seed=0).b.label == "out.b"
    assert Layer(1, 1, index=np.int64(3), seed=0).neurons[0].b.label == "L3.N0.b"  # type: ignore[arg-type]


def test_calls_with_bad_vectors_name_the_module_and_overflows_name_it_too() -> None:
    neuron, layer = Neuron(2, "linear", seed=0), Layer(2, 2, seed=0)
    for call, where in ((neuron, "Neuron N0"), (layer, "Layer 1")):
        with pytest.raises(OperandTypeError, match=f"{where}: input must be a sequence of 2"):
            call(5)  # type: ignore[arg-type]
        with pytest.raises(ShapeError, match=f"{where}: expected 2 inputs, got 0"):
            call([])
        with pytest.raises(ShapeError, match=f"{where}: input must be one vector"):
            call(np.array(2.0))  # type: ignore[arg-type]
    neuron.w[0].data = 1e300
    with pytest.raises(tg.OperationOverflowError, match=r"^Neuron N0: .*mul"):
        neuron([1e300, 0.0])


def test_sizes_may_be_numpy_integers() -> None:
    model = MLP(np.int64(2), np.array([3, 1]), seed=0)  # type: ignore[arg-type]
    assert model.nin == 2 and model.nouts == [3, 1] and type(model.nouts[0]) is int


# ----------------------------------------------------------------------------------------------------
# Dropout


def test_dropout_in_training_zeroes_or_scales_each_unit_and_passes_gradients_only_through_kept_ones() -> None:
    drop = Dropout(0.25, seed=0)
    x = [Value(float(j + 1)) for j in range(200)]
    out = drop(x)
    kept = [m != 0.0 for m in drop.last_mask]
    assert all(m in (0.0, 1.0 / 0.75) for m in drop.last_mask)
    assert [yj.data for yj in out] == [xj.data * mj for xj, mj in zip(x, drop.last_mask)]
    assert 0.65 < sum(kept) / len(kept) < 0.85  # about 1 - p of 200 units kept
    sum(out, Value(0.0)).backward()
    assert [xj.grad for xj in x] == drop.last_mask  # ∂(m·x)/∂x = m: nothing flows back through a dropped unit


def test_dropout_keeps_the_mean_in_expectation_and_is_the_identity_in_eval_mode() -> None:
    drop = Dropout(0.5, seed=1)
    outputs = [y.data for _ in range(200) for y in drop([1.0] * 50)]
    assert statistics.fmean(outputs) == pytest.approx(1.0, abs=0.02)  # E[m·x] = x (10,000 draws)
    drop.eval()
    x = [Value(0.3), Value(-2.0)]
    assert drop(x) == x  # the same Values: no node added
    assert [v.data for v in drop([1.5, 2])] == [1.5, 2.0]
    assert repr(drop) == "Dropout(p=0.5, mode='eval')" and drop.parameters() == []


def test_dropout_is_reproducible_from_a_seed_and_from_the_global_random_module() -> None:
    first, second = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    assert first.mask(30) == second.mask(30)
    random.seed(3)
    from_global = Dropout(0.5).mask(30)
    random.seed(3)
    assert Dropout(0.5).mask(30) == from_global
    assert Dropout(0.0, seed=0).mask(5) == [1.0] * 5 and Dropout(1.0, seed=0).mask(5) == [0.0] * 5


def test_dropout_rejects_bad_settings_and_inputs_with_typed_errors() -> None:
    with pytest.raises(ArgumentError, match=r"Dropout: p must be in \[0, 1\], got 1.5"):
        Dropout(1.5)
    with pytest.raises(ArgumentError, match=r"got -0\.1"):
        Dropout(-0.1)
    with pytest.raises(NonFiniteError, match="Dropout: p must be finite"):
        Dropout(math.nan)
    with pytest.raises(OperandTypeError, match="Dropout: p must be a real number, got str"):
        Dropout("0.5")  # type: ignore[arg-type]
    with pytest.raises(OperandTypeError, match="Dropout: p must be a real number, got bool"):
        Dropout(True)
    with pytest.raises(OperandTypeError, match=r"Dropout\.train"):
        Dropout(0.5).train("no")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="Dropout: give seed or rng, not both"):
        Dropout(0.5, seed=1, rng=random.Random(1))
    drop = Dropout(0.5, seed=0)
    with pytest.raises(ShapeError, match="Dropout: expected a list of units"):
        drop(Value(1.0))  # type: ignore[arg-type]
    with pytest.raises(NonFiniteError):
        drop([1.0, math.inf])
    assert drop.last_mask == []  # nothing drawn by a call that failed


def test_dropout_inside_a_sequential_trains_and_switches_mode_with_the_model() -> None:
    rng = random.Random(0)
    model = Sequential(
        Layer(2, 8, "relu", rng=rng, index=1), Dropout(0.5, seed=0), Layer(8, 1, "linear", rng=rng, index=2)
    )
    X, y = data.moons(16, seed=0)
    history = fit(
        model, X, y, loss="hinge", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3, progress=False
    )
    assert len(history.loss) == 3
    model.eval()
    assert model.layers[1].training is False
    assert [s.data for s in model(X[:4])] == [s.data for s in model(X[:4])]  # no randomness left


def test_a_network_with_dropout_can_be_drawn() -> None:
    rng = random.Random(0)
    model = Sequential(
        Layer(2, 3, "relu", rng=rng, index=1), Dropout(0.25, seed=0), Layer(3, 1, "linear", rng=rng, index=2)
    )
    source = viz.draw_network(model).source
    assert "dropout(p=0.25)" in source
    assert all(n.label in source for layer in (model.layers[0], model.layers[2]) for n in layer.neurons)
