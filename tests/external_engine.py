"""A tiny micrograd-style engine, as a learner might write it, used to show tinygrad_w's check-your-engine
report (tests/test_adapter.py and the README).

Each result remembers its parents and, computed right away in the forward pass, the local derivative
∂result/∂parent for each. ``backward`` visits the nodes in reverse topological order and pushes
``grad · local`` to every parent.

Three classic bugs can be switched on, for demonstration, with :func:`with_bugs`:

- ``"tanh"``: tanh' written as 1 - tanh(x) instead of 1 - tanh(x)²;
- ``"accumulate"``: a parent's gradient overwritten (``=``) instead of accumulated (``+=``), which is
  only wrong when a value is used more than once (``x * x``, or x feeding two branches);
- ``"chain"``: the chain rule forgotten, ``parent.grad += local`` instead of ``local * node.grad``, which
  is right for every op applied to leaves and wrong as soon as ops are composed (``exp(tanh(x))``).
"""

from __future__ import annotations

import math
from typing import ClassVar


class Scalar:
    """A float with a gradient and the recipe of the step that made it."""

    bugs: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, data: float, parents: tuple[Scalar, ...] = (), local: tuple[float, ...] = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local = local  # ∂self/∂parent, in the order of parents

    def __repr__(self) -> str:
        return f"Scalar({self.data}, grad={self.grad})"

    def _lift(self, other: Scalar | float) -> Scalar:
        return other if isinstance(other, Scalar) else type(self)(other)

    def _result(self, data: float, parents: tuple[Scalar, ...], local: tuple[float, ...]) -> Scalar:
        return type(self)(data, parents, local)  # same class, so a buggy engine stays buggy

    def __add__(self, other: Scalar | float) -> Scalar:
        other = self._lift(other)
        return self._result(self.data + other.data, (self, other), (1.0, 1.0))

    def __radd__(self, other: float) -> Scalar:
        return self + other

    def __mul__(self, other: Scalar | float) -> Scalar:
        other = self._lift(other)
        return self._result(self.data * other.data, (self, other), (other.data, self.data))

    def __rmul__(self, other: float) -> Scalar:
        return self * other

    def __neg__(self) -> Scalar:
        return self * -1.0

    def __sub__(self, other: Scalar | float) -> Scalar:
        return self + (-self._lift(other))

    def __rsub__(self, other: float) -> Scalar:
        return self._lift(other) - self

    def __pow__(self, k: float) -> Scalar:
        if not isinstance(k, (int, float)):
            raise TypeError("Scalar ** only takes a constant exponent")
        return self._result(self.data**k, (self,), (k * self.data ** (k - 1),))

    def __truediv__(self, other: Scalar | float) -> Scalar:
        return self * self._lift(other) ** -1.0

    def __rtruediv__(self, other: float) -> Scalar:
        return self._lift(other) / self

    def exp(self) -> Scalar:
        e = math.exp(self.data)
        return self._result(e, (self,), (e,))

    def log(self) -> Scalar:
        return self._result(math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self) -> Scalar:
        t = math.tanh(self.data)
        slope = 1.0 - t if "tanh" in self.bugs else 1.0 - t * t
        return self._result(t, (self,), (slope,))

    def relu(self) -> Scalar:
        on = self.data > 0
        return self._result(self.data if on else 0.0, (self,), (1.0 if on else 0.0,))

    def backward(self) -> None:
        order: list[Scalar] = []
        seen: set[int] = set()
        stack: list[tuple[Scalar, bool]] = [(self, False)]
        while stack:  # depth-first, without recursion; a node is listed after its parents
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in zip(node.parents, node.local):
                if "accumulate" in self.bugs:
                    parent.grad = local * node.grad
                elif "chain" in self.bugs:
                    parent.grad += local
                else:
                    parent.grad += local * node.grad


def with_bugs(*bugs: str) -> type[Scalar]:
    """A Scalar class with the named bugs switched on ("tanh", "accumulate", "chain")."""
    unknown = set(bugs) - {"tanh", "accumulate", "chain"}
    if unknown:
        raise ValueError(f"unknown bugs {sorted(unknown)}")
    return type("BuggyScalar", (Scalar,), {"bugs": frozenset(bugs)})
