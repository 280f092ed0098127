"""Neural networks built from Values: ``Neuron``, ``Layer`` and ``MLP``, micrograd-compatible.

A neuron computes ``activation(b + w_0 x_0 + w_1 x_1 + ...)``. A layer is a list of neurons that see the
same inputs; an MLP is a list of layers, each feeding the next. ``MLP(2, [16, 16, 1])`` builds the
micrograd demo network: weights drawn from U[-1, 1], zero biases, relu in the hidden layers and a linear
output.

Code written for micrograd's ``nn`` runs unchanged: ``Neuron(nin, nonlin=False)`` and
``Layer(nin, nout, nonlin=...)`` accept its flag (True: relu, False: linear), a one-neuron layer returns a
Value, and without a seed the weights come from the global ``random`` module, in micrograd's order, so
``random.seed(1337)`` followed by ``MLP(2, [16, 16, 1])`` gives micrograd's weights exactly.

Every parameter is a leaf Value with a label for drawings: ``L{l}.N{j}.w{k}`` and ``L{l}.N{j}.b``, where
``l`` counts layers from 1 (the input is layer 0), ``j`` the layer's neurons from 0 and ``k`` the neuron's
inputs from 0. ``named_parameters()`` gives the same parameters with dotted names that follow the
attributes (``layers.0.neurons.2.w.1`` is ``model.layers[0].neurons[2].w[1]``).
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import TypedDict

import numpy as np

from tinygrad_w.checks import count_setting, flag_setting, seed_setting
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value, operand
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, ShapeError, naming, show
from tinygrad_w.nn import initializers
from tinygrad_w.nn.fused import linear

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Layer",
    "ModelWeightStats",
    "Module",
    "Neuron",
    "ParameterFree",
    "WeightStats",
    "choose_rng",
    "weight_stats",
]

# The activations a neuron can apply to its weighted sum, by name.
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "leaky_relu": lambda v: v.leaky_relu(0.01),
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "softplus": Value.softplus,
    "linear": lambda v: v,
}


def _check_activation(activation: object, where: str) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise ArgumentError(f"{where}: unknown activation {show(activation)}; known: {known}")
    return activation


def _choose_activation(activation: str | None, nonlin: bool | None, where: str) -> str:
    """The activation's name, given by name or by micrograd's flag ``nonlin`` (True: relu, False: linear);
    relu when neither is given."""
    if nonlin is None:
        return _check_activation("relu" if activation is None else activation, where)
    if not isinstance(nonlin, bool):
        raise OperandTypeError(
            f"{where}: nonlin must be True or False, got {type(nonlin).__name__} {show(nonlin)}"
        )
    if activation is not None:
        raise ArgumentError(
            f"{where}: give activation or nonlin, not both (activation={show(activation)}, {nonlin=})"
        )
    return "relu" if nonlin else "linear"


# The most inputs or neurons a layer may have: a scalar engine builds a Value per weight, so a layer of
# 10**12 weights would exhaust memory rather than fail cleanly.
MAX_SIZE = 1_000_000


def _check_size(n: object, name: str, where: str) -> int:
    return count_setting(n, name, where, minimum=1, maximum=MAX_SIZE)


def _check_label(label: object, where: str) -> str:
    """A label prefixes parameters' labels: anything but a str (None, say) would print as "None.w0"."""
    if not isinstance(label, str):
        raise OperandTypeError(f"{where}: label must be a str, got {type(label).__name__} {show(label)}")
    return label


def _check_inputs(x: object, nin: int, where: str) -> list[Value | float]:
    """One input vector: a list, tuple or 1-D numpy array of ``nin`` numbers or Values (numbers become
    finite floats); a dict or a set has no meaningful order of inputs, a string is no vector."""
    if isinstance(x, (str, bytes, Value, numbers.Number, Mapping, Set)) or not isinstance(
        x, (Sequence, np.ndarray)
    ):
        raise OperandTypeError(
            f"{where}: input must be a sequence of {nin} numbers or Values, got {type(x).__name__} {show(x)}"
        )
    if isinstance(x, np.ndarray) and x.ndim != 1:
        raise ShapeError(
            f"{where}: input must be one vector of {nin} numbers, got an array of shape {x.shape}"
        )
    if len(x) != nin:
        raise ShapeError(f"{where}: expected {nin} inputs, got {len(x)}")
    return [operand(xi, where) for xi in x]


# The generator behind the functions of the ``random`` module (random.seed, random.uniform, ...). micrograd
# draws its weights from it; so do our modules built without a seed, so that random.seed(1337) reproduces
# micrograd's networks.
GLOBAL_RNG: random.Random = random.random.__self__  # type: ignore[attr-defined]


def _make_rng(seed: int | None, where: str) -> random.Random:
    """A private generator made from ``seed``; without a seed, the global one (micrograd's behaviour)."""
    if seed is None:
        return GLOBAL_RNG
    return random.Random(seed_setting(seed, where))


def choose_rng(seed: int | None, rng: random.Random | None, where: str) -> random.Random:
    """The generator a module draws from (a Neuron, a Layer, a Dropout): ``rng`` if given, else a private
    ``random.Random(seed)``, else the global one; a typed error naming ``where`` for a bad choice."""
    if rng is None:
        return _make_rng(seed, where)
    if seed is not None:
        raise ArgumentError(f"{where}: give seed or rng, not both (seed={show(seed)})")
    if not isinstance(rng, random.Random):
        raise OperandTypeError(f"{where}: rng must be a random.Random, got {type(rng).__name__}")
    return rng


# ----------------------------------------------------------------------------------------------------
# Modules


class Module:
    """Something with parameters. Subclasses list them in :meth:`named_parameters`, :meth:`weights` and
    :meth:`biases`; the rest is shared."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, parameter) pairs, in the order of :meth:`parameters`."""
        raise NotImplementedError

    def weights(self) -> list[Value]:
        """The weights (the multipliers of the inputs), without the biases."""
        raise NotImplementedError

    def biases(self) -> list[Value]:
        """The biases, without the weights."""
        raise NotImplementedError

    def parameters(self) -> list[Value]:
        """Every trainable Value, weights and biases (micrograd's order: each neuron's w, then its b)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (gradients accumulate across ``backward()`` calls)."""
        for p in self.parameters():
            p.grad = 0.0


class ParameterFree(Module):
    """A module with nothing to train (an activation, dropout): no weights, no biases."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        return []

    def weights(self) -> list[Value]:
        return []

    def biases(self) -> list[Value]:
        return []


class Neuron(Module):
    """activation(b + Σ_k w_k x_k) with weights ``w`` (one per input) and a bias ``b``.

    Unfused, the sum is built as a chain starting from the bias, ``((b + w_0·x_0) + w_1·x_1) + ...``:
    one * node and one + node per weight, the graph people draw. With ``fused=True`` it is one ``linear``
    node (faster, fewer nodes); the value and the gradients are the same.
    """

    def __init__(
        self,
        nin: int,
        activation: str | None = None,
        *,
        nonlin: bool | None = None,
        init: str | initializers.Initializer = "uniform",
        bias_init: str | initializers.Initializer = "zeros",
        fan_out: int = 1,
        seed: int | None = None,
        rng: random.Random | None = None,
        label: str = "N0",
        fused: bool = False,
    ) -> None:
        """The activation is named by ``activation`` or by micrograd's ``nonlin`` (True: relu, False:
        linear); relu by default, as in micrograd. ``fan_out`` is the size of the neuron's layer (the
        Xavier initializers use it). The values are drawn from ``rng`` if given (a Layer passes its own),
        else from ``random.Random(seed)``, else from the global ``random`` module.
        ``label`` prefixes the parameters' labels (``label.w0``, ``label.b``)."""
        self.label = _check_label(label, "Neuron")
        self.nin = _check_size(nin, "nin", "Neuron")
        self.activation = _choose_activation(activation, nonlin, "Neuron")
        self.fused = flag_setting(fused, "fused", "Neuron")
        rng = choose_rng(seed, rng, "Neuron")
        weight_init, bias_start = initializers.get(init), initializers.get(bias_init)
        fan_out = _check_size(fan_out, "fan_out", "Neuron")
        self.w = [Value(x, f"{label}.w{k}") for k, x in enumerate(weight_init.sample(nin, fan_out, nin, rng))]
        self.b = Value(bias_start.sample(nin, fan_out, 1, rng)[0], f"{label}.b")

    @collector_paused
    def __call__(self, x: Sequence[Value | float]) -> Value:
        where = f"Neuron {self.label}"
        inputs = _check_inputs(x, self.nin, where)
        with naming(where):  # an overflow names the neuron as well as the op
            return self._forward(inputs)

    def _forward(self, inputs: Sequence[Value | float]) -> Value:
        """The neuron on inputs already checked (numbers as floats, the right count)."""
        if self.fused:
            total = linear(self.w, inputs, self.b)
        else:
            total = self.b
            for wk, xk in zip(self.w, inputs):
                total = total + wk * xk
        return ACTIVATIONS[self.activation](total)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [*((f"w.{k}", wk) for k, wk in enumerate(self.w)), ("b", self.b)]

    def weights(self) -> list[Value]:
        return list(self.w)

    def biases(self) -> list[Value]:
        return [self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs; calling it returns their ``nout`` outputs."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None = None,
        *,
        nonlin: bool | None = None,
        init: str | initializers.Initializer = "uniform",
        bias_init: str | initializers.Initializer = "zeros",
        seed: int | None = None,
        rng: random.Random | None = None,
        index: int = 1,
        fused: bool = False,
    ) -> None:
        """The activation is named by ``activation`` or by micrograd's ``nonlin``, as for a Neuron.
        ``index`` is the layer's number in labels (``L{index}.N{j}...``; the first layer is 1). Values
        are drawn from ``rng`` if given (an MLP passes its own), else from ``random.Random(seed)``, else
        from the global ``random`` module."""
        self.nin = _check_size(nin, "nin", "Layer")
        self.nout = _check_size(nout, "nout", "Layer")
        self.activation = _choose_activation(activation, nonlin, "Layer")
        self.index = count_setting(index, "index", "Layer", minimum=0)
        fused = flag_setting(fused, "fused", "Layer")
        rng = choose_rng(seed, rng, "Layer")
        weight_init, bias_start = initializers.get(init), initializers.get(bias_init)
        self.neurons = [
            Neuron(
                nin,
                self.activation,
                init=weight_init,
                bias_init=bias_start,
                fan_out=nout,
                rng=rng,
                label=f"L{index}.N{j}",
                fused=fused,
            )
            for j in range(nout)
        ]

    @collector_paused
    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The outputs of the neurons: a list of ``nout`` Values, or the Value itself when the layer has
        one neuron (as micrograd's Layer and our MLP return)."""
        where = f"Layer {self.index}"
        inputs = _check_inputs(x, self.nin, where)
        with naming(where):
            outputs = self._forward(inputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def _forward(self, inputs: Sequence[Value | float]) -> list[Value]:
        """Every neuron's output as a list, on inputs already checked (what an MLP feeds forward)."""
        return [neuron._forward(inputs) for neuron in self.neurons]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"neurons.{j}.{name}", p) for j, n in enumerate(self.neurons) for name, p in n.named_parameters()
        ]

    def weights(self) -> list[Value]:
        return [w for n in self.neurons for w in n.w]

    def biases(self) -> list[Value]:
        return [n.b for n in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``len(nouts)`` layers of sizes ``nouts``, fed by ``nin`` inputs.

    Hidden layers apply ``activation``; the last layer applies ``output_activation`` (linear by default).
    ``init`` draws the weights and ``bias_init`` the biases, by name or as initializer objects (see
    :mod:`tinygrad_w.init`); the defaults, U[-1, 1] weights and zero biases, are micrograd's. ``seed``
    makes construction reproducible: the same seed gives the same model, and the global random state is
    never touched. Without a seed (``model.seed`` is None) the weights come from the global ``random``
    module, as micrograd's do: ``random.seed(1337)`` then ``MLP(2, [16, 16, 1])`` builds micrograd's
    demo network weight for weight.

    ``model(x)`` takes ``nin`` numbers or Values and returns a Value if the last layer has one neuron, else
    a list of Values. Numbers stay plain floats in the graph (constants), not Values.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        output_activation: str = "linear",
        init: str | initializers.Initializer = "uniform",
        bias_init: str | initializers.Initializer = "zeros",
        seed: int | None = None,
        fused: bool = False,
    ) -> None:
        self.nin = _check_size(nin, "nin", "MLP")
        if (
            isinstance(nouts, (str, bytes))
            or not isinstance(nouts, (Sequence, np.ndarray))
            or (isinstance(nouts, np.ndarray) and nouts.ndim != 1)
            or len(nouts) == 0
        ):
            raise ArgumentError(f"MLP: nouts must be a non-empty sequence of layer sizes, got {show(nouts)}")
        self.nouts = [_check_size(n, f"nouts[{i}]", "MLP") for i, n in enumerate(nouts)]
        self.activation = _check_activation(activation, "MLP")
        self.output_activation = _check_activation(output_activation, "MLP output")
        self.fused = flag_setting(fused, "fused", "MLP")
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        rng, self.seed = _make_rng(seed, "MLP"), seed
        sizes = [self.nin, *self.nouts]
        last = len(self.nouts) - 1
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                self.output_activation if i == last else self.activation,
                init=self.init,
                bias_init=self.bias_init,
                rng=rng,
                index=i + 1,
                fused=self.fused,
            )
            for i in range(len(self.nouts))
        ]

    @collector_paused
    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The network's output for one input vector ``x`` (a list, tuple or 1-D numpy array)."""
        inputs = _check_inputs(x, self.nin, "MLP")
        with naming("MLP"):  # an overflow names the model as well as the op
            outputs = self.layers[0]._forward(inputs)
            for layer in self.layers[1:]:
                outputs = layer._forward(outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"layers.{i}.{name}", p)
            for i, layer in enumerate(self.layers)
            for name, p in layer.named_parameters()
        ]

    def weights(self) -> list[Value]:
        return [w for layer in self.layers for w in layer.weights()]

    def biases(self) -> list[Value]:
        return [b for layer in self.layers for b in layer.biases()]

    def weight_stats(self) -> ModelWeightStats:
        """Statistics of the weights, per layer and in total: ``{"layers": [layer 1, ...], "total": ...}``.

        Biases are excluded (they are what :meth:`biases` returns); see :func:`weight_stats` for the keys.
        """
        return ModelWeightStats(
            layers=[weight_stats(layer.weights()) for layer in self.layers],
            total=weight_stats(self.weights()),
        )

    def __repr__(self) -> str:
        extras = f", activation={self.activation!r}"
        if self.output_activation != "linear":
            extras += f", output_activation={self.output_activation!r}"
        if self.fused:
            extras += ", fused=True"
        return f"MLP({self.nin}, {self.nouts}{extras})"


# ----------------------------------------------------------------------------------------------------
# Weight statistics


class WeightStats(TypedDict):
    """What :func:`weight_stats` returns (a plain dict)."""

    count: int
    sum: float
    abs_sum: float
    sq_sum: float
    mean: float
    std: float
    min: float
    max: float
    negative: int
    positive: int
    zero: int


class ModelWeightStats(TypedDict):
    """What :meth:`MLP.weight_stats` returns (a plain dict): one entry per layer, and all weights together."""

    layers: list[WeightStats]
    total: WeightStats


def _sum(xs: list[float]) -> float:
    """Σ xs exactly rounded (math.fsum); a plain sum when fsum cannot (inf, nan, or overflow on the way),
    so that the statistics of a diverged model come out as inf or nan instead of an exception."""
    try:
        return math.fsum(xs)
    except (OverflowError, ValueError):
        return sum(xs, 0.0)


def _stat_numbers(values: object) -> list[float]:
    """The numbers ``weight_stats`` summarizes: each Value's data, each real number as a float."""
    if (
        isinstance(values, (str, bytes, Mapping, Value))
        or not isinstance(values, Iterable)
        or (isinstance(values, np.ndarray) and values.ndim != 1)
    ):
        raise OperandTypeError(
            f"weight_stats: values must be a sequence of Values or numbers, got "
            f"{type(values).__name__} {show(values)}"
        )
    xs = []
    for k, v in enumerate(values):
        x = v.data if isinstance(v, Value) else v
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise OperandTypeError(
                f"weight_stats: values[{k}] must be a Value or a real number, got {type(v).__name__} {show(v)}"
            )
        try:
            xs.append(float(x))
        except OverflowError:
            raise NonFiniteError(f"weight_stats: values[{k}] = {show(x)} is too large for a float") from None
    return xs


def weight_stats(values: Sequence[Value | float]) -> WeightStats:
    """Summary statistics of some numbers (usually a model's weights), as a dict.

    For n values x_i: ``count`` = n, ``sum`` = Σ x_i, ``abs_sum`` = Σ |x_i| (the L1 norm), ``sq_sum`` =
    Σ x_i² (the squared L2 norm), ``mean`` = sum / n, ``std`` = √(Σ (x_i - mean)² / n) (population
    standard deviation), ``min``, ``max``, and how many are ``negative`` (< 0), ``positive`` (> 0) and
    exactly ``zero``. Sums are exactly rounded (math.fsum). With no values, the counts and sums are 0 and
    mean, std, min and max are NaN. A diverged model's statistics come out non-finite, visibly, instead
    of raising: an infinity gives infinite sums, a NaN gives NaN sums, mean, std, min and max (and is
    counted in none of negative, positive, zero). ``values`` holds Values and real numbers (numpy's
    too); anything else (a string, a bool, a number too large for a float) is a typed error.
    """
    xs = _stat_numbers(values)
    n = len(xs)
    if n == 0:
        nan = math.nan
        return WeightStats(
            count=0, sum=0.0, abs_sum=0.0, sq_sum=0.0, mean=nan, std=nan, min=nan, max=nan,
            negative=0, positive=0, zero=0,
        )  # fmt: skip
    total = _sum(xs)
    mean = total / n
    has_nan = any(math.isnan(x) for x in xs)
    return WeightStats(
        count=n,
        sum=total,
        abs_sum=_sum([abs(x) for x in xs]),
        sq_sum=_sum([x * x for x in xs]),
        mean=mean,
        std=math.sqrt(_sum([(x - mean) * (x - mean) for x in xs]) / n),  # two passes: no cancellation
        min=math.nan if has_nan else min(xs),  # min and max of a list with a NaN depend on its order
        max=math.nan if has_nan else max(xs),
        negative=sum(1 for x in xs if x < 0),
        positive=sum(1 for x in xs if x > 0),
        zero=sum(1 for x in xs if x == 0),
    )
