"""Drawings with Graphviz: expression graphs, network diagrams, and writing them to files.

- :func:`draw_graph` draws the graph behind a Value: a box per Value (label, data, grad), an ellipse per
  operation, one edge per use of an input (``a * a`` draws two), constants as small grey ellipses.
  Gradients colour the boxes: blue for positive, orange for negative, darker for larger ``|grad|``.
  Big graphs are collapsed (neuron by neuron, then layer by layer, then a long sum after its first two
  terms, then by depth) so that they still lay out in a few seconds, and the picture says what was
  collapsed and how many values each box hides.
- :func:`draw_network` draws an MLP the textbook way: units in columns, one edge per weight, pen width
  by ``|w|``, colour by the sign of ``w``, every weight and gradient in the edge's tooltip.
- :func:`render` writes a drawing as SVG, PNG, PDF or DOT, chosen by the file's suffix. Without
  Graphviz's ``dot`` program it writes the DOT source instead and warns, rather than failing.

Node names in the DOT source come from the topological order of the graph (``v0``, ``v1``, ...), never
from ``id()`` or hashing, so the same graph gives the same DOT text in every process.

:mod:`tinygrad_w.stepper` uses these drawings to show backpropagation one node at a time.

The ``graphviz`` package is imported inside the functions that need it, so ``import tinygrad_w`` works
without it. Drawings are ``graphviz.Digraph`` objects; in Jupyter they display inline as SVG, and show
their DOT source instead of a traceback when ``dot`` is not installed.
"""

from __future__ import annotations

import functools
import html
import math
import os
import re
import shutil
import subprocess
import textwrap
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tinygrad_w.atomic import write_bytes_atomically
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError, OperandTypeError, RenderError
from tinygrad_w.nn.layers import weight_stats

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "DEFAULT_MAX_NODES",
    "GraphvizMissingWarning",
    "RenderError",
    "draw_graph",
    "draw_network",
    "render",
]

# About 400 Graphviz nodes lay out in well under a second; layout time grows roughly with the square of
# the node count (10,000 nodes take about 45 s), so bigger graphs are collapsed.
DEFAULT_MAX_NODES = 400

# Parameter labels written by tinygrad_w.nn: L{layer}.N{neuron}.w{k} and L{layer}.N{neuron}.b.
_PARAMETER_LABEL = re.compile(r"L(\d+)\.N(\d+)\.(?:w\d+|b)")
# Ops a neuron applies to its weighted sum (the last node of a neuron).
_ACTIVATION_OPS = frozenset({"relu", "leaky_relu", "tanh", "sigmoid", "softplus"})
_RANKDIRS = ("LR", "RL", "TB", "BT")
_COLLAPSE_MODES = ("auto", "none", "neurons", "layers", "depth")
_FORMATS = ("svg", "png", "pdf", "dot", "gv")
_MAX_LEVELS_PER_END = 12  # a collapsed deep graph shows this many levels at each end, at most
_LEFT_BREAK = '<br align="left"/>'  # ends a left-aligned line of an HTML-like label
_BACKSLASH = "\u29f5"  # ⧵, shown in place of a backslash
_EDGES_PER_NODE = 10  # a drawing may have 10 edges per allowed node (dot takes ~1 s for 4,000 edges)
_LISTED_PARAMETERS = 12  # a box's tooltip lists this many of its parameters in full
_MAX_QUOTED_CHARS = 2000  # longer tooltips are cut (escaping may grow them up to 5×)
_MAX_LABEL_CHARS = 40  # longer labels are shortened on the picture; the tooltip keeps them whole

# Gradient colours, from light (small |grad|) to dark (the largest |grad| in the drawing).
_BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")  # grad > 0
_ORANGES = ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")  # grad < 0
_SHADE_STEPS = (0.01, 0.05, 0.2, 0.5)  # |grad| / largest |grad| where the next darker shade starts
_POSITIVE_WEIGHT = "#2b6cb0"
_NEGATIVE_WEIGHT = "#dd6b20"
_COLLAPSED_FILL = "#fff7bc"
_HIGHLIGHT = "#d62728"


class GraphvizMissingWarning(UserWarning):
    """Graphviz's ``dot`` program is not installed, so a drawing was saved as DOT source instead."""


_INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "Windows: winget install graphviz)"
)


# ----------------------------------------------------------------------------------------------------
# Text: numbers, HTML-like labels and quoted DOT strings


def _format_number(x: float, decimals: int) -> str:
    """``decimals`` digits after the point; scientific notation when that would hide the number."""
    x = x + 0.0  # -0.0 -> 0.0
    if x != 0.0 and (abs(x) >= 1e6 or abs(x) < 0.5 * 10.0**-decimals):
        return f"{x:.{decimals}e}"
    return f"{x:.{decimals}f}"


def _printable(text: str) -> str:
    """Text as drawings show it: control characters (other than newline) as visible escapes, since SVG
    cannot hold them, and backslashes as the look-alike ⧵ (U+29F5), since Graphviz reads backslashes
    as escapes even in HTML-like labels (``\\N`` would become the node's name)."""
    if not text.isprintable():
        text = "".join(
            ch if ch.isprintable() or ch == "\n" else ch.encode("unicode_escape").decode("ascii")
            for ch in text
        )
    return text.replace("\\", _BACKSLASH)


def _html(text: str) -> str:
    """Text for an HTML-like Graphviz label: entities for & < > " ', <br/> for newlines."""
    return html.escape(_printable(text), quote=True).replace("\n", "<br/>")


def _quote(text: str) -> str:
    """A double-quoted DOT string that shows ``text`` literally (tooltips, plain labels).

    Graphviz reads such strings as escStrings and, in SVG tooltips, decodes ``&...;`` entities too. So
    backslashes are shown as ⧵ (see :func:`_printable`), ``&`` is written ``&amp;``, quotes are escaped
    and newlines become ``\\n``.
    """
    if len(text) > _MAX_QUOTED_CHARS:  # Graphviz refuses quoted strings longer than 16,384 characters
        text = text[:_MAX_QUOTED_CHARS] + f"… ({len(text) - _MAX_QUOTED_CHARS:,} more characters)"
    escaped = _printable(text).replace("&", "&amp;").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_LABEL_CHARS else text[: _MAX_LABEL_CHARS - 1] + "…"


def _statement(name: str, label_html: str | None = None, **attributes: str) -> str:
    """One DOT node or edge statement; ``label_html`` is HTML-like markup, other attributes are text."""
    parts = [] if label_html is None else [f"label=<{label_html}>"]
    parts += [f"{key}={_quote(value)}" for key, value in attributes.items()]
    return f"\t{name} [{' '.join(parts)}]\n"


def _table(rows: Iterable[Iterable[str]], **table_attributes: str) -> str:
    """An HTML-like table from rows of cells (cells are markup already)."""
    attributes = {
        "border": "0",
        "cellborder": "0",
        "cellspacing": "0",
        "cellpadding": "2",
        **table_attributes,
    }
    head = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table {head}>{body}</table>"


def _grad_colours(grad: float, largest: float) -> tuple[str, str]:
    """(fill colour, font colour) for a gradient: hue by sign, shade by |grad| relative to the largest.

    Shades, light to dark: below 1% of the largest |grad|, from 1%, from 5%, from 20%, from 50%.
    """
    if grad == 0.0 or largest == 0.0:
        return "white", "black"
    ratio = abs(grad) / largest
    shade = sum(ratio >= step for step in _SHADE_STEPS)
    palette = _BLUES if grad > 0.0 else _ORANGES
    return palette[shade], "white" if shade >= 3 else "black"


# ----------------------------------------------------------------------------------------------------
# Drawings: a graphviz.Digraph that degrades to its DOT source in Jupyter


@functools.lru_cache(maxsize=1)
def _drawing_class() -> type[Any]:
    """``graphviz.Digraph`` with a Jupyter display that shows the DOT source when ``dot`` is missing."""
    import graphviz

    class Drawing(graphviz.Digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph``: ``.source`` is the DOT text; in Jupyter it displays as SVG.

        When Graphviz's ``dot`` program is not installed, Jupyter shows the DOT source and how to
        install Graphviz instead of a traceback.
        """

        def _repr_mimebundle_(
            self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **kwargs: Any
        ) -> dict[str, Any]:
            try:
                bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
                return bundle
            except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError):
                note = f"Graphviz's dot program is not available, so here is the DOT source; {_INSTALL_HINT}."
                return {
                    "text/plain": f"{note}\n\n{self.source}",
                    "text/html": f"<p>{html.escape(note)}</p><pre>{html.escape(self.source)}</pre>",
                }

    return Drawing


def _make_drawing(name: str, body: list[str]) -> graphviz.Digraph:
    drawing = _drawing_class()(name=name, body=body)
    return drawing


# ----------------------------------------------------------------------------------------------------
# Collapsing big graphs: a plan says which Values are drawn one by one and which are summarised in a box


@dataclass
class _Group:
    """Values drawn together as one box."""

    kind: str  # "neuron", "layer", "sum", "fold" or "depth"
    title: str
    members: list[int] = field(default_factory=list)  # indices into the topological order
    hidden_parameters: list[int] = field(default_factory=list)  # parameters shown only in this box
    layer: int = 0  # for neuron and layer boxes: the layer number from the labels
    folded: bool = False  # for sum boxes: whether their terms were folded already


@dataclass
class _Plan:
    """Where each Value goes: ``group_of[i]`` is -1 (drawn itself), a group number, or -2 (not drawn:
    a parameter summarised inside neuron boxes)."""

    group_of: list[int]
    groups: list[_Group]
    caption: str = ""


_DETAILED, _HIDDEN = -1, -2


def _node_cost(v: Value) -> int:
    """Graphviz nodes needed to draw a Value: its box, plus an op ellipse and one per constant input."""
    if v.op is None:
        return 1
    return 2 + sum(1 for c in v.children if not isinstance(c, Value))


def _fits(order: Sequence[Value], index: dict[Value, int], plan: _Plan, max_nodes: int) -> bool:
    """Whether the plan needs at most ``max_nodes`` Graphviz nodes (one more for the legend) and at most
    ``_EDGES_PER_NODE * max_nodes`` edges: layout time grows with both."""
    room = max_nodes - 1 - len(plan.groups)
    group_of = plan.group_of
    for v, g in zip(order, group_of):
        if g == _DETAILED:
            room -= _node_cost(v)
            if room < 0:
                return False
    edges_left = _EDGES_PER_NODE * max_nodes
    between_boxes: set[tuple[int, int]] = set()  # edges touching a box are drawn once per pair of ends
    for i, v in enumerate(order):
        if group_of[i] == _HIDDEN or v.op is None:
            continue
        for c in v.children:
            j = index[c] if isinstance(c, Value) else i
            if group_of[i] == _DETAILED and (j == i or group_of[j] == _DETAILED):
                edges_left -= 1  # a constant's edge, or one between two drawn values
            elif group_of[j] != _HIDDEN and (group_of[i] != group_of[j] or group_of[i] == _DETAILED):
                end = i if group_of[i] == _DETAILED else -1 - group_of[i]
                start = j if group_of[j] == _DETAILED else -1 - group_of[j]
                if (start, end) not in between_boxes:
                    between_boxes.add((start, end))
                    edges_left -= 1
            if edges_left < 0:
                return False
    return True


class _UnionFind:
    """Disjoint sets of group numbers (merging neuron pieces, then neurons into layers)."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        root = a
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[a] != root:  # path compression
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the older piece names the set: deterministic
        return min(a, b)


@dataclass
class _NeuronPiece:
    neuron: tuple[int, int]  # (layer, index) from the parameter labels
    parameters: set[int]  # parameters of the neuron this piece consumes (once each)
    activated: bool = False  # an activation was applied: the neuron is finished


def _neuron_plan(order: Sequence[Value], index: dict[Value, int]) -> _Plan | None:
    """One box per application of a neuron, found from the parameter labels ``L{l}.N{j}.w{k}``.

    A node joins a neuron's box when its inputs are that neuron's parameters or pieces of that same
    neuron using different parameters (so two samples through one neuron stay two boxes); once all of
    the neuron's parameters are used, only an activation may join. A node with a computed input outside
    every box (a running total) joins nothing. Parameters whose every use is inside boxes are not drawn:
    the box lists them.
    """
    neuron_of: dict[int, tuple[int, int]] = {}
    for i, v in enumerate(order):
        if v.op is None and (match := _PARAMETER_LABEL.fullmatch(v.label)):
            neuron_of[i] = (int(match.group(1)), int(match.group(2)))
    if not neuron_of:
        return None
    parameter_count = Counter(neuron_of.values())
    pieces: list[_NeuronPiece] = []
    sets = _UnionFind()
    piece_of = [_DETAILED] * len(order)

    def new_piece(neuron: tuple[int, int], parameters: list[int]) -> int:
        pieces.append(_NeuronPiece(neuron, set(parameters)))
        return sets.add()

    for i, v in enumerate(order):
        if v.op is None:
            continue
        direct = [index[c] for c in v.children if isinstance(c, Value) and index[c] in neuron_of]
        inner = sorted(
            {
                sets.find(piece_of[index[c]])
                for c in v.children
                if isinstance(c, Value) and piece_of[index[c]] >= 0
            }
        )
        neurons = {neuron_of[p] for p in direct} | {pieces[p].neuron for p in inner}
        # A computed input outside every piece (a running total, say) keeps the node out of the pieces.
        outside = any(
            isinstance(c, Value) and c.op is not None and piece_of[index[c]] < 0 for c in v.children
        )
        joined = _DETAILED
        if len(neurons) == 1 and not outside:
            (neuron,) = neurons
            used = [p for piece in inner for p in pieces[piece].parameters] + direct
            disjoint = len(used) == len(set(used))
            finished = [
                p
                for p in inner
                if pieces[p].activated or len(pieces[p].parameters) == parameter_count[neuron]
            ]
            if finished:
                only = pieces[finished[0]]
                if len(inner) == 1 and not direct and not only.activated and v.op.name in _ACTIVATION_OPS:
                    only.activated = True
                    joined = inner[0]
            elif disjoint:
                joined = inner[0] if inner else new_piece(neuron, direct)
                for other in inner[1:]:
                    merged = sets.union(joined, other)
                    pieces[merged].parameters |= pieces[joined].parameters | pieces[other].parameters
                    joined = merged
                pieces[joined].parameters.update(direct)
        if joined == _DETAILED and direct and len({neuron_of[p] for p in direct}) == 1:
            joined = new_piece(neuron_of[direct[0]], direct)  # e.g. w * x in the next layer starts a piece
        piece_of[i] = joined

    # Number the boxes in order of their first member; hide parameters used only inside boxes.
    group_number: dict[int, int] = {}
    groups: list[_Group] = []
    group_of = [_DETAILED] * len(order)
    for i, piece in enumerate(piece_of):
        if piece < 0:
            continue
        root = sets.find(piece)
        if root not in group_number:
            group_number[root] = len(groups)
            layer, unit = pieces[root].neuron
            groups.append(_Group("neuron", f"neuron L{layer}.N{unit}", layer=layer))
        group_of[i] = group_number[root]
        groups[group_of[i]].members.append(i)
    consumers: dict[int, set[int]] = {p: set() for p in neuron_of}
    for i, v in enumerate(order):
        for c in v.children:
            if isinstance(c, Value) and index[c] in consumers:
                consumers[index[c]].add(group_of[i])
    for parameter, users in consumers.items():
        if users and _DETAILED not in users:
            group_of[parameter] = _HIDDEN
            for g in sorted(users):
                groups[g].hidden_parameters.append(parameter)
    return _Plan(group_of, groups)


def _layer_plan(order: Sequence[Value], index: dict[Value, int], neurons: _Plan) -> _Plan:
    """Merge the neuron boxes of one layer that share an input or a consumer (one pass of a sample).

    Other boxes (sums) are kept as they are.
    """
    sets = _UnionFind()
    for _ in neurons.groups:
        sets.add()

    def rep(i: int) -> tuple[str, int]:
        g = neurons.group_of[i]
        return ("group", g) if g >= 0 else ("value", i)

    first_with: dict[tuple[int, str, tuple[str, int]], int] = {}

    def meet(g: int, how: str, other: tuple[str, int]) -> None:
        if neurons.groups[g].kind != "neuron":
            return
        key = (neurons.groups[g].layer, how, other)
        if key in first_with:
            sets.union(first_with[key], g)
        else:
            first_with[key] = g

    for i, v in enumerate(order):
        g_node = neurons.group_of[i]
        for c in v.children:
            if not isinstance(c, Value) or neurons.group_of[index[c]] == _HIDDEN:
                continue
            g_child = neurons.group_of[index[c]]
            if g_node >= 0 and rep(index[c]) != ("group", g_node):
                meet(g_node, "input", rep(index[c]))
            if g_child >= 0 and g_child != g_node:
                meet(g_child, "consumer", rep(i))
    group_number: dict[int, int] = {}
    groups: list[_Group] = []
    neuron_names: list[set[str]] = []
    passes: list[int] = []
    new_group_of = [_DETAILED] * len(order)
    for g, old in enumerate(neurons.groups):
        root = sets.find(g)
        if root not in group_number:
            group_number[root] = len(groups)
            if old.kind == "neuron":
                groups.append(_Group("layer", f"layer {old.layer}", layer=old.layer))
            else:
                groups.append(_Group(old.kind, old.title))
            neuron_names.append(set())
            passes.append(0)
        merged = group_number[root]
        neuron_names[merged].add(old.title)
        passes[merged] += 1
        groups[merged].hidden_parameters += old.hidden_parameters
    for i, g in enumerate(neurons.group_of):
        new_group_of[i] = g if g < 0 else group_number[sets.find(g)]
        if g >= 0:
            groups[new_group_of[i]].members.append(i)
    for merged, group in enumerate(groups):
        group.hidden_parameters = sorted(set(group.hidden_parameters))
        if group.kind == "layer":
            units, pieces = len(neuron_names[merged]), passes[merged]
            if pieces == units:
                group.title += f" ({units} neurons)"
            elif pieces % units == 0:
                group.title += f" ({units} neurons, {pieces // units} passes)"
            else:  # e.g. the w² terms of a penalty: parts of neurons, not whole passes
                group.title += f" ({pieces} parts of {units} neurons)"
    return _Plan(new_group_of, groups)


def _depth_plan(order: Sequence[Value], index: dict[Value, int], budget: int) -> _Plan:
    """Draw the Values nearest the output and nearest the inputs; summarise the middle in depth bands.

    depth = the longest path from the output (the root has depth 0); height = the longest path down to
    a leaf (leaves have height 0). Levels are added from both ends while they fit in ``budget`` boxes
    (an edge counts as half a box), up to ``_MAX_LEVELS_PER_END`` levels per end.
    """
    n = len(order)
    depth = [0] * n
    uses = [0] * n
    for i in range(n - 1, -1, -1):
        below = depth[i] + 1
        for c in order[i].children:
            if isinstance(c, Value):
                j = index[c]
                uses[j] += 1
                if depth[j] < below:
                    depth[j] = below
    height = [0] * n
    for i, v in enumerate(order):
        if v.op is not None:
            tallest = -1
            for c in v.children:
                if isinstance(c, Value) and height[index[c]] > tallest:
                    tallest = height[index[c]]
            height[i] = tallest + 1
    by_depth: dict[int, list[int]] = {}
    by_height: dict[int, list[int]] = {}
    for i in range(n):
        if depth[i] < _MAX_LEVELS_PER_END:
            by_depth.setdefault(depth[i], []).append(i)
        if height[i] < _MAX_LEVELS_PER_END:
            by_height.setdefault(height[i], []).append(i)

    band_count = 5
    room = max(budget - band_count - 2, 0)
    shown = [False] * n
    spent = 0
    levels = {"top": 0, "bottom": 0}
    open_sides = ["top", "bottom"]
    while open_sides:
        for side in list(open_sides):
            level = levels[side]
            members = by_depth.get(level) if side == "top" else by_height.get(level)
            if members is None or level >= _MAX_LEVELS_PER_END:
                open_sides.remove(side)
                continue
            # Edges slow the layout down too: count half a box per use of a value.
            extra = sum(_node_cost(order[i]) + uses[i] // 2 for i in members if not shown[i])
            if spent + extra > room:
                open_sides.remove(side)
                continue
            spent += extra
            for i in members:
                shown[i] = True
            levels[side] += 1

    group_of = [_DETAILED] * n
    counts = Counter(depth[i] for i in range(n) if not shown[i])
    hidden_total = sum(counts.values())
    per_band = math.ceil(hidden_total / band_count) if hidden_total else 1
    band_of_depth: dict[int, int] = {}
    bands: list[list[int]] = [[]]
    filled = 0
    for d in sorted(counts):
        if filled >= per_band:
            bands.append([])
            filled = 0
        bands[-1].append(d)
        band_of_depth[d] = len(bands) - 1
        filled += counts[d]
    groups = [
        _Group("depth", f"depths {b[0]:,}–{b[-1]:,}" if len(b) > 1 else f"depth {b[0]:,}") for b in bands
    ]
    for i in range(n):
        if not shown[i]:
            group = group_of[i] = band_of_depth[depth[i]]
            groups[group].members.append(i)
    if not hidden_total:
        groups = []
    caption = (
        f"the {levels['top']} levels nearest the output and the {levels['bottom']} nearest the inputs are "
        f"drawn; {hidden_total:,} values in between are summarised by depth (distance from the output) "
        f"in {len(groups)} boxes"
    )
    return _Plan(group_of, groups, caption)


def _collapse_sums(order: Sequence[Value], index: dict[Value, int], plan: _Plan) -> None:
    """Fold each long run of + nodes that add one term at a time (a loss summed over samples) into one
    "sum of n terms" box, so the samples lie side by side instead of in a staircase. Changes ``plan``."""
    uses = [0] * len(order)
    for v in order:
        for c in v.children:
            if isinstance(c, Value):
                uses[index[c]] += 1
    run_of = [-1] * len(order)  # the run each + node belongs to, named by its first node
    runs: dict[int, list[int]] = {}
    for i, v in enumerate(order):
        if plan.group_of[i] != _DETAILED or v.op is None or v.op.name != "add":
            continue
        # continue the run of an input that is a + used only here, else start a new run
        previous = next(
            (
                index[c]
                for c in v.children
                if isinstance(c, Value) and run_of[index[c]] >= 0 and uses[index[c]] == 1
            ),
            None,
        )
        run = i if previous is None else run_of[previous]
        run_of[i] = run
        runs.setdefault(run, []).append(i)
    for members in runs.values():
        if len(members) < 3:
            continue
        terms = sum(
            1
            for i in members
            for c in order[i].children
            if not (isinstance(c, Value) and run_of[index[c]] == run_of[i])
        )
        group = _Group("sum", f"sum of {terms:,} terms", members)
        for i in members:
            plan.group_of[i] = len(plan.groups)
        plan.groups.append(group)


_FOLD_KEEP = 2  # terms of a long sum drawn before the rest are folded into one box


def _fold_terms(order: Sequence[Value], index: dict[Value, int], plan: _Plan) -> _Plan | None:
    """Draw the first terms of the longest sum not yet folded and fold its other terms (each term's own
    nodes) into one box.

    A loss summed over samples repeats the same subgraph once per sample; two of them show the pattern.
    A node belongs to a term when everything that uses it belongs to that term; nodes shared between
    terms (the parameters) or used outside the sum stay where they were. None if no sum is left to fold.
    """
    sums = [g for g, group in enumerate(plan.groups) if group.kind == "sum" and not group.folded]
    if not sums:
        return None
    target = max(sums, key=lambda g: (len(plan.groups[g].members), -g))
    plan.groups[target].folded = True
    members = plan.groups[target].members
    in_sum = set(members)
    unseen, shared = -1, -2
    owner = [unseen] * len(order)
    terms = 0
    for m in members:
        for c in order[m].children:
            if isinstance(c, Value) and index[c] not in in_sum:
                j = index[c]
                owner[j] = terms if owner[j] == unseen else shared
                terms += 1
    if terms <= _FOLD_KEEP + 1:
        return plan  # too short to fold; marked, so the next call looks at the next sum
    for i in range(len(order) - 1, -1, -1):
        if i in in_sum:
            continue
        passed = owner[i] if owner[i] >= 0 else shared  # nodes outside every term make their inputs shared
        for c in order[i].children:
            if isinstance(c, Value):
                j = index[c]
                if owner[j] == unseen:
                    owner[j] = passed
                elif owner[j] != passed:
                    owner[j] = shared
    fold = len(plan.groups)
    group_of = [fold if owner[i] >= _FOLD_KEEP else g for i, g in enumerate(plan.group_of)]
    folded = _Group(
        "fold",
        f"{terms - _FOLD_KEEP:,} more terms of the {plan.groups[target].title}, like the first {_FOLD_KEEP}",
    )
    candidates = [*plan.groups, folded]
    # Renumber the boxes that still hold something, in order of their first member.
    renumber: dict[int, int] = {}
    groups: list[_Group] = []
    for i, g in enumerate(group_of):
        if g < 0:
            continue
        if g not in renumber:
            renumber[g] = len(groups)
            old = candidates[g]
            groups.append(_Group(old.kind, old.title, [], list(old.hidden_parameters), old.layer, old.folded))
        group_of[i] = renumber[g]
        groups[group_of[i]].members.append(i)
    caption = f"{plan.caption}; the first {_FOLD_KEEP} of the {terms:,} terms of a sum are drawn"
    return _Plan(group_of, groups, caption)


def _choose_plan(order: Sequence[Value], index: dict[Value, int], max_nodes: int, collapse: str) -> _Plan:
    """The least collapsed plan that fits in ``max_nodes`` (or the one ``collapse`` asks for):
    everything; one box per neuron pass; per layer pass; long sums folded after two terms; by depth."""
    full = _Plan([_DETAILED] * len(order), [])
    if collapse == "none" or (collapse == "auto" and _fits(order, index, full, max_nodes)):
        return full
    if collapse == "auto":
        total = f"{len(order):,} values need more than max_nodes={max_nodes} boxes"
    else:
        total = f"{len(order):,} values, collapse={collapse!r}"
    base = None
    if collapse in ("auto", "neurons", "layers"):
        neurons = _neuron_plan(order, index)
        if neurons is not None:
            _collapse_sums(order, index, neurons)
            neurons.caption = f"{total}: each pass through a neuron is one box"
            if collapse == "neurons" or (collapse == "auto" and _fits(order, index, neurons, max_nodes)):
                return neurons
            base = _layer_plan(order, index, neurons)  # keeps the sum boxes
            base.caption = f"{total}: each pass through a layer is one box"
            if collapse == "layers" or (collapse == "auto" and _fits(order, index, base, max_nodes)):
                return base
        elif collapse != "auto":
            raise ArgumentError(
                f"draw_graph: collapse={collapse!r} needs parameters labelled like L1.N0.w0 "
                "(tinygrad_w.nn labels); this graph has none"
            )
    if collapse == "auto":
        if base is None:
            base = _Plan([_DETAILED] * len(order), [], f"{total}: each long run of + is one sum box")
            _collapse_sums(order, index, base)
        folded = _fold_terms(order, index, base)
        while folded is not None:  # fold the sums, longest first, until the drawing fits
            if _fits(order, index, folded, max_nodes):
                return folded
            folded = _fold_terms(order, index, folded)
    plan = _depth_plan(order, index, max_nodes - 1)
    plan.caption = f"{total}: {plan.caption}"
    return plan


# ----------------------------------------------------------------------------------------------------
# Expression graphs


def _check_settings(where: str, decimals: object, rankdir: object) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 17:
        raise ArgumentError(f"{where}: decimals must be an int from 0 to 17, got {decimals!r}")
    if rankdir not in _RANKDIRS:
        raise ArgumentError(f"{where}: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")


@dataclass
class _Marks:
    """What the backprop step-through changes in a drawing (see tinygrad_w.stepper)."""

    grads: Sequence[float | None]  # the gradient to show for each Value; None = not reached yet
    current: int = -1  # the node whose gradient is being passed back
    receiving: frozenset[int] = frozenset()  # the nodes receiving a share of it
    finished: frozenset[int] = frozenset()  # the nodes whose gradient is complete


def _legend(largest: float, decimals: int, stepping: bool) -> str:
    """A small table explaining shapes and colours (markup in the first column, plain text in the second)."""

    def swatches(palette: Sequence[str]) -> str:
        return "".join(f'<font color="{colour}">■</font>' for colour in palette)

    rows = [
        ("box", "value: label │ data │ grad"),
        ("ellipse", "operation (the op's symbol)"),
        ("double border", "parameter (a leaf with a label)"),
        ("rounded box", "input (a leaf without a label)"),
        ("dashed grey", "constant (a plain number)"),
        ('<font color="#b8a000">3-D box</font>', "collapsed values (counts inside)"),
        (swatches(_BLUES), "grad > 0"),
        (swatches(_ORANGES), "grad < 0"),
        ("light → dark", f"|grad| ≥ 1%, 5%, 20%, 50% of the largest, {_format_number(largest, decimals)}"),
        ("white", "grad = 0"),
    ]
    if stepping:
        rows += [
            (f'<font color="{_HIGHLIGHT}">thick red</font>', "passing its gradient back now"),
            (f'<font color="{_HIGHLIGHT}">dashed red</font>', "receiving a share (the sum so far)"),
            ("grad ?", "no gradient has arrived yet"),
            ("so far", "more shares are still to come"),
            ("#5", "a value without a label, by its place in the order"),
        ]
    cells = "".join(
        f'<tr><td align="left">{mark}</td><td align="left">{_html(text)}</td></tr>' for mark, text in rows
    )
    return f'<table border="0" cellborder="0" cellspacing="0" cellpadding="1"><tr><td colspan="2"><b>legend</b></td></tr>{cells}</table>'


def _draw_expression(
    root: Value,
    *,
    where: str,
    decimals: int,
    max_nodes: int,
    rankdir: str,
    legend: bool,
    collapse: str,
    marks: _Marks | None = None,
    title: str = "",
) -> graphviz.Digraph:
    """draw_graph's work; ``marks`` (from the step-through) replaces the gradients shown and highlights
    the node passing its gradient back; ``title`` goes above the caption."""
    if not isinstance(root, Value):
        raise OperandTypeError(f"{where}: expected a Value, got {type(root).__name__} {root!r}")
    _check_settings(where, decimals, rankdir)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 20:
        raise ArgumentError(f"{where}: max_nodes must be an int >= 20, got {max_nodes!r}")
    if collapse not in _COLLAPSE_MODES:
        raise ArgumentError(
            f"{where}: collapse must be one of {', '.join(_COLLAPSE_MODES)}, got {collapse!r}"
        )

    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    plan = _choose_plan(order, index, max_nodes, collapse)
    group_of = plan.group_of

    def grad_of(i: int) -> float | None:
        return order[i].grad if marks is None else marks.grads[i]

    # Shades are relative to the largest |grad| in the whole graph, drawn or collapsed.
    all_grads = [v.grad for v in order] if marks is None else [g for g in marks.grads if g is not None]
    largest = max(map(abs, all_grads), default=0.0)

    def number(x: float) -> str:
        return _html(_format_number(x, decimals))

    body = [
        f"\tgraph [rankdir={rankdir} fontname=Helvetica fontsize=11 nodesep=0.25 ranksep=0.35"
        f" labelloc=t labeljust=l]\n",
        "\tnode [fontname=Helvetica fontsize=10 margin=0.04 height=0.3]\n",
        "\tedge [arrowsize=0.6 color=gray35]\n",
    ]
    caption = [c for c in (title, plan.caption) if c]
    if caption:
        lines = [
            line for c in caption for line in textwrap.wrap(c, 130)
        ]  # long captions would widen the picture
        markup = "".join(_html(line) + _LEFT_BREAK for line in lines)
        body.append(f"\tlabel=<{markup}>\n")
    if legend:
        body.append(
            _statement("legend", _legend(largest, decimals, marks is not None), shape="note", color="gray60")
        )

    def rep(i: int) -> str:
        return f"v{i}" if group_of[i] == _DETAILED else f"g{group_of[i]}"

    # Values drawn one by one, each with its op and constants.
    for i, v in enumerate(order):
        if group_of[i] != _DETAILED:
            continue
        grad = grad_of(i)
        cells = [f"<b>{_html(_shorten(_printable(v.label)))}</b>"] if v.label else []
        if marks is not None and not v.label:
            cells.append(f"<i>#{i}</i>")  # the step texts name nodes this way
        cells += [f"data {number(v.data)}", "grad ?" if grad is None else f"grad {number(grad)}"]
        if marks is not None and grad is not None and i not in marks.finished:
            cells[-1] += " <i>so far</i>"
        fill, font = ("white", "black") if grad is None else _grad_colours(grad, largest)
        style = ["filled"]
        attributes = {"shape": "box", "fillcolor": fill, "fontcolor": font}
        if v.op is None:
            style.append("rounded")
            if v.label:
                attributes["peripheries"] = "2"
        if marks is not None and i == marks.current:
            style.append("bold")
            attributes |= {"color": _HIGHLIGHT, "penwidth": "3"}
        elif marks is not None and i in marks.receiving:
            style.append("dashed")
            attributes |= {"color": _HIGHLIGHT, "penwidth": "2"}
        kind = "computed by " + v.op.name if v.op is not None else "parameter" if v.label else "input"
        attributes["style"] = ",".join(style)
        attributes["tooltip"] = f"{v!r}\n{kind}" + (
            "" if grad is None or marks is None else f"\nshown grad={grad!r}"
        )
        body.append(
            _statement(f"v{i}", _table([cells], columns="*", cellpadding="3"), **attributes)
        )  # rules between cells
        if v.op is None:
            continue
        inputs = ", ".join(repr(c.data if isinstance(c, Value) else c) for c in v.children)
        body.append(
            _statement(
                f"o{i}", _html(v.op.symbol), shape="ellipse", style="filled", fillcolor="gray92",
                tooltip=f"{v.op.name}({inputs}) = {v.data!r}",
            )
        )  # fmt: skip
        body.append(f"\to{i} -> v{i}\n")
        for k, child in enumerate(v.children):
            if isinstance(child, Value):
                j = index[child]
                if group_of[j] == _DETAILED:
                    body.append(f"\tv{j} -> o{i}\n")
            else:
                body.append(
                    _statement(
                        f"c{i}_{k}", number(child), shape="ellipse", style="dashed", color="gray50",
                        fontcolor="gray30", fontsize="9", tooltip=f"constant {child!r}",
                    )
                )  # fmt: skip
                body.append(f"\tc{i}_{k} -> o{i}\n")

    # Boxes for collapsed groups, and edges into and out of them (counted, one per pair of ends).
    crossing: Counter[tuple[str, str]] = Counter()
    if plan.groups:
        for i, v in enumerate(order):
            target = rep(i) if group_of[i] >= 0 else f"o{i}"
            if group_of[i] == _HIDDEN or v.op is None:
                continue
            for child in v.children:
                if isinstance(child, Value):
                    j = index[child]
                    # an edge leaving a box, or a drawn value feeding a box
                    from_box = group_of[j] >= 0 and group_of[j] != group_of[i]
                    if from_box or (group_of[j] == _DETAILED and group_of[i] >= 0):
                        crossing[(rep(j), target)] += 1
    for g, group in enumerate(plan.groups):
        label, attributes = _group_label(group, order, decimals)
        body.append(_statement(f"g{g}", label, **attributes))
    for (source, target), count in crossing.items():
        if count == 1:
            body.append(f"\t{source} -> {target}\n")
        else:
            body.append(f"\t{source} -> {target} [label={_quote(f'×{count:,}')} fontsize=9 penwidth=1.5]\n")
    return _make_drawing("expression", body)


def _group_label(group: _Group, order: Sequence[Value], decimals: int) -> tuple[str, dict[str, str]]:
    """Markup and attributes of a collapsed box: what it holds and how many nodes it hides."""
    ops = Counter(order[i].op.symbol for i in group.members if order[i].op is not None)  # type: ignore[union-attr]
    leaves = sum(1 for i in group.members if order[i].op is None)
    hidden = len(group.members)  # parameters are counted apart: several boxes may share them
    common = ", ".join(f"{symbol} ×{count:,}" for symbol, count in ops.most_common(4))
    if len(ops) > 4:
        common += ", …"
    rows = [[f"<b>{_html(group.title)}</b>"], [f"{hidden:,} values hidden"]]
    if common:
        rows.append([f"ops: {_html(common)}"])
    if leaves:
        rows.append([f"{leaves:,} leaves"])
    if group.hidden_parameters:
        rows.append([f"{len(group.hidden_parameters):,} parameters inside"])
    last = order[group.members[-1]]
    if group.kind in ("neuron", "sum"):
        rows.append(
            [
                f"out {_html(_format_number(last.data, decimals))} grad {_html(_format_number(last.grad, decimals))}"
            ]
        )
    if group.kind == "neuron":
        activation = last.op.name if last.op is not None and last.op.name in _ACTIVATION_OPS else "linear"
        rows.insert(1, [f"activation {activation}"])
    tooltip_lines = [group.title, f"{hidden:,} values hidden", f"ops: {common}"]
    listed = group.hidden_parameters[:_LISTED_PARAMETERS]
    tooltip_lines += [repr(order[p]) for p in listed]
    if len(group.hidden_parameters) > len(listed):
        tooltip_lines.append(f"... and {len(group.hidden_parameters) - len(listed)} more parameters")
    if group.kind in ("neuron", "sum"):
        tooltip_lines.append(f"output: {last!r}")
    attributes = {
        "shape": "box3d",
        "style": "filled",
        "fillcolor": _COLLAPSED_FILL,
        "tooltip": "\n".join(tooltip_lines),
    }
    return _table(rows), attributes


def draw_graph(
    root: Value,
    *,
    decimals: int = 4,
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "LR",
    legend: bool = True,
    collapse: str = "auto",
) -> graphviz.Digraph:
    """Draw the expression graph that computed ``root``.

    Each Value is a box ``label │ data │ grad`` (``decimals`` digits), filled blue for a positive
    gradient and orange for a negative one, darker when ``|grad|`` is larger; each operation is an
    ellipse with the op's symbol, and each use of an input is one edge. Parameters (leaves with a label)
    have a double border, inputs (leaves without one) rounded corners, constants a dashed grey ellipse.
    Tooltips in SVG output give every number in full precision.

    Graphviz's layout time grows about with the square of the graph's size, so a graph needing more
    than ``max_nodes`` Graphviz nodes (or more than 10 edges per allowed node) is collapsed, by the
    first of these steps that fits (``collapse="auto"``):

    1. each pass through a neuron becomes one box (neurons are found from the parameter labels
       ``L1.N0.w0``, ``L1.N0.b`` that :mod:`tinygrad_w.nn` writes), and each long run of ``+`` (a loss
       summed over samples) one "sum" box;
    2. each pass through a layer becomes one box;
    3. the longest sum shows its first two terms and folds the others into one box;
    4. the values nearest the output and nearest the inputs are drawn and the rest is summarised in
       boxes by depth (distance from the output).

    The caption says which step was taken; each box says how many values it hides and which ops.
    ``collapse`` may force "none", "neurons", "layers" or "depth".

    Returns a ``graphviz.Digraph``: ``.source`` is the DOT text, :func:`render` writes it to a file, and
    Jupyter displays it inline.
    """
    return _draw_expression(
        root,
        where="draw_graph",
        decimals=decimals,
        max_nodes=max_nodes,
        rankdir=rankdir,
        legend=legend,
        collapse=collapse,
    )


# ----------------------------------------------------------------------------------------------------
# Network diagrams


class _NeuronLike(Protocol):
    @property
    def w(self) -> Sequence[Value]: ...
    @property
    def b(self) -> Value: ...
    @property
    def activation(self) -> str: ...


class _NetworkLike(Protocol):
    @property
    def nin(self) -> int: ...
    @property
    def layers(self) -> Sequence[Any]: ...


def _network_layers(model: object) -> list[Any]:
    """The model's layers, with nested models (an MLP inside a Sequential) opened up. Each is a layer of
    neurons (``.neurons``), a batch norm (``.gamma``, ``.beta``) or an activation (``.name``)."""
    layers: list[Any] = []
    pending = list(getattr(model, "layers", None) or [])[::-1]
    while pending:
        layer = pending.pop()
        inner = getattr(layer, "layers", None)
        if isinstance(inner, Sequence):
            pending.extend(reversed(inner))
        elif _layer_kind(layer):
            layers.append(layer)
        else:
            raise OperandTypeError(
                f"draw_network: layer {len(layers) + 1} ({type(layer).__name__}) is not a layer of neurons, a "
                "batch norm or an activation; use draw_graph on the model's output instead"
            )
    return layers


def _layer_kind(layer: Any) -> str:
    """ "neurons", "batchnorm", "activation", or "" for a layer draw_network cannot draw."""
    if isinstance(getattr(layer, "neurons", None), Sequence):
        return "neurons"
    if isinstance(getattr(layer, "gamma", None), Sequence) and isinstance(
        getattr(layer, "beta", None), Sequence
    ):
        return "batchnorm"
    parameters = getattr(layer, "parameters", None)
    if isinstance(getattr(layer, "name", None), str) and callable(parameters) and not parameters():
        return "activation"
    return ""


def draw_network(
    model: _NetworkLike,
    *,
    decimals: int = 4,
    rankdir: str = "LR",
    edge_labels: bool | None = None,
    input_names: Sequence[str] | None = None,
    max_weights: int = 2000,
) -> graphviz.Digraph:
    """Draw an MLP: input units, then one column of units per layer, and one edge per weight.

    An edge's pen width grows with ``|w|`` (relative to the largest weight) and its colour is blue for
    w > 0 and orange for w < 0; its tooltip holds the weight's label, value and gradient in full, and
    its label shows them rounded when ``edge_labels`` is True (default: only when there are at most 40
    weights, so that bigger diagrams stay readable). Each unit shows its name, activation, bias and
    the bias gradient (coloured like gradients in :func:`draw_graph`).

    A ``batchnorm.Sequential`` draws too: a BatchNorm1d is a column of units showing γ, β and their
    gradients, an Activation a column naming the function, each fed one to one by the column before.
    With more than ``max_weights`` weights each layer is drawn as one box with weight statistics.
    """
    _check_settings("draw_network", decimals, rankdir)
    nin = getattr(model, "nin", None)
    if (
        not isinstance(getattr(model, "layers", None), Sequence)
        or not isinstance(nin, int)
        or not model.layers
    ):
        raise OperandTypeError(
            f"draw_network: expected a model with .nin and .layers (a tinygrad_w.nn.MLP), got {model!r}"
        )
    layers = _network_layers(model)
    names = [f"x{k}" for k in range(nin)] if input_names is None else list(input_names)
    if len(names) != nin:
        raise ArgumentError(f"draw_network: {len(names)} input_names for a model with {nin} inputs")
    weights = [
        w for layer in layers if _layer_kind(layer) == "neurons" for neuron in layer.neurons for w in neuron.w
    ]
    if edge_labels is None:
        edge_labels = len(weights) <= 40

    def number(x: float) -> str:
        return _format_number(x, decimals)

    body = [
        f"\tgraph [rankdir={rankdir} fontname=Helvetica fontsize=11 nodesep=0.15 ranksep=1.2 labelloc=t"
        " labeljust=l splines=true]\n",
        "\tnode [fontname=Helvetica fontsize=10 margin=0.04]\n",
        "\tedge [arrowsize=0.5]\n",
    ]
    if len(weights) > max_weights:
        return _network_summary(layers, nin, len(weights), max_weights, body, decimals)

    largest_weight = max((abs(w.data) for w in weights), default=0.0) or 1.0
    # Gradient colours of biases (and of γ, β) are relative to the largest such gradient.
    unit_grads = [
        abs(p.grad)
        for layer in layers
        for p in (
            [n.b for n in layer.neurons] if _layer_kind(layer) == "neurons"
            else [*getattr(layer, "gamma", []), *getattr(layer, "beta", [])]
        )
    ]  # fmt: skip
    largest_grad = max(unit_grads, default=0.0)

    def grad_cell(name: str, g: float) -> str:
        fill, font = _grad_colours(g, largest_grad)
        return f'<td bgcolor="{fill}"><font color="{font}">{_html(name)} {_html(number(g))}</font></td>'

    kinds = [_layer_kind(layer) for layer in layers]
    sizes = [
        str(len(layer.neurons)) if kind == "neurons" else "batch norm" if kind == "batchnorm" else layer.name
        for layer, kind in zip(layers, kinds)
    ]
    body.append(f"\tlabel=<{_html(f'{nin} inputs → ' + ' → '.join(str(size) for size in sizes))}"
                f"<br/>{_html('edge width ∝ |w|; blue w > 0, orange w < 0; hover for w and ∂loss/∂w')}>\n")  # fmt: skip
    for k, name in enumerate(names):
        label = f"<b>{_html(_shorten(_printable(name)))}</b>"
        body.append(_statement(f"in{k}", label, shape="circle", tooltip=f"input {name}"))
    body.append(_column("inputs", "inputs", [f"in{k}" for k in range(nin)]))
    previous = [f"in{k}" for k in range(nin)]
    previous_names = names
    for position, layer in enumerate(layers, start=1):
        kind = _layer_kind(layer)
        if kind != "neurons":
            # One unit per feature, fed one to one by the column before.
            width = len(layer.gamma) if kind == "batchnorm" else len(previous)
            if width != len(previous):
                raise ArgumentError(
                    f"draw_network: layer {position} normalises {width} features but the layer before has "
                    f"{len(previous)} units"
                )
            units = [f"u{position}_{k}" for k in range(width)]
            for k, unit in enumerate(units):
                if kind == "batchnorm":
                    gamma, beta = layer.gamma[k], layer.beta[k]
                    rows = (
                        f"<tr><td><b>{_html(_shorten(_printable(getattr(layer, 'label', 'BN'))))} {k}</b></td></tr>"
                        f"<tr><td>γ {_html(number(gamma.data))}</td></tr><tr>{grad_cell('∂γ', gamma.grad)}</tr>"
                        f"<tr><td>β {_html(number(beta.data))}</td></tr><tr>{grad_cell('∂β', beta.grad)}</tr>"
                    )
                    tooltip = f"{gamma!r}\n{beta!r}"
                else:
                    rows = f"<tr><td>{_html(layer.name)}</td></tr>"
                    tooltip = f"{layer.name} of {previous_names[k]}"
                label = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="2">{rows}</table>'
                body.append(_statement(unit, label, shape="box", style="rounded", tooltip=tooltip))
                body.append(_statement(f"{previous[k]} -> {unit}", color="gray60", tooltip=tooltip))
            header = "batch norm" if kind == "batchnorm" else layer.name
            body.append(_column(f"layer{position}", f"layer {position} · {header}", units))
            previous, previous_names = units, [f"{header} {k}" for k in range(width)]
            continue
        neuron_names = [getattr(n, "label", "") or f"L{position}.N{j}" for j, n in enumerate(layer.neurons)]
        units = [f"n{position}_{j}" for j in range(len(layer.neurons))]
        for j, neuron in enumerate(layer.neurons):
            rows = (
                f"<tr><td><b>{_html(_shorten(_printable(neuron_names[j])))}</b></td></tr>"
                f"<tr><td>{_html(neuron.activation)}</td></tr>"
                f"<tr><td>b {_html(number(neuron.b.data))}</td></tr><tr>{grad_cell('∂b', neuron.b.grad)}</tr>"
            )
            label = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="2">{rows}</table>'
            tooltip = f"{neuron.b!r}\nactivation {neuron.activation}"
            body.append(_statement(units[j], label, shape="box", style="rounded", tooltip=tooltip))
        activations = ", ".join(sorted({n.activation for n in layer.neurons}))
        body.append(_column(f"layer{position}", f"layer {position} · {activations}", units))
        for j, neuron in enumerate(layer.neurons):
            if len(neuron.w) != len(previous):
                raise ArgumentError(
                    f"draw_network: neuron {neuron_names[j]} has {len(neuron.w)} weights but the layer before "
                    f"has {len(previous)} units"
                )
            for k, w in enumerate(neuron.w):
                colour = _POSITIVE_WEIGHT if w.data > 0 else _NEGATIVE_WEIGHT if w.data < 0 else "gray60"
                attributes = {
                    "color": colour,
                    "penwidth": f"{0.3 + 3.7 * abs(w.data) / largest_weight:.2f}",
                    "tooltip": f"{w.label or f'{neuron_names[j]}.w{k}'}: {previous_names[k]} → {neuron_names[j]}\n"
                    f"w = {w.data!r}\ngrad = {w.grad!r}",
                }
                if edge_labels:
                    attributes |= {"label": f"{number(w.data)}\n∂ {number(w.grad)}", "fontsize": "8",
                                   "fontcolor": colour}  # fmt: skip
                body.append(_statement(f"{previous[k]} -> {units[j]}", **attributes))
        previous, previous_names = units, neuron_names
    return _make_drawing("network", body)


def _column(name: str, header: str, units: Sequence[str]) -> str:
    """A header above the units, all in one rank and in this order (invisible edges between neighbours).

    Not a cluster: Graphviz does not keep the order of a rank inside a cluster.
    """
    head = _statement(name, f"<b>{_html(header)}</b>", shape="plaintext")
    chain = " -> ".join([name, *units])
    return f"{head}\t{{rank=same; {'; '.join([name, *units])}}}\n\t{chain} [style=invis]\n"


def _network_summary(
    layers: Sequence[Any], nin: int, weight_count: int, max_weights: int, body: list[str], decimals: int
) -> graphviz.Digraph:
    """One box per layer with weight and gradient statistics, for networks too big to draw weight by weight."""

    def number(x: float) -> str:
        return _html(_format_number(x, decimals))

    body.append(
        f"\tlabel=<{_html(f'{weight_count:,} weights > max_weights={max_weights:,}: one box per layer')}>\n"
    )
    body.append(_statement("in", f"<b>{nin} inputs</b>", shape="box", style="rounded"))
    previous = "in"
    for position, layer in enumerate(layers, start=1):
        kind = _layer_kind(layer)
        if kind == "batchnorm":
            rows = [[f"<b>layer {position}</b>: batch norm over {len(layer.gamma)} features"]]
        elif kind == "activation":
            rows = [[f"<b>layer {position}</b>: {_html(layer.name)}"]]
        else:
            w = [x for n in layer.neurons for x in n.w]
            stats = weight_stats(w)
            activations = _html(", ".join(sorted({n.activation for n in layer.neurons})))
            rows = [
                [f"<b>layer {position}</b>: {len(layer.neurons)} units, {activations}"],
                [f"{stats['count']:,} weights: mean {number(stats['mean'])}, std {number(stats['std'])}"],
                [f"min {number(stats['min'])}, max {number(stats['max'])}, negative {stats['negative']:,}"],
                [f"largest |grad| {number(max(abs(x.grad) for x in w))}"],
            ]
        box = _statement(
            f"layer{position}", _table(rows), shape="box3d", style="filled", fillcolor=_COLLAPSED_FILL
        )
        body.append(box)
        body.append(f"\t{previous} -> layer{position}\n")
        previous = f"layer{position}"
    return _make_drawing("network", body)


# ----------------------------------------------------------------------------------------------------
# Writing files


class _HasSource(Protocol):
    @property
    def source(self) -> str: ...


def _write_atomically(path: Path, data: bytes) -> None:
    """Create ``path``'s folder if needed, then write ``data`` atomically: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, data)


def _run_dot(source: str, file_format: str, where: str) -> bytes | None:
    """``dot -T<format>`` on the source; None when the dot program is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        result = subprocess.run(
            [dot, f"-T{file_format}"], input=source.encode("utf-8"), capture_output=True, timeout=600
        )
    except FileNotFoundError:
        return None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{where}: dot -T{file_format} failed (exit {result.returncode}): {message}")
    return result.stdout


def render(graph: _HasSource | str, path: str | os.PathLike[str]) -> Path:
    """Write a drawing (anything with ``.source``, or DOT text) to ``path``, by suffix: .svg .png .pdf .dot.

    The file is written atomically. When Graphviz's ``dot`` program is not installed, the DOT source is
    written next to ``path`` (same name, suffix ``.dot``), a :class:`GraphvizMissingWarning` says how to
    install Graphviz, and that ``.dot`` path is returned instead of raising.
    """
    source = graph if isinstance(graph, str) else getattr(graph, "source", None)
    if not isinstance(source, str):
        raise OperandTypeError(
            f"render: expected a drawing with .source or DOT text, got {type(graph).__name__}"
        )
    target = Path(path)
    file_format = target.suffix.lower().removeprefix(".")
    if file_format not in _FORMATS:
        raise ArgumentError(
            f"render: cannot tell the format of {str(target)!r}; use a suffix among .{', .'.join(_FORMATS)}"
        )
    if file_format in ("dot", "gv"):
        _write_atomically(target, source.encode("utf-8"))
        return target
    picture = _run_dot(source, file_format, f"render {target}")
    if picture is None:
        dot_path = target.with_suffix(".dot")
        _write_atomically(dot_path, source.encode("utf-8"))
        warnings.warn(
            f"render: Graphviz's dot program was not found, so {target} was not drawn; its DOT source is in "
            f"{dot_path}. To draw it, {_INSTALL_HINT}, then run: dot -T{file_format} {dot_path} -o {target}",
            GraphvizMissingWarning,
            stacklevel=2,
        )
        return dot_path
    _write_atomically(target, picture)
    return target


def _svg_text(graph: _HasSource, where: str) -> str | None:
    """The SVG of a drawing as text (for pages that embed it), or None without ``dot``."""
    picture = _run_dot(graph.source, "svg", where)
    return None if picture is None else picture.decode("utf-8")
