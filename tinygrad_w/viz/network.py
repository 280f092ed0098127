"""Drawing a network the textbook way: units in columns, one edge per weight, and the numbers.

Edges: pen width by ``|w|``, blue for w > 0, orange for w < 0. Units show their bias and its gradient.
Every picture carries its numbers, PNG included: with at most 60 weights each edge is labelled with w
and its gradient; with more, a heat map of each layer's weights and gradients (with colour bars) stands
beside the diagram; with more than ``max_weights``, each layer is one box of statistics. SVG tooltips
add every number in full precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError
from tinygrad_w.viz.colours import COLLAPSED_FILL, grad_colours, weight_colour
from tinygrad_w.viz.dot import check_settings
from tinygrad_w.viz.figure import Edge, Figure, Node
from tinygrad_w.viz.heatmaps import heatmap_panel
from tinygrad_w.viz.networks import (
    ActivationColumn,
    Column,
    NetworkLike,
    NeuronColumn,
    NormColumn,
    read_network,
)
from tinygrad_w.viz.text import format_number, markup, plural, printable, shorten, table

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "EDGE_LABEL_LIMIT",
    "NetworkStyle",
    "columns_figure",
    "draw_network",
    "input_names_for",
    "network_figure",
]

EDGE_LABEL_LIMIT = 60  # networks with at most this many weights get w and ∂w written on every edge


@dataclass(frozen=True)
class NetworkStyle:
    """How a network is drawn. ``largest_weight`` and ``largest_grad`` fix the scales of pen widths and
    of bias-gradient colours (None: the largest in the drawing; an animation fixes them for all frames);
    ``show_grads`` False leaves gradients out (when they were not recorded)."""

    decimals: int = 4
    rankdir: str = "LR"
    edge_labels: bool | None = None  # None: when there are at most EDGE_LABEL_LIMIT weights
    heatmaps: bool | None = None  # None: when edges are not labelled
    max_weights: int = 2000
    largest_weight: float | None = None
    largest_grad: float | None = None
    show_grads: bool = True


@dataclass(frozen=True)
class _Scales:
    """A style made definite for one drawing."""

    style: NetworkStyle
    largest_weight: float  # pen width is relative to it
    largest_grad: float  # bias (and γ, β) gradient colours are relative to it
    edge_labels: bool

    def number(self, x: float) -> str:
        return format_number(x, self.style.decimals)

    def grad_cell(self, name: str, g: float) -> str:
        if not self.style.show_grads:
            return ""
        fill, font = grad_colours(g, self.largest_grad)
        text = f"{markup(name)} {markup(self.number(g))}"
        return f'<tr><td bgcolor="{fill}"><font color="{font}">{text}</font></td></tr>'


def input_names_for(nin: int, names: Sequence[str] | None, where: str) -> list[str]:
    """The inputs' names: ``x0, x1, ...`` (counting from 0, like the weights ``w0, w1, ...``) by default."""
    chosen = [f"x{k}" for k in range(nin)] if names is None else [str(n) for n in names]
    if len(chosen) != nin:
        raise ArgumentError(f"{where}: {len(chosen)} input_names for a model with {nin} inputs")
    return chosen


def draw_network(
    model: NetworkLike,
    *,
    decimals: int = 4,
    rankdir: str = "LR",
    edge_labels: bool | None = None,
    heatmaps: bool | None = None,
    input_names: Sequence[str] | None = None,
    max_weights: int = 2000,
) -> graphviz.Digraph:
    """Draw a network: input units ``x0, x1, ...``, one column of units per layer, one edge per weight.

    ``model`` is an ``nn.MLP`` or ``nn.Sequential``, or anything with the attributes described in
    :mod:`tinygrad_w.viz.networks`. An edge's pen width grows with ``|w|`` (relative to the largest
    weight); its colour is blue for w > 0 and orange for w < 0. Each unit shows its name, activation,
    bias ``b`` and the bias gradient ``∂b`` (coloured like gradients in :func:`draw_graph`). A batch norm
    is a column of units showing γ, β and their gradients; an activation a column naming the function.

    ``edge_labels`` writes w and its gradient ∂w on every edge (default: when there are at most 60
    weights); ``heatmaps`` adds a heat map of each layer's w and ∂w beside the diagram (default: when
    edges are not labelled). With more than ``max_weights`` weights each layer is one box of statistics.
    """
    return network_figure(
        model,
        decimals=decimals,
        rankdir=rankdir,
        edge_labels=edge_labels,
        heatmaps=heatmaps,
        input_names=input_names,
        max_weights=max_weights,
    ).drawing()


def network_figure(
    model: NetworkLike,
    *,
    decimals: int = 4,
    rankdir: str = "LR",
    edge_labels: bool | None = None,
    heatmaps: bool | None = None,
    input_names: Sequence[str] | None = None,
    max_weights: int = 2000,
) -> Figure:
    """draw_network's work, as a :class:`tinygrad_w.viz.figure.Figure`."""
    check_settings("draw_network", decimals, rankdir)
    nin, columns = read_network(model, "draw_network")
    names = input_names_for(nin, input_names, "draw_network")
    return columns_figure(
        nin, columns, names, NetworkStyle(decimals, rankdir, edge_labels, heatmaps, max_weights)
    )


def columns_figure(nin: int, columns: Sequence[Column], names: Sequence[str], style: NetworkStyle) -> Figure:
    """A network, given as its columns (see :func:`tinygrad_w.viz.networks.read_network`), drawn."""
    weights = [w for c in columns if isinstance(c, NeuronColumn) for n in c.neurons for w in n.w]
    settings = [
        f"\tgraph [rankdir={style.rankdir} fontname=Helvetica fontsize=11 nodesep=0.15 ranksep=1.2 labelloc=t"
        " labeljust=l splines=true]",
        "\tnode [fontname=Helvetica fontsize=10 margin=0.04]",
        "\tedge [arrowsize=0.5 fontname=Helvetica]",
    ]
    if len(weights) > style.max_weights:
        return _summary(columns, nin, len(weights), Figure("network", settings), style)
    labelled = len(weights) <= EDGE_LABEL_LIMIT if style.edge_labels is None else bool(style.edge_labels)
    largest_weight = style.largest_weight or max((abs(w.data) for w in weights), default=0.0) or 1.0
    largest_grad = _largest_unit_grad(columns) if style.largest_grad is None else style.largest_grad
    scales = _Scales(style, largest_weight, largest_grad, labelled)
    with_heatmaps = (not labelled) if style.heatmaps is None else bool(style.heatmaps)
    figure = Figure("network", settings, _caption(nin, columns, scales, with_heatmaps))
    previous = [f"in{k}" for k in range(nin)]
    for k, name in enumerate(names):
        label = f"<b>{markup(shorten(printable(name)))}</b>"
        figure.statements.append(Node(previous[k], label, {"shape": "circle", "tooltip": f"input {name}"}))
    _column(figure, "inputs", "inputs", previous)
    previous_names = list(names)
    for position, column in enumerate(columns, start=1):
        previous, previous_names = _draw_column(figure, position, column, previous, previous_names, scales)
    if with_heatmaps:
        _add_heatmaps(figure, columns, len(columns), style)
    return figure


def _largest_unit_grad(columns: Sequence[Column]) -> float:
    """The largest |gradient| of a bias, γ or β: their colours are relative to it."""
    grads = [
        abs(p.grad)
        for column in columns
        for p in (
            [n.b for n in column.neurons]
            if isinstance(column, NeuronColumn)
            else [*column.gamma, *column.beta]
            if isinstance(column, NormColumn)
            else []
        )
    ]
    return max(grads, default=0.0)


def _caption(nin: int, columns: Sequence[Column], scales: _Scales, with_heatmaps: bool) -> str:
    sizes = [
        str(len(c.neurons))
        if isinstance(c, NeuronColumn)
        else "batch norm"
        if isinstance(c, NormColumn)
        else c.name
        for c in columns
    ]
    lines = [f"{plural(nin, 'input')} → " + " → ".join(sizes), "edge width ∝ |w|; blue w > 0, orange w < 0"]
    what = "the weight w and its gradient ∂w (w.grad)" if scales.style.show_grads else "the weight w"
    if scales.edge_labels:
        lines.append(f"edge labels: {what}")
    if with_heatmaps:
        maps = "weights w and gradients ∂w (w.grad)" if scales.style.show_grads else "weights w"
        lines.append(f"right: heat maps of each layer's {maps}, with their scales")
    return "<br/>".join(markup(line) for line in lines)


def _column(figure: Figure, name: str, header: str, units: Sequence[str]) -> None:
    """A header above the units, all in one rank and in this order (invisible edges between neighbours).

    Not a cluster: Graphviz does not keep the order of a rank inside a cluster.
    """
    figure.statements.append(Node(name, f"<b>{markup(header)}</b>", {"shape": "plaintext"}))
    figure.ranks.append([name, *units])


def _draw_column(
    figure: Figure,
    position: int,
    column: Column,
    previous: list[str],
    previous_names: list[str],
    style: _Scales,
) -> tuple[list[str], list[str]]:
    """Draw one column fed by ``previous``; returns its units' node names and display names."""
    if isinstance(column, NeuronColumn):
        return _neuron_column(figure, position, column, previous, previous_names, style)
    width = len(column.gamma) if isinstance(column, NormColumn) else len(previous)
    if width != len(previous):
        raise ArgumentError(
            f"draw_network: layer {position} normalises {width} features but the layer before has "
            f"{len(previous)} units"
        )
    header = "batch norm" if isinstance(column, NormColumn) else column.name
    units = [f"u{position}_{k}" for k in range(width)]
    for k, unit in enumerate(units):
        if isinstance(column, NormColumn):
            gamma, beta = column.gamma[k], column.beta[k]
            rows = (
                f"<tr><td><b>{markup(shorten(printable(column.label)))} {k}</b></td></tr>"
                f"<tr><td>γ {markup(style.number(gamma.data))}</td></tr>{style.grad_cell('∂γ', gamma.grad)}"
                f"<tr><td>β {markup(style.number(beta.data))}</td></tr>{style.grad_cell('∂β', beta.grad)}"
            )
            tooltip = f"{gamma!r}\n{beta!r}"
        else:
            rows, tooltip = (
                f"<tr><td>{markup(column.name)}</td></tr>",
                f"{column.name} of {previous_names[k]}",
            )
        label = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="2">{rows}</table>'
        figure.statements.append(Node(unit, label, {"shape": "box", "style": "rounded", "tooltip": tooltip}))
        figure.statements.append(Edge(previous[k], unit, {"color": "gray60", "tooltip": tooltip}))
    _column(figure, f"layer{position}", f"layer {position} · {header}", units)
    return units, [f"{header} {k}" for k in range(width)]


def _neuron_column(
    figure: Figure,
    position: int,
    column: NeuronColumn,
    previous: list[str],
    previous_names: list[str],
    style: _Scales,
) -> tuple[list[str], list[str]]:
    """A layer of neurons: a unit per neuron (bias and its gradient) and an edge per weight."""
    names = [n.label or f"L{position}.N{j}" for j, n in enumerate(column.neurons)]
    units = [f"n{position}_{j}" for j in range(len(column.neurons))]
    for j, neuron in enumerate(column.neurons):
        rows = (
            f"<tr><td><b>{markup(shorten(printable(names[j])))}</b></td></tr>"
            f"<tr><td>{markup(neuron.activation)}</td></tr>"
            f"<tr><td>b {markup(style.number(neuron.b.data))}</td></tr>{style.grad_cell('∂b', neuron.b.grad)}"
        )
        label = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="2">{rows}</table>'
        tooltip = f"{neuron.b!r}\nactivation {neuron.activation}"
        figure.statements.append(
            Node(units[j], label, {"shape": "box", "style": "rounded", "tooltip": tooltip})
        )
    activations = ", ".join(sorted({n.activation for n in column.neurons}))
    _column(figure, f"layer{position}", f"layer {position} · {activations}", units)
    for j, neuron in enumerate(column.neurons):
        if len(neuron.w) != len(previous):
            raise ArgumentError(
                f"draw_network: neuron {names[j]} has {len(neuron.w)} weights but the layer before has "
                f"{len(previous)} units"
            )
        for k, w in enumerate(neuron.w):
            figure.statements.append(
                _weight_edge(
                    previous[k],
                    units[j],
                    w,
                    style,
                    f"{w.label or f'{names[j]}.w{k}'}: {previous_names[k]} → {names[j]}",
                )
            )
    return units, names


def _weight_edge(tail: str, head: str, w: Value, style: _Scales, title: str) -> Edge:
    colour = weight_colour(w.data)
    attributes = {
        "color": colour,
        "penwidth": f"{0.3 + 3.7 * abs(w.data) / style.largest_weight:.2f}",
        "tooltip": f"{title}\nw = {w.data!r}" + (f"\ngrad = {w.grad!r}" if style.style.show_grads else ""),
    }
    if style.edge_labels:
        label = f"w {style.number(w.data)}" + (
            f"\n∂w {style.number(w.grad)}" if style.style.show_grads else ""
        )
        attributes |= {"label": label, "fontsize": "8", "fontcolor": colour}
    return Edge(tail, head, attributes)


def _add_heatmaps(figure: Figure, columns: Sequence[Column], last: int, style: NetworkStyle) -> None:
    """The heat-map panel, in a column of its own right of the last layer."""
    layers = [
        (
            f"layer {position}: {plural(len(c.neurons), 'neuron')} × {plural(len(c.neurons[0].w), 'input')}",
            [n.label or f"N{j}" for j, n in enumerate(c.neurons)],
            [n.w for n in c.neurons],
        )
        for position, c in enumerate(columns, start=1)
        if isinstance(c, NeuronColumn)
    ]
    panel = heatmap_panel(layers, style.decimals, style.show_grads)
    figure.statements.append(Node("heatmaps", panel, {"shape": "plaintext"}))
    figure.statements.append(Edge(f"layer{last}", "heatmaps", {"style": "invis"}))


def _summary(
    columns: Sequence[Column], nin: int, weight_count: int, figure: Figure, style: NetworkStyle
) -> Figure:
    """One box per layer with weight and gradient statistics, for networks too big to draw weight by weight."""
    figure.caption = markup(
        f"{weight_count:,} weights > max_weights={style.max_weights:,}: one box per layer"
    )
    figure.statements.append(
        Node("in", f"<b>{plural(nin, 'input')}</b>", {"shape": "box", "style": "rounded"})
    )
    previous = "in"
    for position, column in enumerate(columns, start=1):
        if isinstance(column, NormColumn):
            rows = [[f"<b>layer {position}</b>: batch norm over {plural(len(column.gamma), 'feature')}"]]
        elif isinstance(column, ActivationColumn):
            rows = [[f"<b>layer {position}</b>: {markup(column.name)}"]]
        else:
            rows = _layer_statistics(position, column, style)
        box = {"shape": "box3d", "style": "filled", "fillcolor": COLLAPSED_FILL}
        figure.statements += [Node(f"layer{position}", table(rows), box), Edge(previous, f"layer{position}")]
        previous = f"layer{position}"
    return figure


def _layer_statistics(position: int, column: NeuronColumn, style: NetworkStyle) -> list[list[str]]:
    """Rows of a layer's summary box: count, mean, standard deviation, extremes and largest |gradient|."""
    w = [x.data for n in column.neurons for x in n.w]
    mean = math.fsum(w) / len(w)
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in w) / len(w))  # population standard deviation

    def number(x: float) -> str:
        return markup(format_number(x, style.decimals))

    activations = markup(", ".join(sorted({n.activation for n in column.neurons})))
    largest_grad = max(abs(x.grad) for n in column.neurons for x in n.w)
    return [
        [f"<b>layer {position}</b>: {plural(len(column.neurons), 'unit')}, {activations}"],
        [f"{len(w):,} weights: mean {number(mean)}, std {number(std)}"],
        [f"min {number(min(w))}, max {number(max(w))}, negative {sum(1 for x in w if x < 0):,}"],
        [f"largest |grad| {number(largest_grad)}"],
    ]
