"""Which traced nodes are sums, and of what: the facts that let the replay turn chains of + and w·x into
one matrix product.

An op declares the inputs it is linear in (``op.linear_in``: ADD, SUB and MUL are linear in each input,
DIV in its numerator, the fused LINEAR in every input). A node all of whose Value inputs are among them
is multilinear in those inputs, so it is a polynomial with one coefficient per monomial. The replay can
only use monomials of degree 1 (c·a_k) and products of two inputs (a_k·a_j, a weight times an input),
and it reads them off the op's own derivative rule: for such a node ∂out/∂a_k is either a constant c_k
or exactly another input a_j. The rule is evaluated once per kind of node (op and constants), at two
random points, and the result is checked against the forward rule at those points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_w.batched.arraymath import ArrayMath
from tinygrad_w.core.ops import FloatMath, Op

__all__ = ["LinearForm", "LinearForms"]

# Entries of a form: (k, c, None) stands for c·a_k; (k, 1.0, j) for the product a_k·a_j.
Entry = tuple[int, float, "int | None"]


@dataclass(frozen=True)
class LinearForm:
    """A node's value as ``offset + Σ entries``, in terms of its inputs a_0, a_1, ... (see Entry)."""

    offset: float
    entries: tuple[Entry, ...]
    pairs: tuple[tuple[int, int], ...]  # the products a_k·a_j among the entries


class LinearForms:
    """The linear form of each kind of node, worked out once per op and pattern of constant inputs."""

    def __init__(self) -> None:
        self.known: dict[tuple[Op, tuple[float | None, ...]], LinearForm | None] = {}
        self.rng = np.random.default_rng(20240607)  # probe points: the same plan on every run

    def of(self, op: Op, children: Sequence[Any]) -> LinearForm | None:
        """The form of ``op`` applied to ``children`` (Values, or floats for constants), or None."""
        pattern = tuple([c if type(c) is float else None for c in children])
        key = (op, pattern)
        if key not in self.known:
            self.known[key] = self._probe(op, pattern)
        return self.known[key]

    def _probe(self, op: Op, pattern: tuple[float | None, ...]) -> LinearForm | None:
        variables = [k for k, c in enumerate(pattern) if c is None]
        linear = range(len(pattern)) if op.linear_in == "every" else op.linear_in
        if not variables or not set(variables) <= set(linear):
            return None
        points = {k: self.rng.uniform(0.5, 2.0, size=2) for k in variables}
        args = [points[k] if c is None else c for k, c in enumerate(pattern)]
        try:
            with np.errstate(all="ignore"):
                out = np.broadcast_to(np.asarray(op.forward(ArrayMath, *args), dtype=np.float64), (2,))
                partials = op.derivative(ArrayMath, out, *args)
                offset = float(op.forward(FloatMath, *[0.0 if c is None else c for c in pattern]))
        except Exception:  # a rule that does not take arrays this way: the node is replayed op by op
            return None
        entries = _entries(variables, points, partials)
        if entries is None or not math.isfinite(offset):
            return None
        form = LinearForm(offset, tuple(entries), tuple((k, j) for k, _, j in entries if j is not None))
        return form if _reproduces(form, points, out) else None


def _entries(variables: list[int], points: dict[int, Any], partials: Sequence[Any]) -> list[Entry] | None:
    """∂out/∂a_k for each variable input: the same at both points (a constant coefficient), or equal to
    another input a_j whose own partial is a_k (the product a_k·a_j, listed once); else None."""
    by_point = {tuple(points[k]): k for k in variables}
    entries: list[Entry] = []
    for k in variables:
        partial = np.broadcast_to(np.asarray(partials[k], dtype=np.float64), (2,))
        if partial[0] == partial[1] and math.isfinite(partial[0]):
            entries.append((k, float(partial[0]), None))
            continue
        j = by_point.get(tuple(partial))
        if j is None or j == k:
            return None
        if not np.array_equal(np.broadcast_to(np.asarray(partials[j], dtype=np.float64), (2,)), points[k]):
            return None
        if k < j:
            entries.append((k, 1.0, j))
    return entries


def _reproduces(form: LinearForm, points: dict[int, Any], out: Any) -> bool:
    """Does offset + Σ entries give the op's own forward at the probe points? (A wrong ``linear_in``
    would not.)"""
    total = np.full(2, form.offset)
    for k, c, j in form.entries:
        total = total + (c * points[k] if j is None else points[k] * points[j])
    return bool(np.allclose(total, out, rtol=1e-9, atol=1e-12))
