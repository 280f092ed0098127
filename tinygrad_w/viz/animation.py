"""Training as an animation: the network diagram epoch by epoch, with the loss curve and a slider.

:func:`animate_training` takes a network and its states during training, either a ``fit`` History
recorded with ``record_weights=True`` (read through the small :class:`HistoryLike` protocol, so viz does
not import the training code) or a list of :class:`Snapshot` (weights by label, the loss, and the
gradients if you have them). It writes a self-contained ``index.html`` (no network access: the first
picture, and for each later epoch only the numbers that change; slider, buttons and arrow keys) and a
``training.gif``. Frame 0 is the network before training; frame k is after epoch k, as History counts.

Every frame is drawn on one Graphviz layout, and pen widths and colours use one scale for all frames
(the largest |w| of the whole run), so an edge that grows looks like it grows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tinygrad_w.core.errors import show
from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError, OperandTypeError, RenderError
from tinygrad_w.viz.dot import INSTALL_HINT, check_settings, write_file
from tinygrad_w.viz.figure import Figure, Node
from tinygrad_w.viz.gif import GIF_SIZE, chosen_frames, write_gif
from tinygrad_w.viz.layout import frame_pieces, lay_out, pinned_source, render_pinned, render_pinned_png
from tinygrad_w.viz.network import NetworkStyle, columns_figure, input_names_for
from tinygrad_w.viz.networks import Column, NetworkLike, NeuronColumn, NeuronView, NormColumn, read_network
from tinygrad_w.viz.page import frames_page
from tinygrad_w.viz.plot import MARKER_SLOT, loss_curve_svg
from tinygrad_w.viz.text import format_number, visible_length

__all__ = ["HistoryLike", "Snapshot", "animate_training", "snapshots_from_history"]

_INTRO = (
    "The network after each epoch of training, with one scale of edge widths for every epoch. Step with "
    "the buttons, the slider or the &larr; &rarr; keys (Home and End jump to the first and last epoch)."
)


class HistoryLike(Protocol):
    """What animate_training reads of a ``tinygrad_w.train.History`` recorded with ``record_weights``."""

    @property
    def loss(self) -> list[float]: ...
    @property
    def weights(self) -> dict[str, list[float]]: ...
    @property
    def initial_weights(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class Snapshot:
    """The network at one moment of training: every parameter's value by label, the loss then (None
    before training) and, if recorded, every parameter's gradient by label."""

    epoch: int
    weights: Mapping[str, float]
    loss: float | None = None
    grads: Mapping[str, float] | None = None


def snapshots_from_history(history: HistoryLike) -> list[Snapshot]:
    """Epoch 0 (the initial weights) and one snapshot per epoch of a History. History records no
    gradients, so these snapshots have none."""
    initial, per_epoch, losses = history.initial_weights, history.weights, history.loss
    if not initial or not per_epoch:
        raise ArgumentError(
            "animate_training: the history holds no weights; train with fit(..., record_weights=True)"
        )
    epochs = len(losses)
    if any(len(values) != epochs for values in per_epoch.values()):
        raise ArgumentError(f"animate_training: the history's weights do not cover its {epochs} epochs")
    snapshots = [Snapshot(0, dict(initial))]
    for k in range(epochs):
        snapshots.append(
            Snapshot(k + 1, {label: values[k] for label, values in per_epoch.items()}, losses[k])
        )
    return snapshots


def _check(snapshots: Sequence[Snapshot], labels: Sequence[str]) -> bool:
    """Every parameter has a distinct label found in every snapshot; returns whether all have gradients."""
    if not snapshots or not all(isinstance(s, Snapshot) for s in snapshots):
        raise OperandTypeError("animate_training: expected a History or a non-empty list of Snapshot")
    repeated = sorted({label for label in labels if labels.count(label) > 1 or not label})
    if repeated:
        raise ArgumentError(
            f"animate_training: parameters need distinct labels; repeated or empty: {show(repeated)}"
        )
    for snapshot in snapshots:
        missing = [label for label in labels if label not in snapshot.weights]
        if missing:
            raise ArgumentError(
                f"animate_training: epoch {snapshot.epoch} has no value for {show(missing[:3])}"
            )
        bad = [label for label in labels if not math.isfinite(snapshot.weights[label])]
        if bad:
            raise ArgumentError(f"animate_training: epoch {snapshot.epoch}: {show(bad[:3])} are not finite")
    return all(s.grads is not None and all(label in s.grads for label in labels) for s in snapshots)


def _parameters(columns: Sequence[Column]) -> list[Value]:
    found: list[Value] = []
    for column in columns:
        if isinstance(column, NeuronColumn):
            found += [p for n in column.neurons for p in (*n.w, n.b)]
        elif isinstance(column, NormColumn):
            found += [*column.gamma, *column.beta]
    return found


def _at(columns: Sequence[Column], snapshot: Snapshot, with_grads: bool) -> list[Column]:
    """The columns with fresh Values holding the snapshot's numbers (the model itself is not touched)."""

    def value(p: Value) -> Value:
        fresh = Value(snapshot.weights[p.label], p.label)
        fresh.grad = snapshot.grads[p.label] if with_grads and snapshot.grads is not None else 0.0
        return fresh

    def neuron(n: NeuronView) -> NeuronView:
        return NeuronView(n.label, tuple(value(w) for w in n.w), value(n.b), n.activation)

    return [
        NeuronColumn(tuple(neuron(n) for n in c.neurons)) if isinstance(c, NeuronColumn)
        else NormColumn(c.label, tuple(map(value, c.gamma)), tuple(map(value, c.beta))) if isinstance(c, NormColumn)
        else c
        for c in columns
    ]  # fmt: skip


def _style(
    columns: Sequence[Column], snapshots: Sequence[Snapshot], decimals: int, with_grads: bool
) -> NetworkStyle:
    """One scale for every frame: the largest |w| and the largest bias gradient of the whole run."""
    weights = [w.label for c in columns if isinstance(c, NeuronColumn) for n in c.neurons for w in n.w]
    units = [p.label for p in _parameters(columns) if p.label not in set(weights)]
    largest_weight = max(abs(s.weights[label]) for s in snapshots for label in weights) if weights else 1.0
    largest_grad = 0.0
    if with_grads:
        largest_grad = max(
            (abs(s.grads[label]) for s in snapshots if s.grads for label in units), default=0.0
        )
    return NetworkStyle(decimals, "LR", None, None, 2000, largest_weight or 1.0, largest_grad, with_grads)


def animate_training(
    model: NetworkLike,
    training: HistoryLike | Sequence[Snapshot],
    out_dir: str | Path,
    *,
    decimals: int = 4,
    input_names: Sequence[str] | None = None,
    title: str = "Training, epoch by epoch",
    gif: bool = True,
    gif_seconds_per_frame: float = 0.2,
) -> Path:
    """Write ``index.html`` (and, if ``gif``, ``training.gif``) to ``out_dir``; returns the page's path.

    ``model`` gives the network's shape (its current values are not used, nor changed); ``training`` is
    a History recorded with ``record_weights=True`` or a list of :class:`Snapshot`. Parameters are
    matched by label. Gradients are shown when every snapshot has them (History records none). Needs
    Graphviz; the GIF needs matplotlib (``pip install tinygrad-w[plot]``).
    """
    check_settings("animate_training", decimals, "LR")
    nin, columns = read_network(model, "animate_training")
    names = input_names_for(nin, input_names, "animate_training")
    snapshots = list(training) if isinstance(training, Sequence) else snapshots_from_history(training)
    with_grads = _check(snapshots, [p.label for p in _parameters(columns)])
    style = _style(columns, snapshots, decimals, with_grads)
    figures = [columns_figure(nin, _at(columns, s, with_grads), names, style) for s in snapshots]
    legend = figures[0].caption.replace("<br/>", "; ")
    for figure in figures:
        figure.caption = ""  # the page says it once, above the picture
    sources, size = _pinned_sources(figures)
    svgs = render_pinned(sources, "animate_training")
    if not sources or svgs is None:
        raise RenderError(f"animate_training: Graphviz's dot and neato programs are needed; {INSTALL_HINT}")
    folder = Path(out_dir)
    losses = [s.loss for s in snapshots]
    curve, markers = loss_curve_svg(losses, [s.epoch for s in snapshots], decimals)
    pieces = frame_pieces(svgs)
    changes = [[*changed, ("loss-marker", marker)] for changed, marker in zip(pieces.changes, markers)]
    changes[0] = []
    captions = [_caption(s, len(snapshots) - 1, decimals) for s in snapshots]
    intro = f"{_INTRO}<br>{legend}"
    page = frames_page(title, intro, pieces.picture, captions, changes, {**pieces.base, "loss-marker": markers[0]},
                       label="epoch", aside=curve.replace(MARKER_SLOT, markers[0]))  # fmt: skip
    index = folder / "index.html"
    write_file(index, page.encode("utf-8"))
    if gif:
        chosen = chosen_frames(len(sources))
        # Drawn directly at the size the GIF shows: faster than drawing big and shrinking.
        dpi = min(96.0, 72.0 * GIF_SIZE[0] / size[0], 72.0 * GIF_SIZE[1] / size[1])
        pngs = render_pinned_png([sources[k] for k in chosen], "animate_training", dpi) or []
        epochs = [s.epoch for s in snapshots]
        write_gif(
            folder / "training.gif", list(zip(chosen, pngs)), epochs, losses, captions, gif_seconds_per_frame
        )
    return index


def _caption(snapshot: Snapshot, last: int, decimals: int) -> str:
    if snapshot.loss is None:
        return f"Epoch {snapshot.epoch} of {last}: the weights before training."
    return f"Epoch {snapshot.epoch} of {last}: loss {format_number(snapshot.loss, decimals)}."


def _pinned_sources(figures: Sequence[Figure]) -> tuple[list[str], tuple[float, float]]:
    """Lay the first frame out (with each node's widest label of all frames) and pin every frame to it;
    the DOT texts (none without Graphviz), and the layout's width and height in points."""
    widest = {node.name: node for node in figures[0].nodes()}
    for figure in figures[1:]:
        for node in figure.nodes():
            if visible_length(node.label) > visible_length(widest[node.name].label):
                widest[node.name] = node
    first = figures[0]
    statements = [widest[s.name] if isinstance(s, Node) else s for s in first.statements]
    layout = lay_out(Figure(first.name, first.settings, "", statements, first.ranks), "animate_training")
    if layout is None:
        return [], (1.0, 1.0)
    x0, y0, x1, y1 = layout.box
    return [pinned_source(f, layout, f.nodes(), True) for f in figures], (
        max(x1 - x0, 1.0),
        max(y1 - y0, 1.0),
    )
