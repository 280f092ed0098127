"""The replay's graph: blocks of rows, and the gathers that feed one block's rows into another.

A *block* holds the values of several traced nodes as one array: rows are nodes, columns are samples
(a per-sample block, shape (rows, n)) or a single column (a shared block, shape (rows, 1); numpy
broadcasting mixes the two). The blocks form a graph like the Value graph they replay, so the core's
one reverse-mode walk (``tinygrad_w.core.reverse.backpropagate``) runs on it unchanged, with whole
arrays as gradients: each block's ``pullback`` returns (block it reads, gradient contribution) pairs.

A step reads its operands through a :class:`Gather`: operand row g is row ``rows[g]`` of some block.
Most gathers take a whole block or a slice of one (no copy); their gradient goes back the same way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tinygrad_w.core.value import Value

__all__ = ["Array", "Block", "ConstantBlock", "Gather", "LeafBlock", "Run", "SampleBlock"]

Array = NDArray[np.float64]
Rows = NDArray[np.intp]
Contributions = list[tuple["Block", Array]]
DATA = operator.attrgetter("data")


class Run:
    """One replay on one batch: every block's values (by ``block.index``) and what steps saved for
    their pullback. ``checked`` makes pullbacks check their results (to name a failing op)."""

    def __init__(self, blocks: int, samples: Array) -> None:
        self.values: list[Any] = [None] * blocks
        self.saved: list[Any] = [None] * blocks
        self.samples, self.n = samples, samples.shape[1]
        self.checked = False

    def pullback(self, block: Block, upstream: Array) -> Contributions:
        return block.pullback(self, upstream) if block.needs_grad else []


class Block:
    """Rows of values computed (or read) together. ``children`` are the blocks it reads."""

    def __init__(self, index: int, size: int, per_sample: bool, children: Sequence[Block] = ()) -> None:
        self.index, self.size, self.per_sample = index, size, per_sample
        self.children = tuple(children)
        self.needs_grad: bool = any(c.needs_grad for c in children)

    def forward(self, run: Run) -> Array:
        raise NotImplementedError

    def pullback(self, run: Run, upstream: Array) -> Contributions:
        return []  # a block of leaves passes nothing back


class SampleBlock(Block):
    """The batch itself: one row per input x_k, then the label y."""

    def forward(self, run: Run) -> Array:
        return run.samples


class LeafBlock(Block):
    """Leaves read at every call: parameters, and Values made outside the loss (a frozen weight)."""

    def __init__(self, index: int, leaves: list[Value], params: set[Value]) -> None:
        super().__init__(index, len(leaves), False)
        self.leaves = leaves
        self.needs_grad = any(leaf in params for leaf in leaves)

    def forward(self, run: Run) -> Array:
        return np.fromiter(map(DATA, self.leaves), np.float64, self.size).reshape(-1, 1)


class ConstantBlock(Block):
    """Fixed numbers: the factor 1 of a term that has no weight."""

    def __init__(self, index: int, numbers: list[float]) -> None:
        super().__init__(index, len(numbers), False)
        self.numbers = np.array(numbers, dtype=np.float64).reshape(-1, 1)

    def forward(self, run: Run) -> Array:
        return self.numbers


class Gather:
    """An operand: ``picks[g] = (block, row)`` says where its row g comes from.

    ``take`` builds the operand from the blocks' values; ``give`` sends an operand-shaped gradient back
    to the blocks, as full-size contributions (a row picked twice gets both parts).
    """

    def __init__(self, picks: Sequence[tuple[Block, int]]) -> None:
        self.size = len(picks)
        by_block: dict[Block, tuple[list[int], list[int]]] = {}
        for position, (block, row) in enumerate(picks):
            rows, positions = by_block.setdefault(block, ([], []))
            rows.append(row)
            positions.append(position)
        self.sources = [_Source(b, rows, positions, self.size) for b, (rows, positions) in by_block.items()]
        self.blocks = [source.block for source in self.sources]
        self.needs_grad = any(b.needs_grad for b in self.blocks)
        self.take: Callable[[Run], Array] = (
            self.sources[0].read if len(self.sources) == 1 and self.sources[0].in_order else self._mixed
        )

    def _mixed(self, run: Run) -> Array:
        width = max(run.values[b.index].shape[1] for b in self.blocks)
        out = np.empty((self.size, width))
        for source in self.sources:
            out[source.positions] = source.read(run)
        return out

    def give(self, gradient: Array) -> Contributions:
        return [
            (s.block, s.scatter(gradient if s.in_order else gradient[s.positions]))
            for s in self.sources
            if s.block.needs_grad
        ]


class _Source:
    """The rows a gather takes from one block, and where they go in the operand."""

    def __init__(self, block: Block, rows: list[int], positions: list[int], size: int) -> None:
        self.block = block
        self.rows = np.array(rows, dtype=np.intp)
        self.positions = np.array(positions, dtype=np.intp)
        self.in_order = len(positions) == size  # then positions are 0, 1, ..., size - 1
        contiguous = len(rows) > 0 and rows == list(range(rows[0], rows[0] + len(rows)))
        self.whole = contiguous and rows[0] == 0 and len(rows) == block.size
        self.span = slice(rows[0], rows[0] + len(rows)) if contiguous else None
        self.repeats = len(set(rows)) != len(rows)
        if self.repeats:  # a row picked several times: add its parts with one reduceat (see scatter)
            self.sort = np.argsort(self.rows, kind="stable")
            sorted_rows = self.rows[self.sort]
            self.starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
            self.unique_rows = sorted_rows[self.starts]

    def read(self, run: Run) -> Array:
        values: Array = run.values[self.block.index]
        if self.whole:
            return values
        return values[self.span] if self.span is not None else values[self.rows]

    def scatter(self, part: Array) -> Array:
        """``part`` (one row per pick) as a contribution to the whole block."""
        if self.whole:
            return part
        full = np.zeros((self.block.size, part.shape[1]))
        if self.span is not None:
            full[self.span] = part
        elif self.repeats:
            full[self.unique_rows] = np.add.reduceat(part[self.sort], self.starts, axis=0)
        else:
            full[self.rows] = part
        return full
