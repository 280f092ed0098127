"""Drawing the expression graph behind a Value: a box per Value (label, data, grad), an ellipse per
operation, one edge per use of an input (``a * a`` draws two), constants as small grey ellipses.

Gradients colour the boxes: blue for positive, orange for negative, darker for larger ``|grad|``. Big
graphs are collapsed (see :mod:`tinygrad_w.viz.collapse`) and the caption says how. Node names come
from the topological order of the graph (``v0``, ``v1``, ...), never from ``id()`` or hashing, so the
same graph gives the same DOT text in every process.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinygrad_w.core.errors import show
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError, OperandTypeError
from tinygrad_w.viz.collapse import COLLAPSE_MODES, choose_plan
from tinygrad_w.viz.colours import BLUES, COLLAPSED_FILL, HIGHLIGHT, ORANGES, grad_colours
from tinygrad_w.viz.dot import check_settings
from tinygrad_w.viz.figure import Edge, Figure, Node, wrap_rows
from tinygrad_w.viz.networks import NetworkLike, neuron_of_parameters, read_network
from tinygrad_w.viz.plan import DETAILED, HIDDEN, Group, Plan
from tinygrad_w.viz.text import LEFT_BREAK, format_number, markup, printable, shorten, table

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "DEFAULT_MAX_NODES",
    "ROW_RANKS",
    "DrawnGraph",
    "StepMarks",
    "draw_graph",
    "node_name",
    "prepare_graph",
]

# About 400 Graphviz nodes lay out in well under a second; layout time grows roughly with the square of
# the node count (10,000 nodes take about 45 s), so bigger graphs are collapsed.
DEFAULT_MAX_NODES = 400
ROW_RANKS = 14  # a drawing more than _ROW_RANKS_LIMIT ranks long is wrapped into rows of this many ranks
_ROW_RANKS_LIMIT = 24
_LISTED_PARAMETERS = 12  # a box's tooltip lists this many of its parameters in full
_CAPTION_WIDTH = 130  # characters per caption line: long captions would widen the picture


@dataclass(frozen=True)
class StepMarks:
    """What the backprop step-through changes in a drawing (see :mod:`tinygrad_w.viz.stepper`)."""

    grads: Sequence[float | None]  # the gradient to show for each Value; None = not reached yet
    current: int = -1  # the node whose gradient is being passed back
    receiving: frozenset[int] = frozenset()  # the nodes receiving a share of it
    finished: frozenset[int] = frozenset()  # the nodes whose gradient is complete
    largest: float | None = None  # shades are relative to this |grad| (None: the largest shown)


def node_name(order: Sequence[Value], i: int) -> str:
    """How step texts and drawings name a Value: its label, or #i (its place in the order)."""
    return printable(order[i].label) if order[i].label else f"#{i}"


@dataclass
class DrawnGraph:
    """A graph ready to draw: its Values in order, the collapse plan, and how numbers and gradients are
    shown. :meth:`figure` draws it all; the step-through re-draws single boxes with :meth:`value_box`."""

    order: list[Value]
    index: dict[Value, int]
    plan: Plan
    decimals: int
    rankdir: str
    legend: bool
    caption: str  # markup
    largest: float  # shades are relative to this |grad|: the largest in the whole graph, drawn or not
    marks: StepMarks | None

    def number(self, x: float) -> str:
        return markup(format_number(x, self.decimals))

    def grad(self, i: int) -> float | None:
        return self.order[i].grad if self.marks is None else self.marks.grads[i]

    def end(self, i: int) -> str:
        """The Graphviz node an edge to or from Value ``i`` attaches to: its box or its group's box."""
        g = self.plan.group_of[i]
        return f"v{i}" if g == DETAILED else f"g{g}"

    def value_box(self, i: int) -> Node:
        return _value_box(self, i)

    def figure(self, wrap: bool = True) -> Figure:
        """The drawing; ``wrap`` cuts one more than 24 ranks long into rows of 14."""
        settings = [
            f"\tgraph [rankdir={self.rankdir} fontname=Helvetica fontsize=11 nodesep=0.25 ranksep=0.35"
            " labelloc=t labeljust=l]",
            "\tnode [fontname=Helvetica fontsize=10 margin=0.04 height=0.3]",
            "\tedge [arrowsize=0.6 color=gray35]",
        ]
        figure = Figure("expression", settings, self.caption)
        if self.legend:
            legend = legend_table(self.largest, self.decimals, self.marks is not None)
            figure.statements.append(Node("legend", legend, {"shape": "note", "color": "gray60"}))
        for i in range(len(self.order)):
            if self.plan.group_of[i] == DETAILED:
                figure.statements.append(_value_box(self, i))
                figure.statements += _operation(self, i)
        figure.statements += _boxes(self)
        figure.ranks = [[f"g{g}" for g in column] for column in self.plan.columns]
        if wrap:
            wrap_rows(figure, ROW_RANKS, _ROW_RANKS_LIMIT, keep=("legend",))
        return figure


def _check_arguments(
    where: str, root: object, decimals: int, rankdir: str, max_nodes: int, collapse: str
) -> None:
    if not isinstance(root, Value):
        raise OperandTypeError(f"{where}: expected a Value, got {type(root).__name__} {show(root)}")
    check_settings(where, decimals, rankdir)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 20:
        raise ArgumentError(f"{where}: max_nodes must be an int >= 20, got {max_nodes!r}")
    if collapse not in COLLAPSE_MODES:
        raise ArgumentError(f"{where}: collapse must be one of {', '.join(COLLAPSE_MODES)}, got {collapse!r}")


def prepare_graph(
    root: Value,
    *,
    where: str = "draw_graph",
    decimals: int = 4,
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "LR",
    legend: bool = True,
    collapse: str = "auto",
    network: NetworkLike | None = None,
    marks: StepMarks | None = None,
    title: str = "",
) -> DrawnGraph:
    """draw_graph's checks and plan. ``marks`` (from the step-through) replaces the gradients shown and
    highlights the node passing its gradient back; ``title`` goes above the caption."""
    _check_arguments(where, root, decimals, rankdir, max_nodes, collapse)
    owners = None if network is None else neuron_of_parameters(read_network(network, where)[1])
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    plan = choose_plan(order, index, max_nodes, collapse, owners)
    grads = [v.grad for v in order] if marks is None else [g for g in marks.grads if g is not None]
    largest = max(map(abs, grads), default=0.0) if marks is None or marks.largest is None else marks.largest
    lines = [line for text in (title, plan.caption) if text for line in textwrap.wrap(text, _CAPTION_WIDTH)]
    caption = "".join(markup(line) + LEFT_BREAK for line in lines)
    return DrawnGraph(order, index, plan, decimals, rankdir, legend, caption, largest, marks)


def draw_graph(
    root: Value,
    *,
    decimals: int = 4,
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "LR",
    legend: bool = True,
    collapse: str = "auto",
    network: NetworkLike | None = None,
) -> graphviz.Digraph:
    """Draw the expression graph that computed ``root``.

    Each Value is a box ``label │ data │ grad`` (numbers as :func:`tinygrad_w.viz.text.format_number`
    writes them, ``decimals`` digits after the point), filled blue for a positive gradient and orange
    for a negative one, darker when ``|grad|`` is larger; each operation is an ellipse with the op's
    symbol, and each use of an input is one edge. Parameters (leaves with a label) have a double
    border, inputs (leaves without one) rounded corners, constants a dashed grey ellipse. Tooltips in
    SVG output give every number in full precision. A drawing more than 24 ranks long (a long chain) is
    wrapped into rows.

    Graphviz's layout time grows about with the square of the graph's size, so a graph needing more
    than ``max_nodes`` Graphviz nodes (or more than 10 edges per allowed node) is collapsed, by the
    first of these steps that fits (``collapse="auto"``):

    1. with ``network`` (the model that computed ``root``; see :mod:`tinygrad_w.viz.networks`), each
       pass through one of its neurons becomes one box, and each long run of ``+`` (a loss summed over
       samples) one "sum" box;
    2. with ``network``, each pass through a layer becomes one box;
    3. the longest sum shows its first two terms and folds the others into one box;
    4. the values nearest the output and nearest the inputs are drawn and the rest is summarised in
       boxes by depth (distance from the output).

    The caption says which step was taken; each box says how many values it hides and which ops.
    ``collapse`` may force "none", "neurons", "layers" (these two need ``network``) or "depth".

    Returns a ``graphviz.Digraph``: ``.source`` is the DOT text, :func:`render` writes it to a file, and
    Jupyter displays it inline.
    """
    drawn = prepare_graph(
        root,
        decimals=decimals,
        max_nodes=max_nodes,
        rankdir=rankdir,
        legend=legend,
        collapse=collapse,
        network=network,
    )
    return drawn.figure().drawing()


def _value_box(drawn: DrawnGraph, i: int) -> Node:
    """Value ``i`` as a box: label │ data │ grad, coloured by the gradient, marked by the step-through."""
    v, marks, grad = drawn.order[i], drawn.marks, drawn.grad(i)
    cells = [f"<b>{markup(shorten(printable(v.label)))}</b>"] if v.label else []
    if marks is not None and not v.label:
        cells.append(f"<i>#{i}</i>")  # the step texts name nodes this way
    cells += [f"data {drawn.number(v.data)}", "grad ?" if grad is None else f"grad {drawn.number(grad)}"]
    if marks is not None and grad is not None and i not in marks.finished:
        cells[-1] += " <i>so far</i>"
    fill, font = ("white", "black") if grad is None else grad_colours(grad, drawn.largest)
    style = ["filled"]
    attributes = {"shape": "box", "fillcolor": fill, "fontcolor": font}
    if v.op is None:
        style.append("rounded")
        if v.label:
            attributes["peripheries"] = "2"
    if marks is not None and i == marks.current:
        style.append("bold")
        attributes |= {"color": HIGHLIGHT, "penwidth": "3"}
    elif marks is not None and i in marks.receiving:
        style.append("dashed")
        attributes |= {"color": HIGHLIGHT, "penwidth": "2"}
    kind = "computed by " + v.op.name if v.op is not None else "parameter" if v.label else "input"
    attributes["style"] = ",".join(style)
    shown = "" if grad is None or marks is None else f"\nshown grad={grad!r}"
    attributes["tooltip"] = f"{v!r}\n{kind}{shown}"
    return Node(f"v{i}", table([cells], columns="*", cellpadding="3"), attributes)  # rules between cells


def _operation(drawn: DrawnGraph, i: int) -> list[Node | Edge]:
    """The op ellipse that computed Value ``i``, its edges, and a small ellipse per constant input."""
    v = drawn.order[i]
    if v.op is None:
        return []
    inputs = ", ".join(repr(c.data if isinstance(c, Value) else c) for c in v.children)
    tooltip = f"{v.op.name}({inputs}) = {v.data!r}"
    drawn_statements: list[Node | Edge] = [
        Node(
            f"o{i}",
            markup(v.op.symbol),
            {"shape": "ellipse", "style": "filled", "fillcolor": "gray92", "tooltip": tooltip},
        ),
        Edge(f"o{i}", f"v{i}"),
    ]
    for k, child in enumerate(v.children):
        if isinstance(child, Value):
            if drawn.plan.group_of[drawn.index[child]] == DETAILED:
                drawn_statements.append(Edge(f"v{drawn.index[child]}", f"o{i}"))
            continue
        constant = {
            "shape": "ellipse",
            "style": "dashed",
            "color": "gray50",
            "fontcolor": "gray30",
            "fontsize": "9",
            "tooltip": f"constant {child!r}",
        }
        drawn_statements += [Node(f"c{i}_{k}", drawn.number(child), constant), Edge(f"c{i}_{k}", f"o{i}")]
    return drawn_statements


def _boxes(drawn: DrawnGraph) -> list[Node | Edge]:
    """Boxes for collapsed groups, and the edges into and out of them (one per pair of ends, counted)."""
    plan, order, index = drawn.plan, drawn.order, drawn.index
    crossing: Counter[tuple[str, str]] = Counter()
    for i, v in enumerate(order):
        if not plan.groups or plan.group_of[i] == HIDDEN or v.op is None:
            continue
        target = drawn.end(i) if plan.group_of[i] >= 0 else f"o{i}"
        for child in v.children:
            if isinstance(child, Value):
                j = index[child]
                # an edge leaving a box, or a drawn value feeding a box
                from_box = plan.group_of[j] >= 0 and plan.group_of[j] != plan.group_of[i]
                if from_box or (plan.group_of[j] == DETAILED and plan.group_of[i] >= 0):
                    crossing[(drawn.end(j), target)] += 1
    statements: list[Node | Edge] = [
        Node(f"g{g}", *_group_label(group, order, drawn.decimals)) for g, group in enumerate(plan.groups)
    ]
    for (tail, head), count in crossing.items():
        counted = {"label": f"×{count:,}", "fontsize": "9", "penwidth": "1.5"} if count > 1 else {}
        statements.append(Edge(tail, head, counted))
    return statements


def _group_label(group: Group, order: Sequence[Value], decimals: int) -> tuple[str, dict[str, str]]:
    """Markup and attributes of a collapsed box: what it holds and how many values it hides."""
    ops = Counter(order[i].op.symbol for i in group.members if order[i].op is not None)  # type: ignore[union-attr]
    leaves = sum(1 for i in group.members if order[i].op is None)
    hidden = len(group.members)  # parameters are counted apart: several boxes may share them
    common = ", ".join(f"{symbol} ×{count:,}" for symbol, count in ops.most_common(4))
    common += ", …" if len(ops) > 4 else ""
    rows = [[f"<b>{markup(group.title)}</b>"], [f"{hidden:,} values hidden"]]
    rows += [[f"ops: {markup(common)}"]] if common else []
    rows += [[f"{leaves:,} leaves"]] if leaves else []
    rows += [[f"{len(group.hidden_parameters):,} parameters inside"]] if group.hidden_parameters else []
    last = order[group.members[-1]]
    if group.kind in ("neuron", "sum"):
        out, grad = format_number(last.data, decimals), format_number(last.grad, decimals)
        rows.append([f"out {markup(out)} grad {markup(grad)}"])
    if group.kind == "neuron":
        activation = last.op.name if last.op is not None and last.op.activation else "linear"
        rows.insert(1, [f"activation {activation}"])
    tooltip = [group.title, f"{hidden:,} values hidden", f"ops: {common}"]
    listed = group.hidden_parameters[:_LISTED_PARAMETERS]
    tooltip += [repr(order[p]) for p in listed]
    if len(group.hidden_parameters) > len(listed):
        tooltip.append(f"... and {len(group.hidden_parameters) - len(listed)} more parameters")
    if group.kind in ("neuron", "sum"):
        tooltip.append(f"output: {last!r}")
    attributes = {
        "shape": "box3d",
        "style": "filled",
        "fillcolor": COLLAPSED_FILL,
        "margin": "0.1",  # room for the 3-D edge, which Graphviz does not count
        "tooltip": "\n".join(tooltip),
    }
    return table(rows), attributes


def legend_table(largest: float, decimals: int, stepping: bool) -> str:
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
        (swatches(BLUES), "grad > 0"),
        (swatches(ORANGES), "grad < 0"),
        ("light → dark", f"|grad| ≥ 1%, 5%, 20%, 50% of the largest, {format_number(largest, decimals)}"),
        ("white", "grad = 0"),
    ]
    if stepping:
        rows += [
            (f'<font color="{HIGHLIGHT}">thick red</font>', "passing its gradient back now"),
            (f'<font color="{HIGHLIGHT}">dashed red</font>', "receiving a share (the sum so far)"),
            ("grad ?", "no gradient has arrived yet"),
            ("so far", "more shares are still to come"),
            ("#5", "a value without a label, by its place in the order"),
        ]
    cells = "".join(
        f'<tr><td align="left">{mark}</td><td align="left">{markup(text)}</td></tr>' for mark, text in rows
    )
    head = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
    return f'{head}<tr><td colspan="2"><b>legend</b></td></tr>{cells}</table>'
