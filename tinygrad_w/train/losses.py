"""Loss functions (each returns a Value you can call ``backward()`` on) and accuracy helpers (floats).

Every loss is the mean over the samples of a per-sample loss, so its size does not grow with the
number of samples and the same learning rate works for a batch of 10 or of 1,000.

Label conventions:

- ``hinge`` takes labels -1 / +1 (what micrograd's moons demo uses, and what the binary data sets of
  :mod:`tinygrad_w.data` return);
- ``bce_with_logits`` takes labels 0 / 1 (convert with :func:`tinygrad_w.data.to_01`);
- ``softmax_cross_entropy`` takes class indices 0..K-1;
- ``mse`` takes any real targets.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence, Set
from typing import Any

from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import ArgumentError, OperandTypeError, ShapeError, naming, show

Scalar = Value | float


def samples(x: object, where: str, what: str) -> list[Any]:
    """``x`` as a list with one entry per sample: a list, a tuple or a 1-D numpy array, not a single
    Value, a string or a dict (a typed error naming ``where`` and ``what``)."""
    if not isinstance(x, (str, bytes, Value, Mapping, Set)) and hasattr(x, "__iter__"):
        try:
            return list(x)
        except TypeError:  # a 0-d numpy array has __iter__ but cannot be iterated
            pass
    raise OperandTypeError(
        f"{where}: {what} must be a list, one entry per sample, got {type(x).__name__} {show(x)}"
    )


def _pairs(where: str, first: object, second: object, names: str) -> tuple[list[Any], list[Any]]:
    """Both arguments as lists of one entry per sample: the same, non-zero, number of them."""
    a, b = names.split("/")
    firsts, seconds = samples(first, where, a), samples(second, where, b)
    if len(firsts) != len(seconds):
        raise ShapeError(f"{where}: {len(firsts)} {a} but {len(seconds)} {b}; they must match")
    if not firsts:
        raise ShapeError(f"{where}: got no samples; a mean over 0 samples is undefined")
    return firsts, seconds


def _number(x: object, where: str, index: int) -> float:
    """A label, target or score as a finite float (a Value gives its data); a typed error names the sample."""
    return x.data if isinstance(x, Value) else as_real(x, f"{where}: sample {index}")


def class_index(c: object, width: int, where: str, index: int) -> int:
    """A class label as an int in 0..width-1 (numpy integers too), or ArgumentError naming the sample."""
    if not isinstance(c, bool) and isinstance(c, numbers.Integral) and 0 <= int(c) < width:
        return int(c)
    raise ArgumentError(
        f"{where}: sample {index} has class {show(c)}; classes must be integers 0..{width - 1}"
    )


def check_labels(where: str, labels: Sequence[object], allowed: tuple[float, ...]) -> None:
    """Raise ArgumentError naming the first sample whose label is not one of ``allowed``."""
    for index, label in enumerate(samples(labels, where, "labels")):
        if _number(label, where, index) not in allowed:
            shown = " or ".join(f"{a:g}" for a in allowed)
            raise ArgumentError(f"{where}: sample {index} has label {show(label)}; labels must be {shown}")


def _mean(terms: list[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * (1.0 / len(terms))


def _as_value(x: object, where: str, index: int) -> Value:
    """Scores must be Values (so the loss can backpropagate into them) or plain numbers."""
    if isinstance(x, Value):
        return x
    return Value(_number(x, where, index))


@collector_paused
@naming("mse")
def mse(predictions: Sequence[Scalar], targets: Sequence[float | Value]) -> Value:
    """Mean squared error: (1/n) Σ (p_i - t_i)²."""
    terms = []
    for i, (p, t) in enumerate(zip(*_pairs("mse", predictions, targets, "predictions/targets"))):
        target = t if isinstance(t, Value) else _number(t, "mse", i)
        difference = _as_value(p, "mse", i) - target
        terms.append(difference * difference)
    return _mean(terms)


@collector_paused
@naming("hinge")
def hinge(scores: Sequence[Scalar], labels: Sequence[float]) -> Value:
    """Hinge loss, micrograd's: (1/n) Σ relu(1 - y_i · s_i) with labels y_i ∈ {-1, +1}.

    A sample costs nothing once it is on the right side with a margin of at least 1 (y·s >= 1).
    """
    scores, labels = _pairs("hinge", scores, labels, "scores/labels")
    check_labels("hinge", labels, (-1.0, 1.0))
    terms = [
        (1.0 - _as_value(s, "hinge", i) * _number(y, "hinge", i)).relu()
        for i, (s, y) in enumerate(zip(scores, labels))
    ]
    return _mean(terms)


@collector_paused
@naming("bce_with_logits")
def bce_with_logits(logits: Sequence[Scalar], labels: Sequence[float]) -> Value:
    """Binary cross-entropy on logits z with labels y ∈ {0, 1}, in the numerically stable form

        loss_i = max(z, 0) - z·y + ln(1 + e^-|z|)        (= -y ln σ(z) - (1 - y) ln(1 - σ(z)))

    ``max(z, 0) + ln(1 + e^-|z|)`` is exactly softplus(z) = ln(1 + e^z), and the engine's SOFTPLUS op
    evaluates it in that form, so e^z never overflows (|z| = 1000 is fine) and its derivative σ(z) is
    exact everywhere. Writing the same sum with relu and abs nodes would give the wrong gradient at
    z = 0 (both kinks take the subgradient 0, giving -y instead of σ(0) - y = 0.5 - y), and a model
    initialised at zero starts exactly there. The gradient is ∂loss_i/∂z = σ(z) - y.
    """
    logits, labels = _pairs("bce_with_logits", logits, labels, "logits/labels")
    check_labels("bce_with_logits", labels, (0.0, 1.0))
    terms = []
    for i, (z, y) in enumerate(zip(logits, labels)):
        logit = _as_value(z, "bce_with_logits", i)
        terms.append(logit.softplus() - logit * _number(y, "bce_with_logits", i))
    return _mean(terms)


@collector_paused
@naming("softmax_cross_entropy")
def softmax_cross_entropy(logits: Sequence[Sequence[Scalar]], classes: Sequence[int]) -> Value:
    """Cross-entropy of softmax(z) against class c, averaged over samples:

        loss_i = log Σ_k e^{z_k} - z_c = m + log Σ_k e^{z_k - m} - z_c,   m = max_k z_k.

    Shifting by the largest logit m (a constant, so it changes no gradient) keeps every exponent <= 0:
    no overflow, and the largest term is e^0 = 1, so the log never sees 0. ∂loss_i/∂z_k = softmax_k - [k = c].
    """
    where = "softmax_cross_entropy"
    rows, classes = _pairs(where, logits, classes, "logit rows/classes")
    width = len(samples(rows[0], where, "a row of logits"))
    terms = []
    for i, (row, c) in enumerate(zip(rows, classes)):
        entries, c = _row(row, width, where, i), class_index(c, width, where, i)
        z = [_as_value(x, where, i) for x in entries]
        shift = max(x.data for x in z)
        sum_exp = (z[0] - shift).exp()
        for x in z[1:]:
            sum_exp = sum_exp + (x - shift).exp()
        terms.append(sum_exp.log() + shift - z[c])
    return _mean(terms)


def accuracy(scores: Sequence[Scalar], labels: Sequence[float]) -> float:
    """Share of samples classified right by the sign of the score: predicted positive when score > 0.

    Works for both label conventions: a label counts as positive when it is > 0, so ±1 labels are
    checked by sign agreement and 0/1 labels by thresholding the logit at 0 (σ(z) > 0.5).
    """
    scores, labels = _pairs("accuracy", scores, labels, "scores/labels")
    correct = 0
    for i, (s, y) in enumerate(zip(scores, labels)):
        label = _number(y, "accuracy", i)
        if label not in (-1.0, 0.0, 1.0):
            raise ArgumentError(f"accuracy: sample {i} has label {show(y)}; labels must be -1, 0 or +1")
        correct += (_number(s, "accuracy", i) > 0.0) == (label > 0.0)
    return correct / len(labels)


def multiclass_accuracy(logits: Sequence[Sequence[Scalar]], classes: Sequence[int]) -> float:
    """Share of samples whose largest logit is the right class (the first largest on ties)."""
    where = "multiclass_accuracy"
    rows, classes = _pairs(where, logits, classes, "logit rows/classes")
    width = len(samples(rows[0], where, "a row of logits"))
    correct = 0
    for i, (row, c) in enumerate(zip(rows, classes)):
        values = [_number(x, where, i) for x in _row(row, width, where, i)]
        predicted = max(range(width), key=values.__getitem__)
        correct += predicted == class_index(c, width, where, i)
    return correct / len(classes)


def _row(row: object, width: int, where: str, index: int) -> list[Any]:
    """One sample's logits: a list of ``width`` (at least 1) entries, as row 0 has."""
    entries = samples(row, where, f"row {index} of logits")
    if not entries:
        raise ShapeError(f"{where}: row {index} has no logits")
    if len(entries) != width:
        raise ShapeError(f"{where}: row {index} has {len(entries)} logits but row 0 has {width}")
    return entries


__all__ = [
    "accuracy",
    "bce_with_logits",
    "check_labels",
    "class_index",
    "hinge",
    "mse",
    "multiclass_accuracy",
    "samples",
    "softmax_cross_entropy",
]
