"""Reverse mode: put the graph in order, then apply the chain rule from the output back to the inputs, on
any gradient (floats, Values, arrays) and any node with ``children`` (its inputs; floats are constants)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from .errors import OperandTypeError, show

Pullback = Callable[[Any, Any], Iterable[tuple[Any, Any]]]  # (node, its gradient) -> (input, contribution)s
F = TypeVar("F", bound=Callable[..., Any])


def collector_paused(function: F) -> F:
    """Speed: ``function`` runs with the cycle collector off (then on again if it was): graphs have no cycles,
    yet building one woke it to rescan the process (backward 1.6x faster; a notebook's moons step 2.1x)."""

    @functools.wraps(function)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()  # first, before anything is allocated: an allocation can start a pass
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled: gc.enable()  # fmt: skip

    return cast(F, paused)


@collector_paused
def topological_order(*roots: Any) -> list[Any]:
    """Every node the roots depend on, each after its inputs: depth first, inputs in call order, on an
    explicit stack (no recursion limit), so the order is the same in every run."""
    if not all(hasattr(root, "children") for root in roots):
        raise OperandTypeError(f"topological_order: expected Values, got {show(roots)}")
    order: list[Any] = []
    seen: set[Any] = set()  # nodes compare by identity
    for root in roots:
        stack = [] if root in seen else [(root, iter(root.children))]
        seen.add(root)
        while stack:
            node, pending = stack[-1]
            for child in pending:
                if type(child) is not float and child not in seen:
                    seen.add(child)
                    if not child.children:
                        order.append(child)  # a leaf waits for nothing
                        continue
                    stack.append((child, iter(child.children)))
                    break
            else:  # every input of node is listed: node can follow
                stack.pop()
                order.append(node)
    return order


@collector_paused
def backpropagate(order: Sequence[Any], grads: dict[Any, Any], pullback: Pullback) -> dict[Any, Any]:
    """The chain rule, once for every kind of gradient; ``grads`` starts as {output: 1}, filled in place.
    Walking back, a node's gradient is complete when reached (its users come later in ``order``), so
    ``pullback(node, gradient)`` passes on (input, gradient · ∂node/∂input); contributions add up."""
    for node in reversed(order):
        upstream = grads.get(node)
        if upstream is None:
            continue  # the outputs do not depend on this node
        for child, contribution in pullback(node, upstream):
            if type(child) is not float:  # a constant input gets no gradient
                before = grads.get(child)
                grads[child] = contribution if before is None else before + contribution
    return grads
