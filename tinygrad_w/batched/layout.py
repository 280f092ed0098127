"""Layout: give every node of the plan a row in a block, and turn each group of the plan into a step.

Blocks come in the order they are computed: the batch, then for each step the block of leaves it is the
first to read (placed in the order it reads them, so that a layer's weights are one slice: its weight
matrix is then a view, no copy), then the step itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinygrad_w.batched.blocks import Block, ConstantBlock, Gather, LeafBlock, SampleBlock
from tinygrad_w.batched.plan import Expansion, Group
from tinygrad_w.batched.steps import MatrixPart, Operand, OpStep, SharedPart, SparsePart, SumStep
from tinygrad_w.core.value import Value

__all__ = ["Layout", "lay_out"]

Place = dict[Value, tuple[Block, int]]
# An entry of a sum: (sum g, term, coefficient, factor); a term without a factor has the factor _ONE.
Entry = tuple[int, Value, float, Value]


@dataclass
class Layout:
    """The blocks in order, where each traced node lives, and the blocks of leaves."""

    blocks: list[Block]
    place: Place
    leaf_blocks: list[LeafBlock]


def lay_out(
    groups: Sequence[Group], sums: dict[Value, Expansion], per_sample: set[Value],
    sample_leaves: Sequence[Value], params: set[Value],
) -> Layout:  # fmt: skip
    """Blocks for the batch, the constant 1, the leaves and every group's step, in computing order."""
    rank = {leaf: (-1, k) for k, leaf in enumerate(sample_leaves)}  # the order of places, before placing
    rank.update((node, (i, g)) for i, group in enumerate(groups) for g, node in enumerate(group.nodes))
    entries = [None if group.op else _sum_entries(group, sums, per_sample, rank) for group in groups]
    sample, one = SampleBlock(0, len(sample_leaves), True), ConstantBlock(1, [1.0])
    layout = Layout([sample, one], {leaf: (sample, k) for k, leaf in enumerate(sample_leaves)}, [])
    layout.place[_ONE] = (one, 0)
    for leaves in _leaves_by_group(groups, entries, rank):
        if leaves:
            block = LeafBlock(len(layout.blocks), leaves, params)
            layout.blocks.append(block)
            layout.leaf_blocks.append(block)
            layout.place.update((leaf, (block, row)) for row, leaf in enumerate(leaves))
    for group, sum_entries in zip(groups, entries):
        index, size = len(layout.blocks), len(group.nodes)
        step: Block
        if sum_entries is None:
            operands = [
                _operand(_column(group, k), layout.place) for k in range(len(group.nodes[0].children))
            ]
            step = OpStep(index, size, group.per_sample, group.op, operands)  # type: ignore[arg-type]
        else:
            step = _sum_step(index, group, sum_entries, sums, layout.place)
        layout.blocks.append(step)
        layout.place.update((node, (step, g)) for g, node in enumerate(group.nodes))
    return layout


_ONE = Value(1.0, "1")  # stands for the factor of a term that has none; lives in the constant block


def _column(group: Group, k: int) -> list[Value | float]:
    """Input k of every node of an op group."""
    return [node.children[k] for node in group.nodes]


def _leaves_by_group(
    groups: Sequence[Group], entries: list[SumEntries | None], rank: dict[Value, tuple[int, int]]
) -> list[list[Value]]:
    """The shared leaves (parameters, constants made outside the loss) each step is the first to read.

    A leaf used as a weight goes with the first step that uses it so (in the order of the weight
    matrix, so that the matrix is a slice of the block); the others with the first step reading them.
    """
    owner: dict[Value, int] = {}
    for i, sum_entries in enumerate(entries):
        for *_, factor in sum_entries.matrix if sum_entries else ():
            owner.setdefault(factor, i)
    for i, (group, sum_entries) in enumerate(zip(groups, entries)):
        reads: list[Value | float] = []
        if sum_entries is None:
            reads = [c for k in range(len(group.nodes[0].children)) for c in _column(group, k)]
        else:
            reads = [v for _, t, _, f in sum_entries.shared for v in (t, f)]
        for v in reads:
            if isinstance(v, Value):
                owner.setdefault(v, i)
    leaves: list[list[Value]] = [[] for _ in groups]
    for leaf, i in owner.items():
        if leaf not in rank and leaf is not _ONE:  # not computed by a step, nor part of the batch
            leaves[i].append(leaf)
    return leaves


def _operand(column: list[Value | float], place: Place) -> Operand:
    """A gather when the inputs are Values (a group's key makes a column all Values or all constants)."""
    if isinstance(column[0], Value):
        return Gather([place[v] for v in column])  # type: ignore[index]
    numbers = [float(c) for c in column]
    if all(x == numbers[0] for x in numbers):
        return numbers[0]
    return np.array(numbers).reshape(-1, 1)


@dataclass
class SumEntries:
    """A group of sums, entry by entry: (sum g, term, coefficient, factor). ``matrix`` holds the
    per-sample terms, sorted by where they go in M (sum by sum; ``terms``, the columns, in the order
    of their places), ``shared`` the shared ones in the order of the sums."""

    terms: list[Value]
    matrix: list[Entry]
    shared: list[Entry]


def _sum_entries(
    group: Group, sums: dict[Value, Expansion], per_sample: set[Value], rank: dict[Value, tuple[int, int]]
) -> SumEntries:
    matrix: list[Entry] = []
    shared: list[Entry] = []
    for g, node in enumerate(group.nodes):
        for term, coefficient, factor in sums[node].terms:
            entry = (g, term, coefficient, _ONE if factor is None else factor)
            (matrix if term in per_sample else shared).append(entry)
    terms = sorted({term: None for _, term, _, _ in matrix}, key=rank.__getitem__)
    column = {term: c for c, term in enumerate(terms)}
    matrix.sort(key=lambda entry: entry[0] * len(terms) + column[entry[1]])
    return SumEntries(terms, matrix, shared)


def _sum_step(
    index: int, group: Group, entries: SumEntries, sums: dict[Value, Expansion], place: Place
) -> SumStep:
    size = len(group.nodes)
    matrix: MatrixPart | SparsePart | None = None
    shared: SharedPart | None = None
    if entries.matrix:
        factors = Gather([place[f] for *_, f in entries.matrix])
        coefficients = [c for _, _, c, _ in entries.matrix]
        if size * len(entries.terms) > 16 * len(entries.matrix) + 4096:  # M would be mostly zeros
            terms = Gather([place[t] for _, t, _, _ in entries.matrix])
            owners = [g for g, _, _, _ in entries.matrix]
            matrix = SparsePart(size, owners, terms, factors, coefficients)
        else:
            column = {term: c for c, term in enumerate(entries.terms)}
            flat = [g * len(entries.terms) + column[t] for g, t, _, _ in entries.matrix]
            matrix = MatrixPart(size, Gather([place[t] for t in entries.terms]), factors, flat, coefficients)
    if entries.shared:
        owners = [g for g, _, _, _ in entries.shared]
        terms = Gather([place[t] for _, t, _, _ in entries.shared])
        factors = Gather([place[f] for *_, f in entries.shared])
        shared = SharedPart(size, owners, terms, factors, [c for _, _, c, _ in entries.shared])
    name = group.nodes[0].op.name if group.nodes[0].op else "sum"
    offsets = [sums[node].offset for node in group.nodes]
    return SumStep(index, size, group.per_sample, name, matrix, shared, offsets)
