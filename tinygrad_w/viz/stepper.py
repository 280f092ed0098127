"""Backpropagation one node at a time, as pictures: a teaching aid.

``backward()`` visits the nodes in reverse topological order. When it reaches a node, every use of
that node has already sent its share back, so the node's gradient is complete; it then applies the chain
rule along each input edge:

    input.grad += (∂node/∂input) · node.grad

:func:`backprop_steps` replays exactly that walk without touching any ``.grad`` (it runs the core's own
walk, ``tinygrad_w.core.reverse.backpropagate``, with a pullback that records each visit), and
:func:`backprop_frames` draws one picture per step plus an ``index.html`` that steps through them with
buttons, a slider or the arrow keys. Every frame uses one Graphviz layout, made once (see
:mod:`tinygrad_w.viz.layout`): a 300-operation chain takes seconds, not minutes.
"""

from __future__ import annotations

import html
import itertools
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tinygrad_w.core.errors import show
from tinygrad_w.core.reverse import backpropagate, topological_order
from tinygrad_w.core.value import Value, check_finite, float_pullback
from tinygrad_w.errors import ArgumentError, OperandTypeError, RenderError
from tinygrad_w.viz.dot import INSTALL_HINT, GraphvizMissingWarning, write_file
from tinygrad_w.viz.expression import StepMarks, node_name, prepare_graph
from tinygrad_w.viz.figure import Figure, Node
from tinygrad_w.viz.layout import PinnedLayout, frame_pieces, lay_out, pinned_source, render_pinned
from tinygrad_w.viz.page import frames_page
from tinygrad_w.viz.text import LEFT_BREAK, format_number, markup, visible_length

__all__ = ["MAX_STEPS_CEILING", "BackpropStep", "backprop_frames", "backprop_steps"]

# Each step keeps a copy of every gradient, so memory grows with (steps)²; and a page of more than a few
# thousand frames is no longer a teaching aid. 5,000 steps keep about 200 MB of gradients.
MAX_STEPS_CEILING = 5000
_CAPTION_WIDTH = 110  # characters per caption line
_INTRO = (
    "Gradients flow from the output back to the leaves, one node at a time. Step with the buttons, the "
    "slider or the &larr; &rarr; keys (Home and End jump to the first and last step)."
)


@dataclass(frozen=True)
class BackpropStep:
    """The state of the walk after one step.

    ``node`` is the index (in ``topological_order(root)``) of the node that passed its gradient back in
    this step (the root itself for step 0, the seed ∂root/∂root = 1). ``grads[i]`` is the gradient node
    ``i`` has received so far (None: nothing yet); ``finished`` holds the nodes whose gradient is
    complete; ``sent`` lists ``(input index, local derivative, share sent)`` for each Value input.
    """

    number: int
    node: int
    grads: tuple[float | None, ...]
    finished: frozenset[int]
    sent: tuple[tuple[int, float, float], ...]
    text: str


def backprop_steps(root: Value, *, decimals: int = 4) -> tuple[list[Value], list[BackpropStep]]:
    """Replay ``root.backward()`` one node at a time; returns the topological order and the steps.

    Step 0 seeds ∂root/∂root = 1. Each later step is one visit of the reverse-mode walk
    (``tinygrad_w.core.reverse.backpropagate``, the very walk ``backward`` runs): the node's gradient is
    complete, and each Value input gets its share, local derivative × the node's gradient. After the last
    step every gradient equals what ``backward`` computes, bit for bit. No ``.grad`` is changed. Each step
    keeps its own copy of the gradients, so memory grows with (number of nodes)²: this is for small graphs.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"backprop_steps: expected a Value, got {type(root).__name__} {show(root)}")
    order = topological_order(root)
    grads: dict[Value, float] = {root: 1.0}
    recorder = _StepRecorder(order, grads, decimals)
    backpropagate(order, grads, recorder.pullback)
    check_finite(order, grads)  # the typed error backward would raise (sqrt'(0) is infinite, ...)
    recorder.snapshot()
    leaves = sum(1 for v in order if v.op is None)
    last = recorder.steps[-1]
    text = f"Done: all {leaves} leaves have their gradients, the same numbers root.backward() gives."
    everything = frozenset(range(len(order)))
    recorder.steps.append(BackpropStep(len(recorder.steps), len(order) - 1, last.grads, everything, (), text))
    return order, recorder.steps


class _StepRecorder:
    """Watches the walk: at each visit it notes what the node sends, and (at the next visit, once the walk
    has added it up) the gradients as they then stand."""

    def __init__(self, order: list[Value], grads: dict[Value, float], decimals: int) -> None:
        self.order, self.grads, self.decimals = order, grads, decimals  # grads: the walk's own table
        self.index = {v: i for i, v in enumerate(order)}
        # The walk passes nodes from the last to the first: node j's gradient is complete once its first
        # user (the user with the smallest index) has passed, whether it sent anything or not.
        self.first_user = [len(order)] * len(order)
        for i, v in enumerate(order):
            for c in v.children:
                if isinstance(c, Value):
                    self.first_user[self.index[c]] = min(self.first_user[self.index[c]], i)
        self.finished = {len(order) - 1}
        top = node_name(order, len(order) - 1)
        self.pending: tuple[int, tuple[tuple[int, float, float], ...], str] | None = (
            len(order) - 1,
            (),
            f"Start: the gradient of the output {top} with respect to itself is 1.",
        )
        self.steps: list[BackpropStep] = []

    def number(self, x: float) -> str:
        return format_number(x, self.decimals)

    def snapshot(self) -> None:
        """Close the pending step: the walk has now added the last visit's shares into ``grads``."""
        if self.pending is None:
            return
        node, sent, text = self.pending
        values = tuple(self.grads.get(v) for v in self.order)
        self.steps.append(BackpropStep(len(self.steps), node, values, frozenset(self.finished), sent, text))
        self.pending = None

    def pullback(self, node: Value, upstream: float) -> list[tuple[Value | float, float]]:
        """float_pullback, as backward uses it, plus a note of the step."""
        self.snapshot()
        shares = list(float_pullback(node, upstream))
        if node.op is None:
            return shares
        local = [
            d for _, d in float_pullback(node, 1.0)
        ]  # shares are local × upstream, aligned with children
        position = self.index[node]
        self.finished |= {j for j, first in enumerate(self.first_user) if position <= first < len(self.order)}
        sent = []
        for k, child in enumerate(node.children):
            if isinstance(child, Value):
                sent.append(
                    (self.index[child], local[k], shares[k][1] if shares else 0.0)
                )  # none: upstream 0
        self.pending = (position, tuple(sent), self.describe(node, upstream, sent))
        return shares

    def describe(self, node: Value, upstream: float, sent: list[tuple[int, float, float]]) -> str:
        assert node.op is not None
        number = self.number

        def name(i: int) -> str:
            return node_name(self.order, i)

        arguments = ", ".join(
            name(self.index[c]) if isinstance(c, Value) else number(c) for c in node.children
        )
        shares = "; ".join(
            f"{name(j)} gets {number(d)} × {number(upstream)} = {number(g)}" for j, d, g in sent
        )
        return (
            f"{name(self.index[node])} = {node.op.name}({arguments}) has its complete gradient {number(upstream)}. "
            f"Chain rule, local derivative × gradient: {shares or 'its inputs are all constants'}."
        )


def _check_frames_arguments(root: object, max_steps: object) -> None:
    if not isinstance(root, Value):
        raise OperandTypeError(f"backprop_frames: expected a Value, got {type(root).__name__} {show(root)}")
    if (
        isinstance(max_steps, bool)
        or not isinstance(max_steps, int)
        or not 1 <= max_steps <= MAX_STEPS_CEILING
    ):
        raise ArgumentError(
            f"backprop_frames: max_steps must be an int from 1 to {MAX_STEPS_CEILING:,}, got {show(max_steps)}"
        )
    operations = sum(1 for v in topological_order(root) if v.op is not None)
    if operations > max_steps:
        raise ArgumentError(
            f"backprop_frames: the graph has {operations:,} operations, more than max_steps={max_steps:,}; "
            "step through a smaller graph (one neuron, one sample) or raise max_steps"
        )


def backprop_frames(
    root: Value,
    out_dir: str | Path,
    *,
    decimals: int = 4,
    rankdir: str = "LR",
    max_steps: int = 500,
    title: str = "Backpropagation, one node at a time",
) -> Path:
    """Write one SVG per step of backward (``frame_000.svg``, ...) and an ``index.html`` to step through
    them; returns the path of ``index.html``.

    In each frame the node passing its gradient back has a thick red border, the inputs receiving a
    share a dashed red border; ``grad ?`` means no share has arrived yet and ``so far`` that more are to
    come. Shades are relative to the largest final gradient, so a box keeps its colour once complete.
    The page holds the first picture and what each step changes, so it works offline and on its own.
    Without Graphviz the frames are written as ``.dot`` files and the page shows their DOT source.

    The graph must have at most ``max_steps`` operations (at most 5,000): a step-through is for small
    graphs (one neuron, one sample); draw bigger ones with :func:`tinygrad_w.viz.draw_graph`.
    """
    _check_frames_arguments(root, max_steps)
    _, steps = backprop_steps(root, decimals=decimals)
    captions = [f"Step {s.number} of {len(steps) - 1}. {s.text}" for s in steps]
    figures = _FrameFigures(root, steps, decimals, rankdir, captions)
    folder = Path(out_dir)
    layout = lay_out(figures.widest(), "backprop_frames")
    if layout is None:
        page = _write_dot_frames(figures, folder, title, captions)
    else:
        page = _write_svg_frames(figures, layout, folder, title, captions)
    index = folder / "index.html"
    write_file(index, page.encode("utf-8"))
    return index


def _marks(step: BackpropStep, largest: float) -> StepMarks:
    receiving = frozenset(j for j, _, _ in step.sent)
    current = step.node if step.sent or step.number == 0 else -1
    return StepMarks(step.grads, current, receiving, step.finished, largest)


def _state(marks: StepMarks, i: int) -> tuple[float | None, bool, bool, bool]:
    """What a Value's box shows in a frame: its gradient so far, and its marks."""
    return marks.grads[i], i == marks.current, i in marks.receiving, i in marks.finished


class _FrameFigures:
    """The frames as figures: frame 0 in full, and for each later frame the nodes that change."""

    def __init__(
        self, root: Value, steps: Sequence[BackpropStep], decimals: int, rankdir: str, captions: Sequence[str]
    ) -> None:
        self.captions = captions
        final = [abs(g) for g in steps[-1].grads if g is not None]
        marks = [_marks(step, max(final, default=0.0)) for step in steps]
        drawn = prepare_graph(
            root,
            where="backprop_frames",
            decimals=decimals,
            rankdir=rankdir,
            max_nodes=10 * len(steps[-1].grads) + 100,
            collapse="none",
            marks=marks[0],
        )
        self.first = drawn.figure()
        self.changed: list[list[Node]] = [[]]
        for before, after in itertools.pairwise(marks):
            drawn = replace(drawn, marks=after)
            changed = [i for i in range(len(after.grads)) if _state(before, i) != _state(after, i)]
            self.changed.append([drawn.value_box(i) for i in changed])

    def caption(self, k: int) -> Node:
        lines = textwrap.wrap(self.captions[k], _CAPTION_WIDTH)
        label = "".join(markup(line) + LEFT_BREAK for line in lines)
        return Node("caption", label, {"shape": "plaintext", "fontsize": "11"})

    def widest(self) -> Figure:
        """Frame 0 with each node's widest label of all frames, and the longest caption as a free node."""
        widest = {n.name: n for n in self.first.nodes()}
        for changed in self.changed[1:]:
            for node in changed:
                if visible_length(node.label) > visible_length(widest[node.name].label):
                    widest[node.name] = node
        figure = Figure(self.first.name, self.first.settings, "", [], self.first.ranks)
        figure.statements = [widest[s.name] if isinstance(s, Node) else s for s in self.first.statements]
        lines = [line for text in self.captions for line in textwrap.wrap(text, _CAPTION_WIDTH)]
        most = max(len(textwrap.wrap(text, _CAPTION_WIDTH)) for text in self.captions)
        longest = max(lines, key=len)
        figure.statements.append(
            Node("caption", (markup(longest) + LEFT_BREAK) * most, {"shape": "plaintext", "fontsize": "11"})
        )
        return figure


def _write_svg_frames(
    figures: _FrameFigures, layout: PinnedLayout, folder: Path, title: str, captions: Sequence[str]
) -> str:
    """Draw every frame on the one layout with one run of neato, write the SVGs, and return the page."""
    size = layout.nodes["caption"]
    layout = layout.with_node("caption", 72 * float(size["width"]), 72 * float(size["height"]), 12.0)
    sources = [pinned_source(figures.first, layout, [*figures.first.nodes(), figures.caption(0)], True)]
    sources += [
        pinned_source(figures.first, layout, [*changed, figures.caption(k)], False)
        for k, changed in enumerate(figures.changed[1:], start=1)
    ]
    svgs = render_pinned(sources, "backprop_frames")
    if svgs is None:  # Graphviz installs neato with dot: this one is missing on its own
        raise RenderError(f"backprop_frames: found Graphviz's dot but not its neato program; {INSTALL_HINT}")

    def write(k: int, svg: str) -> None:
        write_file(folder / f"frame_{k:03d}.svg", svg.encode("utf-8"))

    pieces = frame_pieces(svgs, leave_out=("caption",), write=write)  # the page shows the caption as text
    return frames_page(title, _INTRO, pieces.picture, captions, pieces.changes, pieces.base, label="step")


def _write_dot_frames(figures: _FrameFigures, folder: Path, title: str, captions: Sequence[str]) -> str:
    """Without Graphviz: each frame's DOT source as a file, and a page that shows those texts."""
    statements = {node.name: node for node in figures.first.nodes()}
    sources = []
    for k, changed in enumerate(figures.changed):
        statements.update({node.name: node for node in changed})
        nodes = [statements.get(s.name, s) if isinstance(s, Node) else s for s in figures.first.statements]
        figure = replace(figures.first, caption=figures.caption(k).label or "", statements=nodes)
        sources.append(figure.source())
        write_file(folder / f"frame_{k:03d}.dot", sources[-1].encode("utf-8"))
    warnings.warn(
        f"backprop_frames: Graphviz's dot program was not found, so the frames in {folder} are DOT "
        f"source and the page shows that text. To see pictures, {INSTALL_HINT}, then run this again.",
        GraphvizMissingWarning,
        stacklevel=3,
    )
    pre = '<pre id="source">{}</pre>'
    changes: list[list[tuple[str, str]]] = [[]]
    changes += [[("source", pre.format(html.escape(source)))] for source in sources[1:]]
    note = f"<p><b>Graphviz's dot program is not installed</b>: {html.escape(INSTALL_HINT)}.</p>"
    first = pre.format(html.escape(sources[0]))
    page = frames_page(
        title, f"{note}{_INTRO}", first, captions, changes, {"source": first}, svg=False, label="step"
    )
    return page
