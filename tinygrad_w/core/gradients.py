"""``grad``: gradients returned instead of written to ``.grad``, and gradients of gradients.

With ``create_graph=True`` every derivative rule is evaluated on Values (``m = ValueMath``), so the
gradient is itself a graph that can be differentiated again: d²/dx² of x³ is ``grad(grad(y, [x],
create_graph=True)[0], [x])``. The walk is the same one ``backward`` uses (reverse.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, overload

from .errors import OperandTypeError, show
from .ops import EXP, LOG, RELU, SIGMOID, SQRT, TANH, FloatMath
from .reverse import backpropagate, topological_order
from .value import Value, backward_checks, check_finite, float_pullback, power


class ValueMath:
    """The primitives on Values: a rule evaluated with them builds nodes, so it can be differentiated
    again. step and sign are flat wherever they have a derivative: a constant will do."""

    exp, log, tanh, sqrt, sigmoid, relu, pow = EXP, LOG, TANH, SQRT, SIGMOID, RELU, staticmethod(power)
    step = staticmethod(lambda x: FloatMath.step(float(x)))
    sign = staticmethod(lambda x: FloatMath.sign(float(x)))


def value_pullback(node: Value, upstream: Value | float) -> list[tuple[Value, Value | float]]:
    """The chain rule at one node, on Values: the contributions are themselves differentiable."""
    partials = node.op.derivative(ValueMath, node, *node.children) if node.op else ()
    return [(x, d * upstream) for x, d in zip(node.children, partials) if isinstance(x, Value)]


@overload
def grad(
    outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: Literal[False] = False
) -> list[float]: ...
@overload
def grad(
    outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: Literal[True]
) -> list[Value]: ...
def grad(outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: bool = False) -> list[Any]:
    """∂(sum of outputs)/∂input for each input (0 where there is no dependence); no ``.grad`` changes.

    With ``create_graph=True`` the gradients are Values built by the derivative rules: ``grad`` of a
    gradient is a second derivative, and so on.
    """
    try:
        roots, targets = [outputs] if isinstance(outputs, Value) else list(outputs), list(inputs)
    except TypeError:  # grad(y, x), a slip for grad(y, [x]): a Value is not a list
        raise OperandTypeError(
            f"grad: expected grad(output(s), [inputs]), got grad({show(outputs)}, {show(inputs)})"
        ) from None
    for x in [*roots, *targets]:
        if not isinstance(x, Value):
            raise OperandTypeError(f"grad: expected Values, got {type(x).__name__} {show(x)}")
    order = topological_order(*roots)
    for check in backward_checks:  # opt-in checks of the graph, such as detect_anomaly()
        check(order)
    seeds = dict.fromkeys(roots, 1.0)  # a root listed twice counts once
    if create_graph:
        grads = backpropagate(order, seeds, value_pullback)
        return [g if isinstance(g := grads.get(x, 0.0), Value) else Value(g) for x in targets]
    grads = backpropagate(order, seeds, float_pullback)
    check_finite(order, grads)
    return [grads.get(x, 0.0) for x in targets]
