"""Tests of network drawings: one edge per weight with its numbers, heat maps for bigger networks, batch
norm columns, the protocol viz reads networks through (any object with the right attributes, not only
tinygrad_w.nn's), and neuron boxes in expression graphs found from the network, not from labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_viz import fixed_mlp, mlp_loss, svg_of, svg_texts, svg_tooltips

from tinygrad_w import Value, viz
from tinygrad_w.core.ops import Op
from tinygrad_w.nn.layers import MLP
from tinygrad_w.train.losses import mse
from tinygrad_w.viz.colours import NEGATIVE, POSITIVE, ZERO, diverging
from tinygrad_w.viz.text import format_number


def weights_of(model: MLP) -> list[Value]:
    return [w for layer in model.layers for n in layer.neurons for w in n.w]


def test_network_svg_shows_every_weight_and_gradient(dot_binary: str, tmp_path: Path) -> None:
    model = MLP(3, [4, 2], seed=2)
    outputs = model([0.1, -0.2, 0.3])
    assert isinstance(outputs, list)
    (outputs[0] - outputs[1]).backward()
    root = svg_of(viz.draw_network(model, edge_labels=True), tmp_path)
    texts, tooltips = svg_texts(root), "\n".join(svg_tooltips(root))
    for layer in model.layers:
        for neuron in layer.neurons:
            assert f"b {format_number(neuron.b.data)}" in texts
            assert f"∂b {format_number(neuron.b.grad)}" in texts
            for w in neuron.w:
                assert f"{w.label}: " in tooltips
                assert f"w = {w.data!r}\ngrad = {w.grad!r}" in tooltips
                assert f"w {format_number(w.data)}\n∂w {format_number(w.grad)}" in texts


def test_network_edges_have_one_per_weight_width_by_size_and_colour_by_sign() -> None:
    model = fixed_mlp()
    source = viz.draw_network(model).source
    edges = re.findall(r'^\t(\w+) -> (\w+) \[color="(#\w+)" penwidth="([\d.]+)"', source, re.MULTILINE)
    weights = weights_of(model)
    assert len(edges) == len(weights)
    for (_, _, colour, width), w in zip(edges, weights):
        assert colour == (POSITIVE if w.data > 0 else NEGATIVE if w.data < 0 else ZERO)
        assert float(width) == pytest.approx(0.3 + 3.7 * abs(w.data) / 2.0, abs=0.006)


def test_small_networks_label_every_edge_and_bigger_ones_get_heat_maps_instead() -> None:
    small = MLP(2, [4, 4, 1], seed=0)  # 8 + 16 + 4 = 28 weights
    big = MLP(2, [8, 8, 1], seed=0)  # 16 + 64 + 8 = 88 weights
    small_source, big_source = viz.draw_network(small).source, viz.draw_network(big).source
    assert small_source.count('label="w ') == 28 and "heatmaps" not in small_source
    assert 'label="w ' not in big_source and "\theatmaps [" in big_source
    for source in (small_source, big_source):
        assert "hover" not in source  # a PNG cannot hover: the numbers are in the picture
    edge_labels_forced = viz.draw_network(big, edge_labels=True, heatmaps=False).source
    assert edge_labels_forced.count('label="w ') == 88 and "heatmaps" not in edge_labels_forced


def test_heat_maps_colour_every_weight_and_gradient_on_a_scale_they_print(
    dot_binary: str, tmp_path: Path
) -> None:
    model = MLP(2, [8, 8, 1], seed=3)
    mlp_loss(model, 4)
    source = viz.draw_network(model).source
    panel = next(line for line in source.splitlines() if line.startswith("\theatmaps ["))
    cells = re.findall(r'<td width="11" height="11" fixedsize="true" bgcolor="(#[0-9a-f]{6})"></td>', panel)
    expected = []
    for layer in model.layers:  # per layer: the w map, then the ∂w map, each neuron a row
        for attribute in ("data", "grad"):
            grid = [[getattr(w, attribute) for w in n.w] for n in layer.neurons]
            largest = max(abs(x) for row in grid for x in row)
            expected += [diverging(x, largest) for row in grid for x in row]
    assert cells == expected
    texts = svg_texts(svg_of(viz.draw_network(model), tmp_path))
    for layer in model.layers:
        largest_w = max(abs(w.data) for w in layer.weights())
        assert (
            format_number(largest_w) in texts and format_number(-largest_w) in texts
        )  # the colour bar's ends
    assert "layer 3: 1 neuron × 8 inputs" in texts


def test_the_diverging_scale_runs_from_orange_through_white_to_blue() -> None:
    assert diverging(0.0, 2.0) == "#ffffff"
    assert diverging(2.0, 2.0) == "#08519c" and diverging(-2.0, 2.0) == "#a63603"
    assert diverging(5.0, 2.0) == diverging(2.0, 2.0)  # capped at the ends
    half = diverging(1.0, 2.0)
    assert half not in ("#ffffff", "#08519c") and int(half[1:3], 16) > 8  # between white and dark blue


def test_inputs_are_named_from_x0_like_the_weights_from_w0() -> None:
    source = viz.draw_network(fixed_mlp()).source
    assert "in0 [label=<<b>x0</b>>" in source and "in1 [label=<<b>x1</b>>" in source
    assert "x2" not in source
    assert "L1.N0.w0: x0 → L1.N0" in source  # weight k joins input k


def test_a_sequential_with_batch_norm_draws_gamma_beta_and_activation_columns(
    dot_binary: str, tmp_path: Path
) -> None:
    from tinygrad_w.nn.batchnorm import Activation, BatchNorm1d, Sequential
    from tinygrad_w.nn.layers import Layer

    model = Sequential(
        Layer(2, 3, "linear", seed=1),
        BatchNorm1d(3),
        Activation("relu"),
        Layer(3, 1, "linear", seed=2, index=2),
    )
    outputs = model([[0.5, -1.0], [1.5, 0.25], [-0.5, 0.75]])
    loss = mse(outputs, [1.0, -1.0, 0.5])
    loss.backward()
    source = viz.draw_network(model).source
    assert (
        len(re.findall(r'^\t\w+ -> \w+ \[color="(?:#\w+)" penwidth', source, re.MULTILINE)) == 2 * 3 + 3 * 1
    )
    assert len(re.findall(r'^\t\w+ -> u\d_\d \[color="gray60"', source, re.MULTILINE)) == 3 + 3  # one to one
    texts = svg_texts(svg_of(viz.draw_network(model), tmp_path))
    bn = model.layers[1]
    for gamma, beta in zip(bn.gamma, bn.beta):
        assert f"γ {format_number(gamma.data)}" in texts and f"∂γ {format_number(gamma.grad)}" in texts
        assert f"β {format_number(beta.data)}" in texts and f"∂β {format_number(beta.grad)}" in texts
    assert "layer 3 · relu" in texts and "layer 2 · batch norm" in texts
    summary = viz.draw_network(model, max_weights=3).source
    assert "batch norm over 3 features" in summary and ": relu" in summary


def test_a_network_too_big_to_draw_weight_by_weight_is_drawn_layer_by_layer() -> None:
    model = MLP(20, [30, 10], seed=0)
    source = viz.draw_network(model, max_weights=100).source
    assert "900 weights &gt; max_weights=100" in source
    assert source.count('shape="box3d"') == 2
    first = [w.data for w in model.layers[0].weights()]
    assert f"min {format_number(min(first))}, max {format_number(max(first))}" in source


# ----------------------------------------------------------------------------------------------------
# The protocol: viz reads any network with the right attributes, and never parses labels


@dataclass
class PlainNeuron:
    """A neuron that is not tinygrad_w.nn's: w, b, activation and label are all viz needs."""

    w: list[Value]
    b: Value
    activation: str
    label: str = ""

    def __call__(self, x: list[Value]) -> Value:
        total = self.b
        for wk, xk in zip(self.w, x):
            total = total + wk * xk
        return CUBE(total) if self.activation == "cube" else total


@dataclass
class PlainLayer:
    neurons: list[PlainNeuron]


@dataclass
class PlainNetwork:
    nin: int
    layers: list[PlainLayer] = field(default_factory=list)


# A custom op that is a neuron's nonlinearity: drawings learn that from the op's own fact, activation=True.
CUBE = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * x * x,), activation=True)


def plain_network() -> PlainNetwork:
    """Two layers of neurons whose parameters have arbitrary labels (no L1.N0.w0 pattern anywhere)."""
    first = [
        PlainNeuron(
            [Value(0.3 * (j + 1), f"a{j}"), Value(-0.2, f"b{j}")], Value(0.1, f"c{j}"), "cube", f"hidden {j}"
        )
        for j in range(3)
    ]
    second = [
        PlainNeuron([Value(0.5, "p"), Value(-0.4, "q"), Value(0.25, "r")], Value(0.0, "s"), "linear", "out")
    ]
    return PlainNetwork(2, [PlainLayer(first), PlainLayer(second)])


def test_any_object_with_the_protocol_attributes_is_drawn_as_a_network() -> None:
    network = plain_network()
    source = viz.draw_network(network).source
    assert source.count('label="w ') == 2 * 3 + 3 * 1
    for name in ("hidden 0", "hidden 2", "out"):
        assert f"<b>{name}</b>" in source
    assert "layer 1 · cube" in source and "layer 2 · linear" in source


def test_neuron_boxes_come_from_the_network_and_activations_from_the_op() -> None:
    network = plain_network()
    x = [Value(0.5), Value(-1.0)]
    hidden = [neuron(x) for neuron in network.layers[0].neurons]
    out = network.layers[1].neurons[0](hidden)
    out.backward()
    source = viz.draw_graph(out, collapse="neurons", network=network).source
    titles = re.findall(r"<b>neuron ([^<]+)</b>", source)
    assert sorted(titles) == ["hidden 0", "hidden 1", "hidden 2", "out"]
    assert source.count("<td>activation cube</td>") == 3  # CUBE says activation=True
    assert source.count("<td>activation linear</td>") == 1
    assert "a0</b>" not in source  # parameters are listed inside the boxes, not drawn


def test_layer_boxes_say_neuron_for_one_and_keep_the_networks_order() -> None:
    model = MLP(2, [8, 1], seed=0)
    loss = mlp_loss(model, 3)
    source = viz.draw_graph(loss, collapse="layers", network=model).source
    assert source.count("<b>layer 2 (1 neuron)</b>") == 3 and "1 neurons" not in source
    assert source.count("<b>layer 1 (8 neurons)</b>") == 3
    tooltip = next(line for line in source.splitlines() if "layer 1 (8 neurons)</b>" in line).split(
        "tooltip=", 1
    )[1]
    listed = re.findall(r"label='(L1\.N\d\.(?:w\d|b))'", tooltip)
    network_order = [p.label for p in model.layers[0].parameters()]
    assert listed == network_order[: len(listed)] and len(listed) == 12  # N0.w0, N0.w1, N0.b, N1.w0, ...


def test_neuron_boxes_of_one_pass_are_drawn_in_the_neurons_order() -> None:
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    out = model([0.5, -0.25])
    assert isinstance(out, Value)
    out.backward()
    source = viz.draw_graph(out, collapse="neurons", network=model).source
    title = dict(re.findall(r"^\t(g\d+) \[label=<.*?<b>neuron (L\d\.N\d)</b>", source, re.MULTILINE))
    columns = [line.split("; ") for line in re.findall(r"^\t\{rank=same; (.*)\}$", source, re.MULTILINE)]
    kept = [[title[g] for g in names] for names in columns]
    assert kept == [[f"L1.N{j}" for j in range(8)], [f"L2.N{j}" for j in range(8)]]
    assert re.search(r"^\tg\d+ -> g\d+ -> g\d+ .*\[style=invis\]$", source, re.MULTILINE)  # the order is held
