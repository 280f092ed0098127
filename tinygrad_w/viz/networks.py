"""How drawings read a network: a small typed protocol, so that viz never imports tinygrad_w.nn.

A network is anything with ``nin`` (the number of inputs) and ``layers``. Each layer is one of:

- a layer of neurons, with ``neurons``; each neuron has ``w`` (its weights, one per input of the
  layer, in order), ``b`` (its bias), ``activation`` (a name such as "tanh" or "linear") and ``label``;
- a batch norm, with ``gamma`` and ``beta`` (one scale and one shift per feature) and ``label``;
- an activation, with ``name`` and no parameters (``parameters()`` returns an empty list);
- a network itself (``layers``), opened up in place (an MLP inside a Sequential).

``tinygrad_w.nn``'s ``MLP``, ``Layer``, ``Neuron``, ``Sequential``, ``BatchNorm1d`` and ``Activation``
have these attributes, so they satisfy the protocol without knowing about it. :func:`read_network`
turns a network into plain records (:class:`NeuronColumn`, :class:`NormColumn`,
:class:`ActivationColumn`) that the drawings use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tinygrad_w.core.value import Value
from tinygrad_w.errors import OperandTypeError

__all__ = [
    "ActivationColumn",
    "Column",
    "NetworkLike",
    "NeuronColumn",
    "NeuronLike",
    "NeuronView",
    "NormColumn",
    "neuron_of_parameters",
    "read_network",
]


class NeuronLike(Protocol):
    """activation(b + Σ_k w_k x_k)."""

    @property
    def w(self) -> Sequence[Value]: ...
    @property
    def b(self) -> Value: ...
    @property
    def activation(self) -> str: ...
    @property
    def label(self) -> str: ...


class NetworkLike(Protocol):
    """What draw_network and ``draw_graph(..., network=)`` read (see the module's docstring)."""

    @property
    def nin(self) -> int | None: ...
    @property
    def layers(self) -> Sequence[object]: ...


@dataclass(frozen=True)
class NeuronView:
    label: str
    w: tuple[Value, ...]
    b: Value
    activation: str


@dataclass(frozen=True)
class NeuronColumn:
    """A layer of neurons."""

    neurons: tuple[NeuronView, ...]


@dataclass(frozen=True)
class NormColumn:
    """A batch norm: ``y_j = γ_j · (x_j - mean_j) / std_j + β_j`` per feature j."""

    label: str
    gamma: tuple[Value, ...]
    beta: tuple[Value, ...]


@dataclass(frozen=True)
class ActivationColumn:
    """The same activation applied to every unit of the column before."""

    name: str


Column = NeuronColumn | NormColumn | ActivationColumn


def read_network(model: object, where: str) -> tuple[int, list[Column]]:
    """The number of inputs and the columns of a network, nested networks opened up in place.

    A model without ``nin`` and ``layers``, or with a layer that is none of the kinds above, raises
    :class:`OperandTypeError` naming ``where`` and the layer.
    """
    nin, layers = getattr(model, "nin", None), getattr(model, "layers", None)
    if not isinstance(nin, int) or isinstance(nin, bool) or not isinstance(layers, Sequence) or not layers:
        raise OperandTypeError(
            f"{where}: expected a network with .nin and .layers (a tinygrad_w.nn.MLP), got {model!r}"
        )
    columns: list[Column] = []
    pending: list[object] = list(layers)[::-1]
    while pending:
        layer = pending.pop()
        inner = getattr(layer, "layers", None)
        column = _read_column(layer)
        if column is not None:
            columns.append(column)
        elif isinstance(inner, Sequence):
            pending.extend(reversed(inner))
        else:
            raise OperandTypeError(
                f"{where}: layer {len(columns) + 1} ({type(layer).__name__}) is not a layer of neurons, a "
                "batch norm or an activation; use draw_graph on the model's output instead"
            )
    return nin, columns


def _read_column(layer: object) -> Column | None:
    """The layer as a column record, or None if it has none of the three shapes."""
    neurons = getattr(layer, "neurons", None)
    if isinstance(neurons, Sequence) and all(_is_neuron(n) for n in neurons):
        return NeuronColumn(tuple(NeuronView(n.label, tuple(n.w), n.b, n.activation) for n in neurons))
    gamma, beta = getattr(layer, "gamma", None), getattr(layer, "beta", None)
    if _values(gamma) and _values(beta):
        return NormColumn(str(getattr(layer, "label", "BN")), tuple(gamma), tuple(beta))  # type: ignore[arg-type]
    name, parameters = getattr(layer, "name", None), getattr(layer, "parameters", None)
    if isinstance(name, str) and callable(parameters) and not parameters():
        return ActivationColumn(name)
    return None


def _values(xs: object) -> bool:
    return isinstance(xs, Sequence) and all(isinstance(x, Value) for x in xs)


def _is_neuron(n: object) -> bool:
    return (
        _values(getattr(n, "w", None))
        and isinstance(getattr(n, "b", None), Value)
        and isinstance(getattr(n, "activation", None), str)
        and isinstance(getattr(n, "label", None), str)
    )


def neuron_of_parameters(columns: Sequence[Column]) -> dict[Value, tuple[int, int, str]]:
    """For each weight and bias: (column number from 1, neuron number from 0, the neuron's name)."""
    owner: dict[Value, tuple[int, int, str]] = {}
    for position, column in enumerate(columns, start=1):
        if isinstance(column, NeuronColumn):
            for j, neuron in enumerate(column.neurons):
                name = neuron.label or f"L{position}.N{j}"
                for parameter in (*neuron.w, neuron.b):
                    owner.setdefault(parameter, (position, j, name))
    return owner
