"""``fit`` on the fast path: a minibatch's data loss replayed on arrays, handed to ``fit`` as one node.

``fit`` computes ``data_loss = loss(scores, labels)`` on a minibatch and calls ``backward()`` on it plus
the penalty. With the batched engine that data loss comes from :func:`tinygrad_w.batched.compile` instead
of one Value graph per sample: it is a single node whose inputs are the parameters and whose derivative
rule returns the gradient the replay computed, so the rest of ``fit`` (penalty, clipping, optimizer,
History) runs unchanged and the numbers agree with the scalar graph to rounding.

Labels the loss reads as plain numbers (hinge's ±1, bce's 0/1, a class index) are traced as constants: one
replay per label value, each batch split by label. Other labels (mse's targets) are traced as Values.
Before training, the replay is checked against the scalar graph on a few samples; if they disagree (the
model or loss branches on the data, say), ``fit`` warns once and uses the scalar graph. ``engine="auto"``
replays fit's named losses only (a custom loss function may not be a mean over samples, and tracing
would call it more often), and never a batchwise model (batch norm couples the samples).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_w.batched.compiler import BatchedLoss, compile
from tinygrad_w.core.ops import Op
from tinygrad_w.core.value import Value, apply
from tinygrad_w.errors import ArgumentError, TinygradError

__all__ = ["ENGINES", "BatchedData", "batched_engine"]

ENGINES = ("auto", "scalar", "batched")
KNOWN_LOSSES = ("hinge", "mse", "bce", "cross_entropy")  # fit's named losses: means of per-sample terms
LABELS_AS_CONSTANTS = ("hinge", "bce", "cross_entropy")  # losses that read labels as plain numbers
PROBE = 8  # samples on which the replay is checked against the scalar graph before training


class BatchedData:
    """The data loss of minibatches, replayed: ``__call__(inputs, targets)`` gives fit the model's outputs
    (as numbers) and the data loss as one node over the parameters (see the module docstring)."""

    def __init__(self, model: Any, loss_fn: Callable[..., Value], score: Callable[[Any], Any],
                 rows: list[list[float]], labels: list[Any], by_label: bool) -> None:  # fmt: skip
        self.params, self.score, self.loss_fn = model.parameters(), score, loss_fn
        self.model, self.rows, self.by_label = model, rows, by_label
        groups: list[Any] = sorted(set(labels), key=float) if by_label else [None]
        self.replays = {label: self._compile(label, rows, labels) for label in groups}
        self.multiple = isinstance(score(model(rows[0])), Sequence)

    def _compile(self, label: Any, rows: list[list[float]], labels: list[Any]) -> BatchedLoss:
        def sample_loss(x: list[Value], t: Value) -> tuple[Value, list[Value]]:
            out = self.score(self.model(x))
            outputs = list(out) if isinstance(out, Sequence) else [out]
            return self.loss_fn([out], [t if label is None else label]), outputs

        example = next(i for i, t in enumerate(labels) if label is None or t == label)
        return compile(sample_loss, self.params, rows[example], float(labels[example]), reduction="sum")

    def __call__(self, inputs: list[list[float]], targets: list[Any]) -> tuple[list[Any], Value]:
        outputs, mean, gradient = self.replay(inputs, targets)
        rule = Op("batched_data_loss", lambda m, *p: mean, lambda m, out, *p: gradient)
        return outputs, apply(rule, tuple(self.params))

    def replay(self, inputs: list[list[float]], targets: list[Any]) -> tuple[list[Any], float, list[float]]:
        """The outputs per sample, the mean data loss and its gradient (one entry per parameter)."""
        n, total = len(inputs), 0.0
        grads = np.zeros(len(self.params))
        outputs: list[Any] = [None] * n
        for label, replay in self.replays.items():
            members = [i for i, t in enumerate(targets) if label is None or t == label]
            if not members:
                continue
            X = np.array([inputs[i] for i in members])
            value, gradient = replay.value_and_grad(X, np.array([float(targets[i]) for i in members]))
            total, grads = total + value, grads + gradient
            for i, column in zip(members, replay.last_outputs.T.tolist()):
                outputs[i] = column if self.multiple else column[0]
        return outputs, total / n, (grads / n).tolist()

    def agrees_with_scalar(self, inputs: list[list[float]], targets: list[Any]) -> bool:
        """Do the replay and the scalar graph give the same loss and gradients on these samples?"""
        from tinygrad_w.core.gradients import grad

        _, mean, gradient = self.replay(inputs, targets)
        scalar = self.loss_fn([self.score(self.model(x)) for x in inputs], targets)
        expected = grad(scalar, self.params)
        return _close(mean, scalar.data) and all(_close(a, b) for a, b in zip(gradient, expected))


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def batched_engine(engine: object, model: Any, loss_name: str, loss_fn: Callable[..., Value],
                   score: Callable[[Any], Any], rows: list[list[float]], labels: list[Any],
                   batchwise: bool) -> BatchedData | None:  # fmt: skip
    """The batched data loss for ``fit``, or None for the scalar graph (with a warning, once, when
    ``engine="auto"`` could not use it; an ArgumentError when ``engine="batched"`` cannot)."""
    if engine not in ENGINES:
        raise ArgumentError(f"fit: engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if engine == "scalar":
        return None
    if engine == "auto" and (batchwise or loss_name not in KNOWN_LOSSES):
        return None  # batch norm couples the samples; a custom loss may not be a mean over samples
    reason = "the model is batchwise (batch norm couples the samples)" if batchwise else ""
    data = None
    if not reason:
        try:
            data = BatchedData(model, loss_fn, score, rows, labels, loss_name in LABELS_AS_CONSTANTS)
            if not data.agrees_with_scalar(rows[:PROBE], labels[:PROBE]):
                reason = "the traced graph does not give the scalar graph's results (a branch on the data?)"
        except (TinygradError, ArithmeticError, ValueError, TypeError) as exc:
            reason = f"tracing failed: {exc}"
    if not reason:
        return data
    if engine == "batched":
        raise ArgumentError(f"fit: engine='batched' cannot be used: {reason}")
    warnings.warn(f"fit: using the scalar graph: {reason}", RuntimeWarning, stacklevel=3)
    return None
