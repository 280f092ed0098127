"""The two kinds of step: an op applied to stacked rows, and sums computed as matrix products.

Both compute with the op table's own rules or plain sums, never a second copy of a derivative. A NaN or
an infinity in a step's result raises the typed error the scalar engine would raise, naming the op and
the sample (by evaluating the op's rule again on that sample's numbers, with floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_w.batched.arraymath import ArrayMath
from tinygrad_w.batched.blocks import Array, Block, Contributions, Gather, Run
from tinygrad_w.core.errors import operation_error
from tinygrad_w.core.ops import FloatMath, Op
from tinygrad_w.errors import OperationOverflowError

__all__ = ["MatrixPart", "OpStep", "SharedPart", "SparsePart", "SumStep"]

Operand = Gather | float | Array  # a gather, or constants: one float, or a column (one per row)


class OpStep(Block):
    """``op`` applied to every row: ``out[g] = op(operand_0[g], operand_1[g], ...)`` in one call of
    ``op.forward(ArrayMath, ...)``; its pullback is one call of ``op.derivative(ArrayMath, ...)``."""

    def __init__(self, index: int, size: int, per_sample: bool, op: Op, operands: list[Operand]) -> None:
        gathers = [o for o in operands if isinstance(o, Gather)]
        super().__init__(index, size, per_sample, [b for g in gathers for b in g.blocks])
        self.op, self.operands = op, operands

    def forward(self, run: Run) -> Array:
        args = [o.take(run) if isinstance(o, Gather) else o for o in self.operands]
        out = self.op.forward(ArrayMath, *args)
        if not np.isfinite(out).all():
            raise_forward_error(self.op, args, out)
        run.saved[self.index] = args
        return np.asarray(out, dtype=np.float64)

    def pullback(self, run: Run, upstream: Array) -> Contributions:
        """The chain rule for a whole stack of nodes: input k gets upstream · ∂out/∂input_k."""
        args, out = run.saved[self.index], run.values[self.index]
        partials = self.op.derivative(ArrayMath, out, *args)
        contributions: Contributions = []
        for k, (operand, partial) in enumerate(zip(self.operands, partials)):
            if isinstance(operand, Gather) and operand.needs_grad:
                contribution = partial * upstream
                if run.checked and not np.isfinite(contribution).all():
                    raise_backward_error(self.op, args, out, contribution, k)
                contributions += operand.give(to_width(contribution, operand, run))
        return contributions


def to_width(gradient: Array, operand: Gather, run: Run) -> Array:
    """A shared operand used by every sample gets the sum of their gradients."""
    if gradient.shape[1] > 1 and all(not b.per_sample for b in operand.blocks):
        summed: Array = gradient.sum(axis=1, keepdims=True)
        return summed
    return gradient


class MatrixPart:
    """The per-sample terms of a step of sums: ``out = M @ T``, T the terms (one row each), M[g, t] the
    coefficient · factor of term t in sum g (0 where sum g does not use term t).

    ``flat`` says where each entry goes in M (read row by row), ``factors`` and ``coefficients`` give
    it. When every entry has coefficient 1 and M has no holes nor repeats (a layer's weights), M is the
    factors themselves, reshaped: no copy at all when they are one slice of a block.
    """

    def __init__(self, sums: int, terms: Gather, factors: Gather, flat: Sequence[int], coefficients: list[float]) -> None:  # fmt: skip
        self.shape, self.terms, self.factors = (sums, terms.size), terms, factors
        self.flat = np.array(flat, dtype=np.intp)
        self.coefficients = np.array(coefficients, dtype=np.float64)
        self.exact = (
            all(c == 1.0 for c in coefficients)
            and len(flat) == sums * terms.size
            and list(flat) == sorted(set(flat))
        )
        self.repeats = len(set(flat)) != len(flat)

    def matrix(self, run: Run) -> Array:
        factors = self.factors.take(run)
        if self.exact:
            return factors.reshape(self.shape)
        matrix = np.zeros(self.shape)
        entries = self.coefficients * factors[:, 0]
        if self.repeats:
            np.add.at(matrix.reshape(-1), self.flat, entries)
        else:
            matrix.reshape(-1)[self.flat] = entries
        return matrix

    def product(self, matrix: Array, terms: Array) -> Array:
        product: Array = matrix @ terms
        return product

    def pullback(self, run: Run, upstream: Array, matrix: Array, terms: Array) -> Contributions:
        """∂out/∂T = Mᵀ @ upstream for every sample; ∂out/∂M = upstream @ Tᵀ, summed over the batch."""
        contributions: Contributions = []
        if self.terms.needs_grad:
            contributions += self.terms.give(matrix.T @ upstream)
        if self.factors.needs_grad:
            by_entry = (upstream @ terms.T).reshape(-1)
            factor_grads = by_entry if self.exact else self.coefficients * by_entry[self.flat]
            contributions += self.factors.give(factor_grads.reshape(-1, 1))
        return contributions


class SparsePart:
    """The per-sample terms of sums that each use few of the step's terms (M would be mostly zeros):
    entry e adds coefficient_e · factor_e · term_e to sum ``owners[e]``, entries sorted by sum. Time
    and memory grow with the entries, not with sums × terms."""

    def __init__(self, sums: int, owners: list[int], terms: Gather, factors: Gather, coefficients: list[float]) -> None:  # fmt: skip
        self.sums, self.terms, self.factors = sums, terms, factors
        self.owners = np.array(owners, dtype=np.intp)
        self.coefficients = np.array(coefficients, dtype=np.float64)
        self.starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]])
        self.filled = self.owners[self.starts]  # the sums that have entries

    def matrix(self, run: Run) -> Array:
        """Not a matrix here: each entry's weight, coefficient · factor."""
        weights: Array = self.coefficients * self.factors.take(run)[:, 0]
        return weights

    def product(self, weights: Array, terms: Array) -> Array:
        out = np.zeros((self.sums, terms.shape[1]))
        out[self.filled] = np.add.reduceat(weights[:, None] * terms, self.starts, axis=0)
        return out

    def pullback(self, run: Run, upstream: Array, weights: Array, terms: Array) -> Contributions:
        per_entry = upstream[self.owners]
        contributions: Contributions = []
        if self.terms.needs_grad:
            contributions += self.terms.give(weights[:, None] * per_entry)
        if self.factors.needs_grad:
            by_entry = np.einsum("ij,ij->i", per_entry, terms)
            contributions += self.factors.give((self.coefficients * by_entry).reshape(-1, 1))
        return contributions


class SharedPart:
    """The shared terms of a step of sums (a bias, a penalty's p·p): entry e adds coefficient_e ·
    factor_e · term_e to sum ``owners[e]``."""

    def __init__(self, sums: int, owners: list[int], terms: Gather, factors: Gather, coefficients: list[float]) -> None:  # fmt: skip
        self.sums, self.terms, self.factors = sums, terms, factors
        self.owners = np.array(owners, dtype=np.intp)
        self.coefficients = np.array(coefficients, dtype=np.float64)
        # The common case, biases: sum g gets term g alone, with coefficient 1.
        self.plain = owners == list(range(sums)) and all(c == 1.0 for c in coefficients)

    def column(self, run: Run) -> Array:
        terms, factors = self.terms.take(run), self.factors.take(run)
        if self.plain:
            return terms * factors
        weights = self.coefficients * terms[:, 0] * factors[:, 0]
        column: Array = np.bincount(self.owners, weights, minlength=self.sums).astype(np.float64)
        return column.reshape(-1, 1)

    def pullback(self, run: Run, upstream: Array) -> Contributions:
        per_sum = upstream.sum(axis=1) if upstream.shape[1] > 1 else upstream[:, 0]
        per_entry = self.coefficients * per_sum[self.owners]
        contributions: Contributions = []
        if self.terms.needs_grad:  # ∂(c·f·t)/∂t = c·f
            contributions += self.terms.give((per_entry * self.factors.take(run)[:, 0]).reshape(-1, 1))
        if self.factors.needs_grad:  # ∂(c·f·t)/∂f = c·t
            contributions += self.factors.give((per_entry * self.terms.take(run)[:, 0]).reshape(-1, 1))
        return contributions


class SumStep(Block):
    """Sums ``out[g] = offset_g + Σ coefficient · factor · term``: per-sample terms through one matrix
    product (:class:`MatrixPart`), shared ones added per sum (:class:`SharedPart`)."""

    def __init__(
        self, index: int, size: int, per_sample: bool, name: str,
        matrix: MatrixPart | SparsePart | None, shared: SharedPart | None, offsets: list[float],
    ) -> None:  # fmt: skip
        gathers = [g for part in (matrix, shared) if part is not None for g in (part.terms, part.factors)]
        super().__init__(index, size, per_sample, [b for g in gathers for b in g.blocks])
        self.name, self.matrix_part, self.shared_part = name, matrix, shared
        self.offsets = None if all(x == 0.0 for x in offsets) else np.array(offsets).reshape(-1, 1)

    def forward(self, run: Run) -> Array:
        out: Any = 0.0
        if self.matrix_part is not None:
            matrix, terms = self.matrix_part.matrix(run), self.matrix_part.terms.take(run)
            run.saved[self.index] = matrix, terms
            out = self.matrix_part.product(matrix, terms)
        if self.shared_part is not None:
            out = out + self.shared_part.column(run)
        if self.offsets is not None:
            out = out + self.offsets
        if not np.isfinite(out).all():
            raise OperationOverflowError(
                f"batched replay: a sum of {self.name} nodes is not a finite float", self.name
            )
        return np.asarray(out, dtype=np.float64)

    def pullback(self, run: Run, upstream: Array) -> Contributions:
        contributions: Contributions = []
        if self.matrix_part is not None:
            contributions += self.matrix_part.pullback(run, upstream, *run.saved[self.index])
        if self.shared_part is not None:
            contributions += self.shared_part.pullback(run, upstream)
        if run.checked and not all(np.isfinite(c).all() for _, c in contributions):
            raise OperationOverflowError(
                f"batched replay: the gradient through a sum of {self.name} nodes is not a finite float",
                self.name,
            )
        return contributions


# ----------------------------------------------------------------------------------------------------
# Naming the op and the sample that failed


def _first_bad(array: Array) -> tuple[int, int]:
    """(row, sample) of the first non-finite entry."""
    g, i = np.argwhere(~np.isfinite(np.atleast_2d(array)))[0][:2]
    return int(g), int(i)


def _scalar_args(args: Sequence[Any], g: int, i: int) -> list[float]:
    """The numbers one node saw for one sample, taken back out of the stacked arrays."""
    picked = []
    for a in args:
        if isinstance(a, np.ndarray):
            row = a[g if a.shape[0] > 1 else 0]
            picked.append(float(row[i if row.shape[0] > 1 else 0]))
        else:
            picked.append(float(a))
    return picked


def raise_forward_error(op: Op, args: list[Any], out: Any) -> None:
    """Name the op and the offending sample, with the scalar engine's own message when it has one."""
    g, i = _first_bad(out)
    scalars = _scalar_args(args, g, i)
    where = f"batched replay, sample {i}: "
    try:
        result = op.forward(FloatMath, *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the result {result!r} is not a finite float",
        op.name,
        tuple(scalars),
    )


def raise_backward_error(op: Op, args: list[Any], out: Array, contribution: Array, k: int) -> None:
    g, i = _first_bad(contribution)
    scalars = _scalar_args(args, g, i)
    where = f"batched replay, sample {i}: derivative of "
    try:
        op.derivative(FloatMath, *_scalar_args([out], g, i), *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the gradient through input {k} is not a finite float",
        op.name,
        tuple(scalars),
    )
