"""Weight penalties (regularization): terms added to the loss that pull weights toward zero.

Each function returns a Value, so ``loss = data_loss + l2(model, 1e-4)`` backpropagates through the
penalty like through any other part of the loss.

Given a Module (an MLP, a Layer, a Neuron), a penalty covers ``module.weights()`` only, not the biases: a
bias only shifts a neuron's output, and shrinking it does not make the model smoother. Pass a list of
Values (``model.parameters()``, say) to penalize exactly those.
"""

from __future__ import annotations

from collections.abc import Iterable

from tinygrad_w.checks import real_setting
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value
from tinygrad_w.errors import OperandTypeError, naming, show
from tinygrad_w.nn.layers import Module

__all__ = ["elastic_net", "l1", "l2"]


def _values(params: Iterable[Value] | Module, where: str) -> list[Value]:
    """The Values a penalty covers: a module's weights, or the given Values."""
    if isinstance(params, Module):
        return params.weights()
    if isinstance(params, (Value, str, bytes)) or not isinstance(params, Iterable):
        raise OperandTypeError(
            f"{where}: expected a list of Values or a Module, got {type(params).__name__} {show(params)}"
        )
    values = list(params)
    for v in values:
        if not isinstance(v, Value):
            raise OperandTypeError(f"{where}: expected Values or a Module, got {type(v).__name__} {show(v)}")
    return values


def _strength(lam: object, where: str) -> float:
    """A penalty's strength: a finite real number >= 0."""
    return real_setting(lam, "the strength", where, low=0.0)


def _sum(terms: list[Value]) -> Value:
    """terms[0] + terms[1] + ... as a chain of + nodes (0 as a Value when there are no terms)."""
    if not terms:
        return Value(0.0)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


@collector_paused
@naming("l1")
def l1(params: Iterable[Value] | Module, lam: float) -> Value:
    """L1 penalty (lasso): λ · Σ |w|.

    Its gradient is λ · sign(w) (0 at w = 0): a constant pull toward zero, which drives weights to exactly
    0 (sparsity). Given a Module, it covers the weights, not the biases.
    """
    strength = _strength(lam, "l1")
    return strength * _sum([abs(w) for w in _values(params, "l1")])


@collector_paused
@naming("l2")
def l2(params: Iterable[Value] | Module, lam: float) -> Value:
    """L2 penalty (ridge, weight decay): λ · Σ w², with no factor ½.

    Its gradient is therefore 2λw (some texts write ½λΣw² to get λw): a pull proportional to the weight,
    which shrinks large weights fast and small ones slowly. Given a Module, it covers the weights, not the
    biases.
    """
    strength = _strength(lam, "l2")
    return strength * _sum([w * w for w in _values(params, "l2")])


@collector_paused
@naming("elastic_net")
def elastic_net(params: Iterable[Value] | Module, l1: float, l2: float) -> Value:
    """Elastic net: l1 · Σ |w| + l2 · Σ w² (the L1 and L2 penalties added; gradient l1·sign(w) + 2·l2·w).

    Given a Module, it covers the weights, not the biases.
    """
    l1_strength, l2_strength = _strength(l1, "elastic_net l1"), _strength(l2, "elastic_net l2")
    weights = _values(params, "elastic_net")
    return l1_strength * _sum([abs(w) for w in weights]) + l2_strength * _sum([w * w for w in weights])
