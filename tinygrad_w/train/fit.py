"""``fit``: train a model on (X, y) and record what happens to its loss, gradients and weights.

One epoch is one pass over the data. With ``batch_size=None`` (full batch) it is a single step:

    scores = [model(x) for x in X]
    loss   = data_loss(scores, y) + penalty(model)
    zero the gradients; loss.backward(); clip (optional); optimizer.step()

With a batch size, the samples are shuffled each epoch (``random.Random(seed)``) and each minibatch takes
one such step. The scheduler, if any, steps once per epoch. Every epoch appends to a :class:`History`.

Engines: with ``engine="scalar"`` each step builds one Value graph per sample; ``"batched"`` replays the
traced loss on arrays (:mod:`tinygrad_w.batched`, the same History to rounding); ``"auto"`` (the default)
replays when the model and loss can be traced, else warns once and uses the scalar graph.

X and y may be lists, tuples or numpy arrays, and labels numpy numbers. A model with ``model.batchwise =
True`` (such as :class:`tinygrad_w.nn.Sequential`) is called once per minibatch on the list of its samples
and returns one output per sample; a last minibatch of a single sample joins the one before (batch norm
needs two samples to estimate a variance).

Safety: each step is all or nothing. Before it, the weights, their gradients, the optimizer's state and
the model's running statistics (``model.running_state()``, which BatchNorm1d keeps) are saved; if the step
fails for any reason they are put back. If the loss, a gradient or a weight overflows or becomes
non-finite, :class:`DivergenceError` names the epoch, so the model keeps its last good weights and
``error.history`` holds the epochs before; any other error is raised as it is.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tinygrad_w.atomic import write_atomically, write_bytes_atomically
from tinygrad_w.checks import count_setting, flag_setting, real_setting, seed_setting
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import (
    ArgumentError,
    DivergenceError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    ShapeError,
    show,
)
from tinygrad_w.train import losses
from tinygrad_w.train.optim import SGD, LRScheduler, Optimizer, clip_grad_norm, parameter_list

__all__ = ["LOSSES", "History", "LossFunction", "fit"]

LossFunction = Callable[[list[Any], list[Any]], Value]

# The losses fit knows by name: the function, and the labels it accepts (None: any finite number).
LOSSES: dict[str, tuple[LossFunction, tuple[float, ...] | None]] = {
    "hinge": (losses.hinge, (-1.0, 1.0)),
    "mse": (losses.mse, None),
    "bce": (losses.bce_with_logits, (0.0, 1.0)),
    "cross_entropy": (losses.softmax_cross_entropy, None),
}


class Model(Protocol):
    """What fit needs of a model: calling it on one sample (or, if ``model.batchwise`` is True, on a
    list of samples) and its parameters."""

    def __call__(self, x: Any, /) -> Any: ...

    def parameters(self) -> list[Value]: ...


# ----------------------------------------------------------------------------------------------------
# History


@dataclass
class History:
    """What ``fit`` recorded, one entry per epoch in each list (epochs counted from 1).

    - ``loss`` = ``data_loss`` + ``penalty``: the mean over the epoch's samples (for minibatches, the
      batch losses weighted by batch size), measured on the forward passes used for the updates;
    - ``accuracy``: share of samples classified right in those same forward passes; an empty list when
      accuracy does not apply (regression with ``mse``, a custom loss on other labels);
    - ``lr``: the learning rate used during the epoch;
    - ``grad_norm``: per layer, the L2 norm of the gradient of that layer's parameters, before clipping
      (averaged over the epoch's minibatches); ``layer_names`` names the layers;
    - ``weight_stats``: ``model.weight_stats()`` after the epoch (per layer and total; see
      :func:`tinygrad_w.nn.weight_stats`); ``initial_weight_stats`` before training;
    - ``weights``: with ``record_weights=True``, every parameter's value after each epoch, by label
      (``L1.N0.w0``, ...); ``initial_weights`` holds the values before training;
    - ``seconds``: wall-clock time of each epoch.
    """

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    data_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[list[float]] = field(default_factory=list)
    weight_stats: list[dict[str, Any]] = field(default_factory=list)
    weights: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    initial_weight_stats: dict[str, Any] = field(default_factory=dict)
    initial_weights: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts and lists."""
        return asdict(self)

    def rows(self) -> tuple[list[str], list[list[object]]]:
        """The history as a table: a header and one row per epoch (what ``to_csv`` writes).

        Columns: epoch, loss, data_loss, penalty, accuracy (empty if it does not apply), lr, seconds,
        ``grad_norm.<layer>``, ``weight_stats.<layer>.<stat>`` (and ``.total.``), ``weight.<label>``.
        """
        header = ["epoch", "loss", "data_loss", "penalty", "accuracy", "lr", "seconds"]
        header += [f"grad_norm.{name}" for name in self.layer_names]
        stat_columns = _flatten(self.weight_stats[0]) if self.weight_stats else {}
        header += [f"weight_stats.{key}" for key in stat_columns]
        header += [f"weight.{label}" for label in self.weights]
        table = []
        for i, epoch in enumerate(self.epoch):
            accuracy: object = self.accuracy[i] if self.accuracy else ""
            row: list[object] = [epoch, self.loss[i], self.data_loss[i], self.penalty[i], accuracy]
            row += [self.lr[i], self.seconds[i], *self.grad_norm[i]]
            row += list(_flatten(self.weight_stats[i]).values()) if self.weight_stats else []
            row += [values[i] for values in self.weights.values()]
            table.append(row)
        return header, table

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write one row per epoch (columns as in :meth:`rows`), atomically."""
        header, table = self.rows()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in table])
        write_bytes_atomically(path, buffer.getvalue().encode("utf-8"), where="History.to_csv")

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write every field as JSON, atomically (NaN and infinities become null)."""
        text = json.dumps(_jsonable(self.as_dict()), indent=1, allow_nan=False)
        write_bytes_atomically(path, (text + "\n").encode("utf-8"), where="History.to_json")

    def plot(self, path: str | os.PathLike[str]) -> None:
        """Draw loss, accuracy, learning rate, gradient norms and weights per epoch into an image file
        (format from the extension: .png, .svg, .pdf), atomically. Needs matplotlib (the ``plot`` extra).
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError(
                "History.plot needs matplotlib: pip install tinygrad-w[plot] (or pip install matplotlib)"
            ) from exc
        figure = Figure(figsize=(13, 7.5), layout="constrained")
        canvas = FigureCanvasAgg(figure)  # the Agg canvas: no display, no global pyplot state
        file_format = _figure_format(path, canvas.get_supported_filetypes())
        axes = figure.subplots(2, 3)
        epochs = self.epoch
        ax = axes[0][0]
        ax.plot(epochs, self.loss, label="loss")
        ax.plot(epochs, self.data_loss, label="data loss", linestyle="--")
        if any(self.penalty):
            ax.plot(epochs, self.penalty, label="penalty", linestyle=":")
        ax.set(title="Loss", xlabel="epoch")
        ax.legend()
        ax = axes[0][1]
        if self.accuracy:
            ax.plot(epochs, self.accuracy)
            ax.set_ylim(-0.02, 1.02)
        ax.set(title="Accuracy" if self.accuracy else "Accuracy (does not apply)", xlabel="epoch")
        ax = axes[0][2]
        ax.plot(epochs, self.lr)
        ax.set(title="Learning rate", xlabel="epoch")
        ax = axes[1][0]
        for k, name in enumerate(self.layer_names):
            ax.plot(epochs, [norms[k] for norms in self.grad_norm], label=name)
        if self.grad_norm and all(n > 0 for norms in self.grad_norm for n in norms):
            ax.set_yscale("log")
        ax.set(title="Gradient norm per layer (before clipping)", xlabel="epoch")
        ax.legend(fontsize="small")
        ax = axes[1][1]
        layer_count = len(self.weight_stats[0].get("layers", [])) if self.weight_stats else 0
        for k in range(layer_count):
            ax.plot(epochs, [s["layers"][k]["std"] for s in self.weight_stats], label=f"L{k + 1}")
        ax.set(title="Weight standard deviation per layer", xlabel="epoch")
        if layer_count:
            ax.legend(fontsize="small")
        ax = axes[1][2]
        shown = list(self.weights.values())[:60]  # more lines than that is only ink
        for values in shown:
            ax.plot(epochs, values, linewidth=0.8)
        more = f" (first {len(shown)} of {len(self.weights)})" if len(self.weights) > len(shown) else ""
        ax.set(title=f"Weights{more}" if shown else "Weights (record_weights=False)", xlabel="epoch")
        write_atomically(path, lambda file: figure.savefig(file, format=file_format), where="History.plot")


def _flatten(stats: dict[str, Any]) -> dict[str, float]:
    """{"layers": [{mean: ..}, ..], "total": {..}} -> {"L1.mean": .., "total.mean": ..}."""
    flat: dict[str, float] = {}
    for k, layer in enumerate(stats.get("layers", [])):
        for key, value in layer.items():
            flat[f"L{k + 1}.{key}"] = value
    for key, value in stats.get("total", {}).items():
        flat[f"total.{key}"] = value
    return flat


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _figure_format(path: object, supported: dict[str, str]) -> str:
    """The image format named by the path's extension (png without one), or ArgumentError."""
    if not isinstance(path, (str, os.PathLike)):
        raise OperandTypeError(
            f"History.plot: path must be a str or a path, got {type(path).__name__} {show(path)}"
        )
    extension = os.path.splitext(os.fspath(path))[1].lower().removeprefix(".") or "png"
    if extension not in supported:
        raise ArgumentError(
            f"History.plot: cannot tell the format of {show(os.fspath(path))}; use one of "
            + ", ".join(f".{name}" for name in sorted(supported))
        )
    return extension


# ----------------------------------------------------------------------------------------------------
# fit: the loop over epochs


def fit(
    model: Model,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    *,
    loss: str | LossFunction = "hinge",
    optimizer: Optimizer | None = None,
    lr: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    penalty: Callable[[Any], Value] | float | None = None,
    scheduler: LRScheduler | None = None,
    clip: float | None = None,
    seed: int | None = None,
    progress: bool = True,
    record_weights: bool = False,
    callback: Callable[[int, History], bool | None] | None = None,
    engine: str = "auto",
) -> History:
    """Train ``model`` on samples ``X`` (lists of numbers) with labels ``y``; return the :class:`History`.

    Args:
        loss: ``"hinge"`` (labels ±1), ``"mse"`` (real targets), ``"bce"`` (labels 0/1, model outputs
            logits), ``"cross_entropy"`` (class indices, one output per class), or a function
            ``(scores, labels) -> Value`` receiving the model's outputs and labels of a batch.
        optimizer: over the model's parameters (all or some); default ``SGD(model.parameters(), lr)``.
        lr: the learning rate of the default optimizer (0.1 if not given); give either lr or optimizer.
        batch_size: None for full batch, else minibatches of that size, reshuffled every epoch.
        penalty: a function ``model -> Value`` added to the loss (``lambda m: penalties.l1(m, 1e-3)``),
            or a number λ meaning ``penalties.l2(model, λ)``; recorded apart from the data loss.
        scheduler: stepped once at the end of every epoch (built on the same optimizer).
        clip: the max gradient norm (``clip_grad_norm``), or None.
        seed: seeds the shuffling of minibatches (None means 0: runs are reproducible by default).
        progress: show a tqdm bar (only when stderr is a terminal and tqdm is installed).
        record_weights: also record every parameter's value after each epoch.
        callback: ``callback(epoch, history)`` after each epoch is recorded; returning True stops early.
        engine: ``"scalar"``, ``"batched"`` or ``"auto"`` (see the module's docstring).

    Raises ShapeError, NonFiniteError, OperandTypeError or ArgumentError for bad data or settings, naming the
    sample or the argument, and DivergenceError when training overflows (see the module's docstring).
    """
    run = _check_arguments(model, X, y, loss, optimizer, lr, batch_size, penalty, scheduler, clip, callback)
    epochs, shuffle_seed = count_setting(epochs, "epochs", "fit"), seed_setting(seed, "fit")
    rng = random.Random(0 if shuffle_seed is None else shuffle_seed)  # None means 0: reproducible by default
    history = _new_history(run, flag_setting(record_weights, "record_weights", "fit"))
    run.replayed = _replay(run, engine)  # after every check: tracing runs the model
    bar = progress_bar(epochs, flag_setting(progress, "progress", "fit"))
    try:
        for epoch in range(1, epochs + 1):
            started, lr_used = time.perf_counter(), run.optimizer.lr
            totals = _run_epoch(run, epoch, rng, history)
            _record_epoch(history, run, epoch, totals, lr_used, time.perf_counter() - started)
            _show_progress(bar, history)
            if callback is not None and callback(epoch, history):
                break
    finally:
        if bar is not None:
            bar.close()
    return history


@dataclass
class _Run:
    """What one call of fit trains with, every part checked."""

    model: Model
    params: list[Value]
    rows: list[list[float]]
    labels: list[Any]
    loss_fn: LossFunction
    loss_name: str
    named_loss: bool  # one of LOSSES: single-output scores are unwrapped for it
    accuracy_of: Callable[[list[Any], list[Any]], float | None] | None
    optimizer: Optimizer
    scheduler: LRScheduler | None
    clip_norm: float | None
    penalty_of: Callable[[Any], Value] | None
    layer_names: list[str]
    layer_params: list[list[Value]]
    batchwise: bool
    batch: int  # samples per step
    replayed: Any = None  # the batched engine's data loss (tinygrad_w.batched.training), or None

    def score(self, out: Any) -> Any:
        """A model output as the loss takes it: a single score for fit's named single-output losses."""
        return (
            _as_scalar(out, self.loss_name) if self.named_loss and self.loss_name != "cross_entropy" else out
        )

    @property
    def size(self) -> int:
        return len(self.rows)


@dataclass
class _EpochTotals:
    """Sums over the steps of one epoch."""

    data_loss: float = 0.0
    penalty: float = 0.0
    grad_norms: list[float] = field(default_factory=list)
    steps: int = 0
    scores: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)


def _run_epoch(run: _Run, epoch: int, rng: random.Random, history: History) -> _EpochTotals:
    """One pass over the data: a training step per minibatch, then the scheduler's step."""
    order = list(range(run.size))
    if run.batch < run.size:
        rng.shuffle(order)
    batches = [order[start : start + run.batch] for start in range(0, run.size, run.batch)]
    if run.batchwise and len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2] += batches.pop()  # batch norm cannot estimate a variance from one sample
    totals = _EpochTotals(grad_norms=[0.0] * len(run.layer_names), steps=len(batches))
    for number, indices in enumerate(batches, start=1):
        inputs, targets = [run.rows[i] for i in indices], [run.labels[i] for i in indices]
        where = f"epoch {epoch}" + (f", batch {number} of {len(batches)}" if len(batches) > 1 else "")
        step = _guarded_step(run, inputs, targets, where, epoch, history)
        totals.data_loss += step.data_loss * len(indices)
        totals.penalty += step.penalty * len(indices)
        totals.grad_norms = [a + b for a, b in zip(totals.grad_norms, step.grad_norms)]
        totals.scores.extend(step.scores)
        totals.labels.extend(targets)
    if run.scheduler is not None:
        run.scheduler.step()
    return totals


def _record_epoch(
    history: History, run: _Run, epoch: int, totals: _EpochTotals, lr_used: float, seconds: float
) -> None:
    """Append the epoch's means, accuracy, rate, gradient norms, weight statistics (and weights)."""
    n = run.size
    history.epoch.append(epoch)
    history.data_loss.append(totals.data_loss / n)
    history.penalty.append(totals.penalty / n)
    history.loss.append((totals.data_loss + totals.penalty) / n)
    measured = run.accuracy_of(totals.scores, totals.labels) if run.accuracy_of is not None else None
    if measured is not None:
        history.accuracy.append(measured)
    history.lr.append(lr_used)
    history.grad_norm.append([s / totals.steps for s in totals.grad_norms])
    history.weight_stats.append(_weight_stats(run.model))
    for values, p in zip(history.weights.values(), run.params):  # empty unless record_weights
        values.append(p.data)
    history.seconds.append(seconds)


def _new_history(run: _Run, record_weights: bool) -> History:
    history = History(layer_names=run.layer_names, initial_weight_stats=_weight_stats(run.model))
    if record_weights:
        labels = _labels_of(run.params)
        history.initial_weights = {label: p.data for label, p in zip(labels, run.params)}
        history.weights = {label: [] for label in labels}
    return history


def _show_progress(bar: Any, history: History) -> None:
    if bar is not None:
        shown = {"loss": f"{history.loss[-1]:.4g}"}
        if history.accuracy:
            shown["acc"] = f"{history.accuracy[-1]:.3f}"
        bar.set_postfix(shown)
        bar.update(1)


# ----------------------------------------------------------------------------------------------------
# One training step


@dataclass
class _StepResult:
    data_loss: float
    penalty: float
    grad_norms: list[float]  # per layer, before clipping
    scores: list[Any]  # the model's outputs as numbers (so the epoch does not keep every graph alive)


def _guarded_step(
    run: _Run, inputs: list[list[float]], targets: list[Any], where: str, epoch: int, history: History
) -> _StepResult:
    """One step, all or nothing: on any error what it changed is put back; an overflow or a non-finite
    number becomes DivergenceError naming the epoch (and batch)."""
    saved = _snapshot(run)
    try:
        return _train_step(run, inputs, targets)
    except BaseException as exc:  # even Ctrl-C: no half-updated model
        _restore(run, saved)
        if isinstance(exc, (OperationError, NonFiniteError, ArithmeticError)):
            raise DivergenceError(
                f"fit: training diverged in {where}: {exc}. The model keeps the weights it had before this "
                "step; try a smaller learning rate or clip=...",
                epoch,
                history,
            ) from exc
        raise


# speed: the step's graph has no cycles and is freed on return, so the collector can only waste time on
# it: fit on the scalar graph beside a notebook's heap is 3x faster (209 -> 69 ms/epoch)
@collector_paused
def _train_step(run: _Run, inputs: list[list[float]], targets: list[Any]) -> _StepResult:
    """Forward, loss, backward, then clip and update:

    loss = data_loss(model(inputs), targets) + penalty(model);  ∇ by backward;  optimizer.step()
    """
    if run.replayed is not None:  # the same data loss, as one node replayed on arrays
        outputs, data_loss = run.replayed(inputs, targets)
    else:
        outputs = run.model(inputs) if run.batchwise else [run.model(x) for x in inputs]
        outputs = _checked_outputs(run, outputs, len(inputs))
        data_loss = _as_loss(run.loss_fn(outputs, targets), "the loss")
    penalty = _as_loss(run.penalty_of(run.model), "penalty(model)") if run.penalty_of else None
    total = data_loss if penalty is None else data_loss + penalty
    if not math.isfinite(total.data):
        raise NonFiniteError(f"the loss is {total.data!r}")
    for p in run.params:
        p.grad = 0.0
    run.optimizer.zero_grad()
    total.backward()
    norms = [math.hypot(*(p.grad for p in group)) for group in run.layer_params]
    if run.clip_norm is not None:
        clip_grad_norm(run.params, run.clip_norm)
    run.optimizer.step()
    penalty_value = 0.0 if penalty is None else penalty.data
    return _StepResult(data_loss.data, penalty_value, norms, [_plain(out) for out in outputs])


def _checked_outputs(run: _Run, outputs: Any, count: int) -> list[Any]:
    """One output per sample; for a named loss other than cross_entropy, each a single score."""
    if not isinstance(outputs, list) or len(outputs) != count:
        raise ShapeError(f"fit: the model returned {show(outputs)} for a batch of {count} samples")
    return [run.score(out) for out in outputs]


def _as_loss(value: object, what: str) -> Value:
    if not isinstance(value, Value):
        raise OperandTypeError(f"fit: {what} returned {type(value).__name__} {show(value)}, not a Value")
    return value


def _snapshot(run: _Run) -> tuple[list[float], list[float], dict[str, Any], Any]:
    """What a step changes: weights, gradients, the optimizer's state and the model's running state."""
    running_state = getattr(run.model, "running_state", None)
    return (
        [p.data for p in run.params],
        [p.grad for p in run.params],
        run.optimizer.state_dict(),
        running_state() if callable(running_state) else None,
    )


def _restore(run: _Run, saved: tuple[list[float], list[float], dict[str, Any], Any]) -> None:
    weights, grads, optimizer_state, running_state = saved
    for p, value, gradient in zip(run.params, weights, grads):
        p.data, p.grad = value, gradient
    run.optimizer.load_state_dict(optimizer_state)
    if running_state is not None:
        run.model.restore_running_state(running_state)  # type: ignore[attr-defined]


def _as_scalar(out: Any, loss: str) -> Any:
    """A single-output model's score: a Value (a one-element list is unwrapped)."""
    if isinstance(out, Value):
        return out
    if isinstance(out, Sequence) and len(out) == 1:
        return out[0]
    size = len(out) if isinstance(out, Sequence) else type(out).__name__
    raise ShapeError(f"fit: the {loss} loss needs a model with one output, got {size} outputs")


def _plain(out: Any) -> Any:
    """A model output as numbers."""
    if isinstance(out, Value):
        return out.data
    if isinstance(out, Sequence):
        return [v.data if isinstance(v, Value) else v for v in out]
    return out


# ----------------------------------------------------------------------------------------------------
# Checking the arguments


def _check_arguments(
    model: Model,
    X: object,
    y: object,
    loss: str | LossFunction,
    optimizer: Optimizer | None,
    lr: float | None,
    batch_size: int | None,
    penalty: Callable[[Any], Value] | float | None,
    scheduler: LRScheduler | None,
    clip: float | None,
    callback: object,
) -> _Run:
    """Every argument checked, before anything is trained; errors name the argument (or the sample)."""
    params = _model_parameters(model)
    rows, labels = _check_samples(X, y, getattr(model, "nin", None))
    batchwise = getattr(model, "batchwise", False) is True
    loss_fn, loss_name = _loss_rule(loss)
    if isinstance(loss, str):
        classes = _class_count(model, rows[0], batchwise) if loss == "cross_entropy" else None
        _check_labels(loss, labels, classes)
    optimizer = _check_optimizer(optimizer, lr, params)
    if scheduler is not None and not isinstance(scheduler, LRScheduler):
        raise OperandTypeError(f"fit: scheduler must be a tinygrad_w.optim scheduler, got {show(scheduler)}")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ArgumentError("fit: the scheduler was built on a different optimizer than the one training")
    if callback is not None and not callable(callback):
        raise OperandTypeError(
            f"fit: callback must be a function (epoch, history) -> bool, got {show(callback)}"
        )
    layer_names, layer_params = _layers(model)
    batch = len(rows) if batch_size is None else count_setting(batch_size, "batch_size", "fit")
    return _Run(
        model=model,
        params=params,
        rows=rows,
        labels=labels,
        loss_fn=loss_fn,
        loss_name=loss_name,
        named_loss=isinstance(loss, str),
        accuracy_of=_accuracy_rule(loss if isinstance(loss, str) else None, labels),
        optimizer=optimizer,
        scheduler=scheduler,
        clip_norm=None if clip is None else real_setting(clip, "clip", "fit", low=0.0, low_open=True),
        penalty_of=_penalty_rule(penalty),
        layer_names=layer_names,
        layer_params=layer_params,
        batchwise=batchwise,
        batch=min(batch, len(rows)),
    )


def _replay(run: _Run, engine: object) -> Any:
    """The batched engine's data loss for this run (:mod:`tinygrad_w.batched.training`), or None for the
    scalar graph."""
    if not isinstance(engine, str):  # (the batched engine names the choices for a str)
        raise ArgumentError(f"fit: engine must be 'auto', 'scalar' or 'batched', got {show(engine)}")
    from tinygrad_w.batched.training import batched_engine  # numpy is loaded only when fit is used

    return batched_engine(
        engine, run.model, run.loss_name, run.loss_fn, run.score, run.rows, run.labels, run.batchwise
    )


def _model_parameters(model: object) -> list[Value]:
    """The model's parameters: it must be callable and have a ``parameters()`` list of Values."""
    if not callable(model) or not callable(getattr(model, "parameters", None)):
        raise OperandTypeError(
            f"fit: model must be callable and have parameters(), got {type(model).__name__} {show(model)}"
        )
    return parameter_list(model.parameters(), "fit: model.parameters()")  # type: ignore[attr-defined]


def _check_samples(X: object, y: object, nin: object) -> tuple[list[list[float]], list[Any]]:
    """X as lists of floats and y as labels (ints stay ints), after checking sizes and values; errors
    name the sample."""
    samples, labels = losses.samples(X, "fit", "X"), losses.samples(y, "fit", "y")
    if len(samples) != len(labels):
        raise ShapeError(f"fit: X has {len(samples)} samples but y has {len(labels)} labels; they must match")
    if not samples:
        raise ShapeError("fit: X and y are empty; there is nothing to train on")
    expected = nin if isinstance(nin, int) else None
    rows = []
    for i, sample in enumerate(samples):
        features = losses.samples(sample, "fit", f"sample {i}")
        row = [as_real(x, f"fit: sample {i}, feature {k}") for k, x in enumerate(features)]
        if expected is None:
            expected = len(row)  # without model.nin, sample 0 sets the feature count
        if len(row) != expected:
            source = "the model takes" if isinstance(nin, int) else "sample 0 has"
            raise ShapeError(f"fit: sample {i} has {len(row)} features but {source} {expected}")
        rows.append(row)
    return rows, [_label(label, i) for i, label in enumerate(labels)]


def _label(label: object, index: int) -> int | float:
    """A label as an int (class indices, ±1) or a finite float (regression targets); numpy's too."""
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)
    return as_real(label, f"fit: the label of sample {index}")


def _loss_rule(loss: object) -> tuple[LossFunction, str]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ArgumentError(f"fit: unknown loss {show(loss)}; known: {', '.join(LOSSES)}, or a function")
        return LOSSES[loss][0], loss
    if callable(loss):
        return loss, getattr(loss, "__name__", "custom")
    raise OperandTypeError(f"fit: loss must be a name or a function, got {type(loss).__name__} {show(loss)}")


def _check_labels(loss: str, y: Sequence[Any], classes: int | None) -> None:
    allowed = LOSSES[loss][1]
    if allowed is not None:
        for i, label in enumerate(y):
            if float(label) not in allowed:
                hint = "convert with data.to_pm1" if loss == "hinge" else "convert with data.to_01"
                shown = " or ".join(f"{a:g}" for a in allowed)
                raise ArgumentError(
                    f"fit: sample {i} has label {label!r}; the {loss} loss needs labels {shown} ({hint})"
                )
    if loss == "cross_entropy":
        for i, label in enumerate(y):
            if not isinstance(label, int) or label < 0 or (classes is not None and label >= classes):
                raise ArgumentError(
                    f"fit: sample {i} has class {label!r}; classes are integers 0..{'K' if classes is None else classes}-1"
                )


def _check_optimizer(optimizer: object, lr: object, params: list[Value]) -> Optimizer:
    """The optimizer to train with: the given one (over some or all of the model's parameters, and no
    others: an optimizer over another model's parameters would train nothing), or SGD at ``lr``."""
    if optimizer is None:
        return SGD(params, 0.1 if lr is None else real_setting(lr, "lr", "fit", low=0.0))
    if lr is not None:
        raise ArgumentError("fit: give the learning rate to the optimizer, not to fit, when you pass one")
    if not isinstance(optimizer, Optimizer):
        raise OperandTypeError(f"fit: optimizer must be a tinygrad_w.optim optimizer, got {show(optimizer)}")
    own = set(params)
    for i, p in enumerate(optimizer.params):
        if p not in own:
            raise ArgumentError(
                f"fit: the optimizer's parameter {i} ({show(p.label or p)}) is not a parameter of this model; "
                "build the optimizer on model.parameters()"
            )
    return optimizer


def _class_count(model: Model, sample: list[float], batchwise: bool) -> int | None:
    """How many outputs (classes) the model has: ``model.nouts[-1]`` for an MLP, else from one forward pass
    (not for a batchwise model, whose forward pass in training mode would update running statistics)."""
    nouts = getattr(model, "nouts", None)
    if isinstance(nouts, Sequence) and nouts and isinstance(nouts[-1], int):
        count = nouts[-1]
    elif batchwise:
        return None
    else:
        out = model(sample)
        count = len(out) if isinstance(out, Sequence) else 1
    if count < 2:
        raise ShapeError(f"fit: the cross_entropy loss needs one output per class, but the model has {count}")
    return count


def _penalty_rule(penalty: Callable[[Any], Value] | float | None) -> Callable[[Any], Value] | None:
    if penalty is None or callable(penalty):
        return penalty
    strength = real_setting(penalty, "penalty (an L2 strength, or a function)", "fit", low=0.0)
    from tinygrad_w.nn.penalties import l2

    return lambda model: l2(model, strength)


def _layers(model: Model) -> tuple[list[str], list[list[Value]]]:
    """Layer names and their parameters, for gradient norms; one group 'all' if the model has no layers."""
    layers = getattr(model, "layers", None)
    if isinstance(layers, Sequence) and layers and all(hasattr(layer, "parameters") for layer in layers):
        groups = [list(layer.parameters()) for layer in layers]
        names = [f"L{k + 1}" for k in range(len(groups))]
        return names, groups
    return ["all"], [model.parameters()]


def _weight_stats(model: Model) -> dict[str, Any]:
    stats_of = getattr(model, "weight_stats", None)
    if callable(stats_of):
        return dict(stats_of())
    from tinygrad_w.nn.layers import weight_stats

    return {"layers": [], "total": dict(weight_stats(model.parameters()))}


def _labels_of(params: list[Value]) -> list[str]:
    labels, seen = [], set()
    for i, p in enumerate(params):
        label = p.label or f"param{i}"
        if label in seen:
            label = f"{label}#{i}"
        seen.add(label)
        labels.append(label)
    return labels


def progress_bar(epochs: int, enabled: bool) -> Any:
    """A tqdm bar on stderr when asked for, stderr is a terminal and tqdm is installed; else None."""
    if not enabled or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, desc="fit", unit="epoch", file=sys.stderr, leave=True)


def _accuracy_rule(
    loss: str | None, labels: list[Any]
) -> Callable[[list[Any], list[Any]], float | None] | None:
    """How to measure accuracy for this loss and these labels, or None where it does not apply.

    hinge and bce: the sign of the score (threshold 0 on logits); cross_entropy: the largest logit. For
    mse and custom losses: the sign of the score when the labels are all ±1 and the model has one
    output, the largest output when the labels are class indices and the model has several outputs.
    """
    if loss in ("hinge", "bce"):
        return losses.accuracy
    if loss == "cross_entropy":
        return losses.multiclass_accuracy
    signs = all(float(label) in (-1.0, 1.0) for label in labels)
    indices = loss is None and all(isinstance(label, int) and label >= 0 for label in labels)

    def by_output_shape(scores: list[Any], seen: list[Any]) -> float | None:
        several = isinstance(scores[0], list)
        if several and indices and all(label < len(scores[0]) for label in seen):
            return losses.multiclass_accuracy(scores, seen)
        if not several and signs:
            return losses.accuracy(scores, seen)
        return None

    return by_output_shape if signs or indices else None
