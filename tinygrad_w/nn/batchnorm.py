"""Batch normalization, and a small ``Sequential`` to put it inside a network.

A neuron's output depends on the scale of its inputs; when the layers below change during training, that
scale drifts. Batch normalization (Ioffe & Szegedy, 2015) rescales each unit over the batch:

    μ_j = (1/n) Σ_i x_ij                      (mean of unit j over the n samples of the batch)
    σ²_j = (1/n) Σ_i (x_ij - μ_j)²            (biased variance, as PyTorch uses for normalizing)
    x̂_ij = (x_ij - μ_j) / √(σ²_j + ε)
    y_ij = γ_j · x̂_ij + β_j                   (learnable scale γ, init 1, and shift β, init 0)

μ and σ² are built from Values, so the gradient flows through them: each sample's output depends on
every sample of the batch. During training it also keeps running averages for evaluation, with the
unbiased variance as PyTorch does:

    running_mean ← (1 - momentum) · running_mean + momentum · μ
    running_var  ← (1 - momentum) · running_var  + momentum · σ² · n / (n - 1)

In evaluation mode (``bn.eval()``) it normalizes with the running statistics instead, so the output of a
sample no longer depends on the rest of the batch.

A network with batch norm is called on a whole batch at once::

    rng = random.Random(0)
    model = Sequential(
        Layer(2, 16, "linear", rng=rng, index=1), BatchNorm1d(16), Activation("relu"),
        Layer(16, 1, "linear", rng=rng, index=2),
    )
    scores = model(X_batch)              # one Value per sample
    history = fit(model, X, y, batch_size=16)   # fit calls batchwise models on each minibatch
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from tinygrad_w.checks import count_setting, flag_setting, real_setting
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value, operand
from tinygrad_w.errors import ArgumentError, OperandTypeError, ShapeError, naming, show
from tinygrad_w.nn.layers import ACTIVATIONS, ModelWeightStats, Module, ParameterFree, weight_stats

__all__ = ["Activation", "BatchNorm1d", "Sequential"]


def _as_value(x: object, where: str) -> Value:
    checked = operand(x, where)  # the engine's check: a real, finite number or a Value
    return checked if isinstance(checked, Value) else Value(checked)


class BatchNorm1d(Module):
    """Normalizes each of ``num_features`` units over a batch, then scales by γ and shifts by β.

    Call it on a batch: a list of n samples, each a list of ``num_features`` Values or numbers; it returns
    a list of n lists of Values. Parameters are labelled ``{label}.gamma{j}`` and ``{label}.beta{j}``.
    """

    batchwise = True

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, label: str = "BN"
    ) -> None:
        self.num_features = count_setting(num_features, "num_features", "BatchNorm1d", maximum=100_000)
        self.nin = self.num_features
        # eps > 0 keeps a constant unit (variance 0) from dividing by 0
        self.eps = real_setting(eps, "eps", "BatchNorm1d", low=0.0, low_open=True)
        self.momentum = real_setting(momentum, "momentum", "BatchNorm1d", low=0.0, high=1.0)
        if not isinstance(label, str):
            raise OperandTypeError(
                f"BatchNorm1d: label must be a str, got {type(label).__name__} {show(label)}"
            )
        self.label = label
        self.gamma = [Value(1.0, f"{label}.gamma{j}") for j in range(num_features)]
        self.beta = [Value(0.0, f"{label}.beta{j}") for j in range(num_features)]
        self.running_mean = [0.0] * num_features
        self.running_var = [1.0] * num_features
        self.num_batches_tracked = 0
        self.training = True

    def train(self, mode: bool = True) -> BatchNorm1d:
        """Training mode: batch statistics, running averages updated. Returns self."""
        self.training = flag_setting(mode, "mode", f"BatchNorm1d {self.label}.train")
        return self

    def eval(self) -> BatchNorm1d:
        """Evaluation mode: running statistics, nothing updated. Returns self."""
        return self.train(False)

    @collector_paused
    def __call__(self, batch: Sequence[Sequence[Value | float]]) -> list[list[Value]]:
        rows = self._check(batch)
        with naming(f"BatchNorm1d {self.label}"):
            return self._normalize(rows)

    def _normalize(self, rows: list[list[Value]]) -> list[list[Value]]:
        """The forward pass on checked rows; the running statistics change only once it has succeeded."""
        n, features = len(rows), self.num_features
        columns = [[row[j] for row in rows] for j in range(features)]
        outputs: list[list[Value]] = [[] for _ in range(n)]
        new_mean, new_var = list(self.running_mean), list(self.running_var)
        for j, column in enumerate(columns):
            if self.training:
                mean = _sum(column) * (1.0 / n)
                deviations = [x - mean for x in column]
                variance = _sum([d * d for d in deviations]) * (1.0 / n)
                inverse_std = (variance + self.eps) ** -0.5
                normalized = [d * inverse_std for d in deviations]
                m = self.momentum
                new_mean[j] = (1 - m) * self.running_mean[j] + m * mean.data
                new_var[j] = (1 - m) * self.running_var[j] + m * variance.data * n / (n - 1)
            else:
                scale = 1.0 / math.sqrt(self.running_var[j] + self.eps)
                normalized = [(x - self.running_mean[j]) * scale for x in column]
            for i, x_hat in enumerate(normalized):
                outputs[i].append(self.gamma[j] * x_hat + self.beta[j])
        if self.training:  # only once the whole forward pass has succeeded: no half-updated statistics
            self.running_mean, self.running_var = new_mean, new_var
            self.num_batches_tracked += 1
        return outputs

    def running_state(self) -> dict[str, Any]:
        """A copy of what a training forward pass changes (the running statistics), for
        :meth:`restore_running_state`: ``fit`` puts it back when a step fails."""
        return {
            "running_mean": list(self.running_mean),
            "running_var": list(self.running_var),
            "num_batches_tracked": self.num_batches_tracked,
        }

    def restore_running_state(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`running_state` returned."""
        self.running_mean = list(state["running_mean"])
        self.running_var = list(state["running_var"])
        self.num_batches_tracked = state["num_batches_tracked"]

    def _check(self, batch: Sequence[Sequence[Value | float]]) -> list[list[Value]]:
        where = f"BatchNorm1d {self.label}"
        if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence) or len(batch) == 0:
            raise ShapeError(f"{where}: expected a non-empty list of samples, got {show(batch)}")
        if self.training and len(batch) < 2:
            raise ShapeError(
                f"{where}: training needs at least 2 samples per batch to estimate a variance, got 1 "
                "(call .eval() to use the running statistics)"
            )
        rows = []
        for i, sample in enumerate(batch):
            if isinstance(sample, (str, bytes)) or not isinstance(sample, Sequence):
                raise ShapeError(
                    f"{where}: sample {i} must be a list of {self.num_features} values, got {show(sample)}"
                )
            if len(sample) != self.num_features:
                raise ShapeError(
                    f"{where}: sample {i} has {len(sample)} features, expected {self.num_features}"
                )
            rows.append([_as_value(x, f"{where}, sample {i}") for x in sample])
        return rows

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            *((f"gamma.{j}", g) for j, g in enumerate(self.gamma)),
            *((f"beta.{j}", b) for j, b in enumerate(self.beta)),
        ]

    def weights(self) -> list[Value]:
        """The scales γ (they multiply, like weights)."""
        return list(self.gamma)

    def biases(self) -> list[Value]:
        """The shifts β."""
        return list(self.beta)

    def __repr__(self) -> str:
        mode = "train" if self.training else "eval"
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, mode={mode!r})"


def _sum(values: Sequence[Value]) -> Value:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


class Activation(ParameterFree):
    """An activation applied to every unit of a sample (``nn.ACTIVATIONS``: relu, tanh, sigmoid, ...);
    no parameters. Use it after a ``Layer(..., "linear")`` and a ``BatchNorm1d``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise ArgumentError(
                f"Activation: unknown activation {show(name)}; known: {', '.join(ACTIVATIONS)}"
            )
        self.name = name
        self._apply: Callable[[Value], Value] = ACTIVATIONS[name]

    @collector_paused
    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        if isinstance(x, (str, bytes, Value)) or not isinstance(x, Sequence):
            raise OperandTypeError(f"Activation {self.name}: expected a list of values, got {show(x)}")
        return [self._apply(_as_value(v, f"Activation {self.name}")) for v in x]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


class Sequential(Module):
    """Modules applied one after the other to a whole batch.

    A module with ``batchwise = True`` (BatchNorm1d) gets the whole batch; any other (``nn.Layer``,
    ``Activation``, an ``MLP``) is applied to each sample on its own. Calling the model on a batch returns
    one output per sample: a Value when the last module has one output, else a list of Values.
    ``fit`` recognises ``batchwise`` models and calls them on each minibatch.
    """

    batchwise = True

    def __init__(self, *layers: Any) -> None:
        if not layers:
            raise ArgumentError("Sequential: give at least one module")
        for k, layer in enumerate(layers):
            if not callable(layer) or not hasattr(layer, "parameters"):
                raise OperandTypeError(f"Sequential: module {k} ({show(layer)}) is not a callable module")
        self.layers = list(layers)
        nin = getattr(layers[0], "nin", None)
        self.nin = nin if isinstance(nin, int) else None

    @collector_paused
    def __call__(self, batch: Sequence[Sequence[Value | float]]) -> list[Any]:
        if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence) or len(batch) == 0:
            raise ShapeError(f"Sequential: expected a non-empty list of samples, got {show(batch)}")
        rows: list[Any] = list(batch)
        for layer in self.layers:
            if getattr(layer, "batchwise", False):
                rows = layer(rows)
            else:
                rows = [layer(row) for row in rows]
                rows = [[row] if isinstance(row, Value) else row for row in rows]  # an MLP may return a Value
        return [row[0] if len(row) == 1 else row for row in rows]

    def train(self, mode: bool = True) -> Sequential:
        """Put every module that has modes (BatchNorm1d) in training (or evaluation) mode. Returns self."""
        mode = flag_setting(mode, "mode", "Sequential.train")
        for layer in self.layers:
            if hasattr(layer, "train"):
                layer.train(mode)
        return self

    def running_state(self) -> list[Any]:
        """The running state of every module that has one (BatchNorm1d), for :meth:`restore_running_state`."""
        return [layer.running_state() if hasattr(layer, "running_state") else None for layer in self.layers]

    def restore_running_state(self, state: list[Any]) -> None:
        """Put back what :meth:`running_state` returned."""
        for layer, saved in zip(self.layers, state):
            if saved is not None:
                layer.restore_running_state(saved)

    def eval(self) -> Sequential:
        return self.train(False)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"layers.{k}.{name}", p) for k, layer in enumerate(self.layers) for name, p in _named(layer)]

    def weights(self) -> list[Value]:
        return [w for layer in self.layers for w in _list(layer, "weights")]

    def biases(self) -> list[Value]:
        return [b for layer in self.layers for b in _list(layer, "biases")]

    def weight_stats(self) -> ModelWeightStats:
        """Like ``MLP.weight_stats``: one entry per module (γ for a BatchNorm1d, none for an Activation)."""
        return ModelWeightStats(
            layers=[weight_stats(_list(layer, "weights")) for layer in self.layers],
            total=weight_stats(self.weights()),
        )

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(repr(layer) for layer in self.layers) + ")"


def _named(layer: Any) -> list[tuple[str, Value]]:
    if hasattr(layer, "named_parameters"):
        return list(layer.named_parameters())
    return [(str(i), p) for i, p in enumerate(layer.parameters())]


def _list(layer: Any, method: str) -> list[Value]:
    return list(getattr(layer, method)()) if hasattr(layer, method) else list(layer.parameters())
