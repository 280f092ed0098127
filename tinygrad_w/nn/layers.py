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
from collections.abc import Callable, Mapping, Sequence, Set
from typing import TypedDict

from tinygrad_w.core.value import Value, operand
from tinygrad_w.errors import ArgumentError, OperandTypeError, ShapeError, show
from tinygrad_w.nn import initializers
from tinygrad_w.nn.fused import linear

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Layer",
    "ModelWeightStats",
    "Module",
    "Neuron",
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
        raise ArgumentError(f"{where}: unknown activation {activation!r}; known: {known}")
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
        raise ArgumentError(f"{where}: give activation or nonlin, not both ({activation=}, {nonlin=})")
    return "relu" if nonlin else "linear"


def _check_size(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ArgumentError(f"{what} must be an int >= 1, got {n!r}")
    return int(n)


# The generator behind the functions of the ``random`` module (random.seed, random.uniform, ...). micrograd
# draws its weights from it; so do our modules built without a seed, so that random.seed(1337) reproduces
# micrograd's networks.
GLOBAL_RNG: random.Random = random.random.__self__  # type: ignore[attr-defined]


def _make_rng(seed: int | None, where: str) -> random.Random:
    """A private generator made from ``seed``; without a seed, the global one (micrograd's behaviour)."""
    if seed is None:
        return GLOBAL_RNG
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OperandTypeError(f"{where}: seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return random.Random(seed)


def choose_rng(seed: int | None, rng: random.Random | None, where: str) -> random.Random:
    """The generator a module draws from (a Neuron, a Layer, a Dropout): ``rng`` if given, else a private
    ``random.Random(seed)``, else the global one; a typed error naming ``where`` for a bad choice."""
    if rng is None:
        return _make_rng(seed, where)
    if seed is not None:
        raise ArgumentError(f"{where}: give seed or rng, not both (seed={seed!r})")
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
        self.nin = _check_size(nin, "Neuron: nin")
        self.activation = _choose_activation(activation, nonlin, "Neuron")
        self.fused = bool(fused)
        self.label = label
        rng = choose_rng(seed, rng, "Neuron")
        weight_init, bias_start = initializers.get(init), initializers.get(bias_init)
        fan_out = _check_size(fan_out, "Neuron: fan_out")
        self.w = [Value(x, f"{label}.w{k}") for k, x in enumerate(weight_init.sample(nin, fan_out, nin, rng))]
        self.b = Value(bias_start.sample(nin, fan_out, 1, rng)[0], f"{label}.b")

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if len(x) != self.nin:
            raise ShapeError(f"Neuron {self.label}: expected {self.nin} inputs, got {len(x)}")
        return self._forward([operand(xi, f"Neuron {self.label}") for xi in x])

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
        self.nin = _check_size(nin, "Layer: nin")
        self.nout = _check_size(nout, "Layer: nout")
        self.activation = _choose_activation(activation, nonlin, "Layer")
        self.index = index
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

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The outputs of the neurons: a list of ``nout`` Values, or the Value itself when the layer has
        one neuron (as micrograd's Layer and our MLP return)."""
        if len(x) != self.nin:
            raise ShapeError(f"Layer {self.index}: expected {self.nin} inputs, got {len(x)}")
        outputs = self._forward([operand(xi, f"Layer {self.index}") for xi in x])
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
        self.nin = _check_size(nin, "MLP: nin")
        if isinstance(nouts, (str, bytes, Mapping, Set)) or not hasattr(nouts, "__len__") or len(nouts) == 0:
            raise ArgumentError(f"MLP: nouts must be a non-empty sequence of layer sizes, got {nouts!r}")
        self.nouts = [_check_size(n, f"MLP: nouts[{i}]") for i, n in enumerate(nouts)]
        self.activation = _check_activation(activation, "MLP")
        self.output_activation = _check_activation(output_activation, "MLP output")
        self.fused = bool(fused)
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

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The network's output for one input vector ``x`` (a list, tuple or 1-D numpy array)."""
        # Anything ordered with a length will do; a dict or a set has no meaningful order of inputs.
        if isinstance(x, (str, bytes, Value, numbers.Number, Mapping, Set)) or not hasattr(x, "__len__"):
            raise OperandTypeError(
                f"MLP: input must be a sequence of {self.nin} numbers or Values, got {type(x).__name__} {x!r}"
            )
        if len(x) != self.nin:
            raise ShapeError(f"MLP: expected {self.nin} inputs, got {len(x)}")
        outputs = self.layers[0]._forward([operand(xi, "MLP") for xi in x])
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


def weight_stats(values: Sequence[Value | float]) -> WeightStats:
    """Summary statistics of some numbers (usually a model's weights), as a dict.

    For n values x_i: ``count`` = n, ``sum`` = Σ x_i, ``abs_sum`` = Σ |x_i| (the L1 norm), ``sq_sum`` =
    Σ x_i² (the squared L2 norm), ``mean`` = sum / n, ``std`` = √(Σ (x_i - mean)² / n) (population
    standard deviation), ``min``, ``max``, and how many are ``negative`` (< 0), ``positive`` (> 0) and
    exactly ``zero``. Sums are exactly rounded (math.fsum). With no values, the counts and sums are 0 and
    mean, std, min and max are NaN.
    """
    xs = [v.data if isinstance(v, Value) else float(v) for v in values]
    n = len(xs)
    if n == 0:
        nan = math.nan
        return WeightStats(
            count=0, sum=0.0, abs_sum=0.0, sq_sum=0.0, mean=nan, std=nan, min=nan, max=nan,
            negative=0, positive=0, zero=0,
        )  # fmt: skip
    total = _sum(xs)
    mean = total / n
    return WeightStats(
        count=n,
        sum=total,
        abs_sum=_sum([abs(x) for x in xs]),
        sq_sum=_sum([x * x for x in xs]),
        mean=mean,
        std=math.sqrt(_sum([(x - mean) * (x - mean) for x in xs]) / n),  # two passes: no cancellation
        min=min(xs),
        max=max(xs),
        negative=sum(1 for x in xs if x < 0),
        positive=sum(1 for x in xs if x > 0),
        zero=sum(1 for x in xs if x == 0),
    )
