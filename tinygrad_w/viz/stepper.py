"""Backpropagation one node at a time, as pictures: a teaching aid.

``backward()`` visits the nodes in reverse topological order. When it reaches a node, every use of
that node has already sent its share back, so the node's gradient is complete; it then applies the chain
rule along each input edge:

    input.grad += (∂node/∂input) · node.grad

:func:`backprop_steps` replays exactly that walk without touching any ``.grad`` (the local derivatives
come from each op's own ``derivative`` rule, evaluated on floats, as the engine does), and
:func:`backprop_frames` draws one picture per step plus an ``index.html`` that steps through them with
buttons or the arrow keys. The page is self-contained: the pictures are inside it, nothing is loaded
from the network.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinygrad_w.core.errors import show
from tinygrad_w.core.reverse import backpropagate, topological_order
from tinygrad_w.core.value import Value, check_finite, float_pullback
from tinygrad_w.errors import ArgumentError, OperandTypeError
from tinygrad_w.viz.drawing import (
    _INSTALL_HINT,
    GraphvizMissingWarning,
    _draw_expression,
    _format_number,
    _Marks,
    _printable,
    _run_dot,
    _write_atomically,
)

__all__ = ["BackpropStep", "backprop_frames", "backprop_steps"]


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


def _name(order: Sequence[Value], i: int) -> str:
    """How step texts name a node: its label, or #i (the drawings show the same)."""
    return _printable(order[i].label) if order[i].label else f"#{i}"


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
        top = _name(order, len(order) - 1)
        self.pending: tuple[int, tuple[tuple[int, float, float], ...], str] | None = (
            len(order) - 1, (), f"Start: the gradient of the output {top} with respect to itself is 1.")  # fmt: skip
        self.steps: list[BackpropStep] = []

    def number(self, x: float) -> str:
        return _format_number(x, self.decimals)

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
        locals_ = [
            d for _, d in float_pullback(node, 1.0)
        ]  # shares are local × upstream, aligned with children
        position = self.index[node]
        self.finished |= {j for j, first in enumerate(self.first_user) if position <= first < len(self.order)}
        sent = []
        for k, child in enumerate(node.children):
            if isinstance(child, Value):
                j = self.index[child]
                sent.append((j, locals_[k], shares[k][1] if shares else 0.0))  # no shares: upstream was 0
        self.pending = (self.index[node], tuple(sent), self.describe(node, upstream, sent))
        return shares

    def describe(self, node: Value, upstream: float, sent: list[tuple[int, float, float]]) -> str:
        assert node.op is not None
        number = self.number

        def name(i: int) -> str:
            return _name(self.order, i)

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


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
.controls {{ position: sticky; top: 0; background: white; padding: 0.5em 0; }}
button {{ font-size: 1em; padding: 0.3em 0.8em; }}
#counter {{ display: inline-block; min-width: 8em; text-align: center; }}
.frame {{ display: none; }}
.frame.shown {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
.caption {{ font-size: 1.05em; max-width: 60em; }}
pre {{ background: #f4f4f4; padding: 1em; overflow: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Gradients flow from the output back to the leaves, one node at a time. Step with the buttons or the
&larr; &rarr; keys (Home and End jump to the first and last step).</p>
<div class="controls">
<button id="first" title="first step (Home)">&#x23EE;</button>
<button id="previous" title="previous step (&larr;)">&larr; previous</button>
<span id="counter"></span>
<button id="next" title="next step (&rarr;)">next &rarr;</button>
<button id="last" title="last step (End)">&#x23ED;</button>
</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var counter = document.getElementById("counter");
  var current = 0;
  function show(i) {{
    current = Math.max(0, Math.min(frames.length - 1, i));
    for (var k = 0; k < frames.length; k++) {{ frames[k].classList.toggle("shown", k === current); }}
    counter.textContent = "step " + current + " of " + (frames.length - 1);
  }}
  document.getElementById("first").onclick = function () {{ show(0); }};
  document.getElementById("previous").onclick = function () {{ show(current - 1); }};
  document.getElementById("next").onclick = function () {{ show(current + 1); }};
  document.getElementById("last").onclick = function () {{ show(frames.length - 1); }};
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowRight" || event.key === "PageDown") {{ show(current + 1); }}
    else if (event.key === "ArrowLeft" || event.key === "PageUp") {{ show(current - 1); }}
    else if (event.key === "Home") {{ show(0); }}
    else if (event.key === "End") {{ show(frames.length - 1); }}
    else {{ return; }}
    event.preventDefault();
  }});
  show(0);
}})();
</script>
</body>
</html>
"""


def _inline_svg(svg: str) -> str:
    """SVG text to put inside HTML: without the XML declaration and DOCTYPE that precede <svg>."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def backprop_frames(
    root: Value,
    out_dir: str | Path,
    *,
    decimals: int = 4,
    rankdir: str = "LR",
    max_steps: int = 200,
    title: str = "Backpropagation, one node at a time",
) -> Path:
    """Write one SVG per step of backward (``frame_000.svg``, ...) and an ``index.html`` to step through
    them; returns the path of ``index.html``.

    In each frame the node passing its gradient back has a thick red border, the inputs receiving a
    share a dashed red border; ``grad ?`` means no share has arrived yet and ``so far`` that more are to
    come. The page embeds the pictures, so it works offline and on its own. Without Graphviz's ``dot``
    program the frames are written as ``.dot`` files and the page shows their DOT source.

    The graph must have at most ``max_steps`` operations: a step-through is for small graphs (one
    neuron, one sample); draw bigger ones with :func:`tinygrad_w.viz.draw_graph`.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"backprop_frames: expected a Value, got {type(root).__name__} {root!r}")
    operations = sum(1 for v in topological_order(root) if v.op is not None)
    if operations > max_steps:
        raise ArgumentError(
            f"backprop_frames: the graph has {operations} operations, more than max_steps={max_steps}; "
            "step through a smaller graph (one neuron, one sample) or raise max_steps"
        )
    order, steps = backprop_steps(root, decimals=decimals)
    folder = Path(out_dir)
    sections = []
    dot_missing = False
    for step in steps:
        receiving = frozenset(j for j, _, _ in step.sent)
        current = step.node if step.sent or step.number == 0 else -1
        marks = _Marks(step.grads, current, receiving, step.finished)
        caption = f"Step {step.number} of {len(steps) - 1}. {step.text}"
        drawing = _draw_expression(
            root,
            where="backprop_frames",
            decimals=decimals,
            max_nodes=10 * len(order) + 100,
            rankdir=rankdir,
            legend=True,
            collapse="none",
            marks=marks,
            title=caption,
        )
        svg = _run_dot(drawing.source, "svg", "backprop_frames")
        if svg is None:
            dot_missing = True
            frame = folder / f"frame_{step.number:03d}.dot"
            _write_atomically(frame, drawing.source.encode("utf-8"))
            picture = f"<pre>{html.escape(drawing.source)}</pre>"
        else:
            frame = folder / f"frame_{step.number:03d}.svg"
            _write_atomically(frame, svg)
            picture = _inline_svg(svg.decode("utf-8"))
        sections.append(
            f'<section class="frame" id="step{step.number}">\n<p class="caption">{html.escape(caption)}</p>\n'
            f"{picture}\n</section>"
        )
    if dot_missing:
        warnings.warn(
            f"backprop_frames: Graphviz's dot program was not found, so the frames in {folder} are DOT "
            f"source and the page shows that text. To see pictures, {_INSTALL_HINT}, then run this again.",
            GraphvizMissingWarning,
            stacklevel=2,
        )
        sections.insert(
            0, f"<p><b>Graphviz's dot program is not installed</b>: {html.escape(_INSTALL_HINT)}.</p>"
        )
    page = _PAGE.format(title=html.escape(title), frames="\n".join(sections))
    index = folder / "index.html"
    _write_atomically(index, page.encode("utf-8"))
    return index
