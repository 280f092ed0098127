"""``fit``: train a model on (X, y) and record what happens to its loss, gradients and weights.

One epoch is one pass over the data. With ``batch_size=None`` (full batch) it is a single step:

    scores = [model(x) for x in X]
    loss   = data_loss(scores, y) + penalty(model)
    zero the gradients; loss.backward(); clip (optional); optimizer.step()

With a batch size, the samples are shuffled each epoch (``random.Random(seed)``) and each minibatch takes
one such step. The scheduler, if any, steps once per epoch. Every epoch appends to a :class:`History`.

Safety: before each step the parameters (and the optimizer's state) are saved. If the loss, a gradient
or a weight overflows or becomes non-finite, they are put back and :class:`DivergenceError` names the
epoch, so the model keeps its last good weights and ``error.history`` holds the epochs before.
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
from tinygrad_w.core.value import Value
from tinygrad_w.errors import (
    ArgumentError,
    DivergenceError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    ShapeError,
)
from tinygrad_w.train import losses
from tinygrad_w.train.optim import SGD, LRScheduler, Optimizer, clip_grad_norm

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
        write_bytes_atomically(path, buffer.getvalue().encode("utf-8"))

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write every field as JSON, atomically (NaN and infinities become null)."""
        text = json.dumps(_jsonable(self.as_dict()), indent=1, allow_nan=False)
        write_bytes_atomically(path, (text + "\n").encode("utf-8"))

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
        FigureCanvasAgg(figure)  # the Agg canvas: no display, no global pyplot state
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
        _save_figure_atomically(figure, path)


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


def _save_figure_atomically(figure: Any, path: str | os.PathLike[str]) -> None:
    extension = os.path.splitext(os.fspath(path))[1] or ".png"
    write_atomically(path, lambda file: figure.savefig(file, format=extension[1:]))


# ----------------------------------------------------------------------------------------------------
# Checking the input


def _check_samples(X: Sequence[Sequence[float]], y: Sequence[Any], nin: int | None) -> list[list[float]]:
    """X as lists of floats, after checking sizes and values; errors name the sample."""
    for name, data in (("X", X), ("y", y)):
        if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
            raise OperandTypeError(f"fit: {name} must be a sequence, got {type(data).__name__}")
    if len(X) != len(y):
        raise ShapeError(f"fit: X has {len(X)} samples but y has {len(y)} labels; they must match")
    if len(X) == 0:
        raise ShapeError("fit: X and y are empty; there is nothing to train on")
    expected = nin
    rows = []
    for i, sample in enumerate(X):
        if isinstance(sample, (str, bytes)) or not isinstance(sample, Sequence):
            raise OperandTypeError(f"fit: sample {i} must be a sequence of numbers, got {sample!r}")
        if expected is None:
            expected = len(sample)  # without model.nin, sample 0 sets the feature count
        if len(sample) != expected:
            source = "the model takes" if nin is not None else "sample 0 has"
            raise ShapeError(f"fit: sample {i} has {len(sample)} features but {source} {expected}")
        row: list[float] = []
        for k, value in enumerate(sample):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise OperandTypeError(f"fit: sample {i}, feature {k} is {type(value).__name__} {value!r}")
            number = float(value)
            if not math.isfinite(number):
                raise NonFiniteError(f"fit: sample {i}, feature {k} is {number!r}; data must be finite")
            row.append(number)
        rows.append(row)
    for i, label in enumerate(y):
        if isinstance(label, bool) or not isinstance(label, numbers.Real):
            raise OperandTypeError(f"fit: the label of sample {i} is {type(label).__name__} {label!r}")
        if not math.isfinite(float(label)):
            raise NonFiniteError(f"fit: the label of sample {i} is {label!r}; labels must be finite")
    return rows


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


def _as_scalar(out: Any, loss: str) -> Any:
    """A single-output model's score: a Value (a one-element list is unwrapped)."""
    if isinstance(out, Value):
        return out
    if isinstance(out, Sequence) and len(out) == 1:
        return out[0]
    size = len(out) if isinstance(out, Sequence) else type(out).__name__
    raise ShapeError(f"fit: the {loss} loss needs a model with one output, got {size} outputs")


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


def _progress_bar(epochs: int, enabled: bool) -> Any:
    """A tqdm bar on stderr when asked for, stderr is a terminal and tqdm is installed; else None."""
    if not enabled or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, desc="fit", unit="epoch", file=sys.stderr, leave=True)


# ----------------------------------------------------------------------------------------------------
# fit


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
        optimizer: built on ``model.parameters()``; default ``SGD(model.parameters(), lr)``.
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
        engine: ``"scalar"`` builds one Value graph per sample; ``"batched"`` replays the traced loss on
            arrays (:mod:`tinygrad_w.batched`, same History to rounding); ``"auto"`` (default) replays
            when the model and loss can be traced, else warns once and uses the scalar graph.

    A model with ``model.batchwise = True`` (such as :class:`tinygrad_w.batchnorm.Sequential`) is called
    once per minibatch on the list of its samples and returns one output per sample; a last minibatch
    of a single sample joins the one before (batch norm needs two samples to estimate a variance).

    Raises:
        ShapeError / NonFiniteError / OperandTypeError: bad X or y, naming the sample.
        ArgumentError: bad settings, or labels that do not fit the loss (naming the sample).
        DivergenceError: the loss, a gradient or a weight overflowed in some epoch; the model keeps the
            weights it had before that step and ``error.history`` holds the epochs before.
    """
    params = model.parameters()
    X_rows = _check_samples(X, y, getattr(model, "nin", None))
    labels = list(y)
    n = len(X_rows)
    epochs = _count(epochs, "epochs")
    batch = n if batch_size is None else min(_count(batch_size, "batch_size"), n)
    batchwise = bool(getattr(model, "batchwise", False))

    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ArgumentError(f"fit: unknown loss {loss!r}; known: {', '.join(LOSSES)}, or a function")
        loss_fn = LOSSES[loss][0]
        loss_name = loss
    elif callable(loss):
        loss_fn, loss_name = loss, getattr(loss, "__name__", "custom")
    else:
        raise OperandTypeError(f"fit: loss must be a name or a function, got {loss!r}")
    multiclass = loss_name == "cross_entropy"
    if isinstance(loss, str):
        classes = None
        if multiclass:
            classes = _class_count(model, X_rows[0], batchwise)
        _check_labels(loss, labels, classes)
    accuracy_of = _accuracy_rule(loss if isinstance(loss, str) else None, labels)

    if optimizer is None:
        optimizer = SGD(params, lr if lr is not None else 0.1)
    elif lr is not None:
        raise ArgumentError("fit: give the learning rate to the optimizer, not to fit, when you pass one")
    elif not isinstance(optimizer, Optimizer):
        raise OperandTypeError(f"fit: optimizer must be a tinygrad_w.optim optimizer, got {optimizer!r}")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ArgumentError("fit: the scheduler was built on a different optimizer than the one training")
    clip_norm = None if clip is None else _positive(clip, "clip")
    penalty_of = _penalty_rule(penalty)

    from tinygrad_w.batched.training import batched_engine  # numpy is loaded only when fit is used

    score = (
        (lambda out: out)
        if multiclass or not isinstance(loss, str)
        else (lambda out: _as_scalar(out, loss_name))
    )
    replayed = batched_engine(engine, model, loss_name, loss_fn, score, X_rows, labels, batchwise)
    layer_names, layer_params = _layers(model)
    weight_labels = _labels_of(params)
    history = History(layer_names=layer_names, initial_weight_stats=_weight_stats(model))
    if record_weights:
        history.initial_weights = {label: p.data for label, p in zip(weight_labels, params)}
        history.weights = {label: [] for label in weight_labels}
    rng = random.Random(seed if seed is not None else 0)
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            order = list(range(n))
            if batch < n:
                rng.shuffle(order)
            lr_used = optimizer.lr
            data_sum = penalty_sum = 0.0
            norm_sums = [0.0] * len(layer_names)
            scores: list[Any] = []
            seen_labels: list[Any] = []
            batches = [order[start : start + batch] for start in range(0, n, batch)]
            if batchwise and len(batches) > 1 and len(batches[-1]) == 1:
                batches[-2] += batches.pop()  # batch norm cannot estimate a variance from one sample
            for number, indices in enumerate(batches, start=1):
                inputs = [X_rows[i] for i in indices]
                targets = [labels[i] for i in indices]
                saved_weights = [p.data for p in params]
                saved_state = optimizer.state_dict()
                try:
                    if replayed is not None:  # the same data loss, as one node replayed on arrays
                        outputs, data_loss = replayed(inputs, targets)
                    else:
                        outputs = model(inputs) if batchwise else [model(x) for x in inputs]
                        if not multiclass and isinstance(loss, str):
                            outputs = [_as_scalar(out, loss_name) for out in outputs]
                        data_loss = loss_fn(outputs, targets)
                    if not isinstance(data_loss, Value):
                        raise OperandTypeError(f"fit: the loss returned {data_loss!r}, not a Value")
                    total = data_loss
                    penalty_value = 0.0
                    if penalty_of is not None:
                        term = penalty_of(model)
                        penalty_value = term.data
                        total = data_loss + term
                    if not math.isfinite(total.data):
                        raise NonFiniteError(f"the loss is {total.data!r}")
                    for p in params:
                        p.grad = 0.0
                    optimizer.zero_grad()
                    total.backward()
                    for k, group in enumerate(layer_params):
                        norm_sums[k] += math.hypot(*(p.grad for p in group))
                    if clip_norm is not None:
                        clip_grad_norm(params, clip_norm)
                    optimizer.step()
                except (OperationError, NonFiniteError, ArithmeticError) as exc:
                    for p, value in zip(params, saved_weights):
                        p.data = value
                    optimizer.load_state_dict(saved_state)
                    where = f"epoch {epoch}" + (
                        f", batch {number} of {len(batches)}" if len(batches) > 1 else ""
                    )
                    raise DivergenceError(
                        f"fit: training diverged in {where}: {exc}. The model keeps the weights it had "
                        "before this step; try a smaller learning rate or clip=...",
                        epoch,
                        history,
                    ) from exc
                data_sum += data_loss.data * len(indices)
                penalty_sum += penalty_value * len(indices)
                scores.extend(_plain(out) for out in outputs)
                seen_labels.extend(targets)
            if scheduler is not None:
                scheduler.step()
            history.epoch.append(epoch)
            history.data_loss.append(data_sum / n)
            history.penalty.append(penalty_sum / n)
            history.loss.append((data_sum + penalty_sum) / n)
            measured = accuracy_of(scores, seen_labels) if accuracy_of is not None else None
            if measured is not None:
                history.accuracy.append(measured)
            history.lr.append(lr_used)
            history.grad_norm.append([s / len(batches) for s in norm_sums])
            history.weight_stats.append(_weight_stats(model))
            if record_weights:
                for label, p in zip(weight_labels, params):
                    history.weights[label].append(p.data)
            history.seconds.append(time.perf_counter() - started)
            if bar is not None:
                shown = {"loss": f"{history.loss[-1]:.4g}"}
                if history.accuracy:
                    shown["acc"] = f"{history.accuracy[-1]:.3f}"
                bar.set_postfix(shown)
                bar.update(1)
            if callback is not None and callback(epoch, history):
                break
    finally:
        if bar is not None:
            bar.close()
    return history


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentError(f"fit: {name} must be an integer >= 1, got {value!r}")
    return value


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < float(value) < math.inf):
        raise ArgumentError(f"fit: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def _penalty_rule(penalty: Callable[[Any], Value] | float | None) -> Callable[[Any], Value] | None:
    if penalty is None:
        return None
    if callable(penalty):
        return penalty
    if isinstance(penalty, bool) or not isinstance(penalty, numbers.Real):
        raise OperandTypeError(f"fit: penalty must be a function or a number, got {penalty!r}")
    strength = float(penalty)
    if not (math.isfinite(strength) and strength >= 0):
        raise ArgumentError(f"fit: the L2 strength must be finite and >= 0, got {penalty!r}")
    from tinygrad_w.nn.penalties import l2

    return lambda model: l2(model, strength)


def _plain(out: Any) -> Any:
    """A model output as numbers (so the epoch does not keep every graph alive)."""
    if isinstance(out, Value):
        return out.data
    if isinstance(out, Sequence):
        return [v.data if isinstance(v, Value) else v for v in out]
    return out


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
