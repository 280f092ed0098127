"""The batched path: trace a loss once as an ordinary Value graph, then replay it on a whole batch.

Building one Value graph per sample costs a Python object per weight operation per sample. Yet the graph
is the same for every sample; only the numbers differ. So we

1. **trace**: call your per-sample loss once on symbolic inputs (leaf Values ``x0, x1, ..., y``). The
   result is a normal Value graph, one node per weight operation, which you can draw or inspect.
2. **plan**: walk that graph once and sort its nodes into *steps*. Nodes at the same depth with the same
   op are independent of each other, so one step computes all of them with one call of the op's own
   ``forward(ArrayMath, ...)`` on stacked arrays (rows = nodes, columns = samples). Chains of affine
   ops (+, -, x·c, x/c: the ops whose partials are constants) collapse into one weighted sum; the
   coefficients are read from the ops' own derivative rules.
3. **replay**: for a batch X (n samples), run the steps forward, then backward in reverse with the ops'
   ``derivative(ArrayMath, ...)``, and sum each parameter's gradient over the batch.

No derivative rule is written twice: a custom ``Op`` works here as soon as it works on the scalar graph
(its rule must also accept numpy arrays, which any rule written with ``m.*`` and operators does).

The total loss is ``reduce_i sample_loss(x_i, y_i) + penalty()``: ``reduction`` is "mean" (default) or
"sum" over the samples, and the optional ``penalty`` (an L2 term, say) is counted once per batch.

    >>> import numpy as np
    >>> from tinygrad_w import Value, batched
    >>> w, b = Value(0.5, "w"), Value(0.1, "b")
    >>> def sample_loss(x, y):
    ...     return ((w * x[0] + b - y) ** 2)
    >>> step = batched.compile(sample_loss, [w, b], [1.0], 0.0, penalty=lambda: 1e-3 * w * w)
    >>> X, y = np.array([[1.0], [2.0]]), np.array([0.0, 1.0])
    >>> round(step.step(X, y), 6)  # mean((0.6)^2, (0.1)^2) + 1e-3 * 0.25
    0.18525
    >>> round(w.grad, 6)  # mean(2·0.6·1, 2·0.1·2) + 2e-3 · 0.5
    0.801

The replay follows the recorded graph: a loss that branches on data (``if score.data > 0``) takes the
branch of the traced example for every sample. Compile again after changing the model's structure;
changing parameter values (training) is fine, they are read at every call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .engine import Op, Value, _operation_error, topological_order
from .errors import NonFiniteError, OperandTypeError, OperationOverflowError, ShapeError
from .mathlib import ArrayMath, FloatMath

Array = NDArray[np.float64]
Rows = NDArray[np.intp]

__all__ = ["BatchedLoss", "compile"]


# ----------------------------------------------------------------------------------------------------
# Steps of a plan


class _ScatterAdd:
    """Adds a stack of gradient contributions into the rows they belong to (``grads[rows] += c``).

    numpy's ``grads[rows] += c`` keeps only one contribution when a row repeats (an input used by many
    nodes), so repeated rows are first summed with one ``add.reduceat`` over the rows sorted by index.
    """

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.order: Rows | None = None
        if len(np.unique(rows)) != len(rows):
            self.order = np.argsort(rows, kind="stable")
            sorted_rows = rows[self.order]
            self.starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
            self.rows = sorted_rows[self.starts]

    def add(self, grads: Array, contribution: Array) -> None:
        if self.order is None:
            grads[self.rows] += contribution
        else:
            grads[self.rows] += np.add.reduceat(contribution[self.order], self.starts, axis=0)


class _OpStep:
    """Nodes of one op at one depth, computed together: one ``op.forward(ArrayMath, ...)`` call.

    Operand k of every node in the step is either a Value (its row in the value table; ``rows[k]``) or a
    constant (``constants[k]``, one number per node as a column, or a single float when all agree).
    """

    def __init__(self, op: Op, nodes: list[Value], row_of: dict[Value, int], needs_grad: set[Value]) -> None:
        self.op = op
        self.nodes = nodes
        self.out_rows = np.array([row_of[n] for n in nodes], dtype=np.intp)
        self.rows: list[Rows | None] = []
        self.constants: list[Array | float] = []
        self.scatters: list[_ScatterAdd | None] = []
        for k, first in enumerate(nodes[0].children):
            column = [n.children[k] for n in nodes]
            if isinstance(first, Value):
                rows = np.array([row_of[c] for c in column], dtype=np.intp)  # type: ignore[index]
                self.rows.append(rows)
                self.constants.append(0.0)
                wants = any(c in needs_grad for c in column)
                self.scatters.append(_ScatterAdd(rows) if wants else None)
            else:
                numbers = [float(c) for c in column]  # type: ignore[arg-type]
                same = all(x == numbers[0] for x in numbers)
                self.rows.append(None)
                self.constants.append(numbers[0] if same else np.array(numbers)[:, None])
                self.scatters.append(None)

    def forward(self, values: Array) -> list[Any]:
        args = [values[r] if r is not None else c for r, c in zip(self.rows, self.constants)]
        out = self.op.forward(ArrayMath, *args)
        if not np.isfinite(out).all():
            _raise_forward_error(self.op, self.nodes, args, out)
        values[self.out_rows] = out
        return args

    def backward(self, values: Array, grads: Array, args: list[Any]) -> None:
        upstream = grads[self.out_rows]
        out = values[self.out_rows]
        partials = self.op.derivative(ArrayMath, out, *args)
        for k, (scatter, partial) in enumerate(zip(self.scatters, partials)):
            if scatter is None:
                continue  # a constant, or an input nothing trainable depends on
            contribution = partial * upstream  # the chain rule, for a whole stack of edges at once
            if not np.isfinite(contribution).all():
                _raise_backward_error(self.op, self.nodes, args, out, partial, k)
            scatter.add(grads, contribution)


class _SumStep:
    """Weighted sums computed together: node g = offset_g + Σ_t coefficient_t · value(term_t).

    Each sum stands for a chain of affine nodes (``((b + p0) + p1) + ...``, ``1e-4 * (...)``) that the
    plan collapsed; the terms of node g are ``term_rows[starts[g]:starts[g + 1]]``.
    """

    def __init__(
        self,
        nodes: list[Value],
        expansions: dict[Value, tuple[float, list[tuple[Value, float]]]],
        row_of: dict[Value, int],
        needs_grad: set[Value],
    ) -> None:
        self.op = nodes[0].op
        self.nodes = nodes
        self.out_rows = np.array([row_of[n] for n in nodes], dtype=np.intp)
        term_rows: list[int] = []
        coefficients: list[float] = []
        starts: list[int] = []
        offsets: list[float] = []
        owners: list[int] = []
        for g, node in enumerate(nodes):
            offset, terms = expansions[node]
            starts.append(len(term_rows))
            offsets.append(offset)
            for term, coefficient in terms:
                term_rows.append(row_of[term])
                coefficients.append(coefficient)
                owners.append(g)
        self.term_rows = np.array(term_rows, dtype=np.intp)
        self.starts = np.array(starts, dtype=np.intp)
        self.owner = np.array(owners, dtype=np.intp)  # which sum each term belongs to
        # Skip the multiplications when they would be by 1 and the additions when they would be of 0.
        all_ones = all(c == 1.0 for c in coefficients)
        self.coefficients = None if all_ones else np.array(coefficients)[:, None]
        self.offsets = None if all(x == 0.0 for x in offsets) else np.array(offsets)[:, None]
        wants = any(t in needs_grad for n in nodes for t, _ in expansions[n][1])
        self.scatter = _ScatterAdd(self.term_rows) if wants else None

    def forward(self, values: Array) -> list[Any]:
        terms = values[self.term_rows]
        if self.coefficients is not None:
            terms = terms * self.coefficients
        out = np.add.reduceat(terms, self.starts, axis=0)
        if self.offsets is not None:
            out += self.offsets
        if not np.isfinite(out).all():
            bad = int(np.argwhere(~np.isfinite(out))[0][0])
            assert self.op is not None
            raise OperationOverflowError(
                f"batched replay: {self.op.name} gave a non-finite result in a sum for node {bad}",
                self.op.name,
            )
        values[self.out_rows] = out
        return []

    def backward(self, values: Array, grads: Array, args: list[Any]) -> None:
        if self.scatter is None:
            return
        contribution = grads[self.out_rows][self.owner]  # each term receives its sum's gradient...
        if self.coefficients is not None:
            contribution = contribution * self.coefficients  # ... times its coefficient
        self.scatter.add(grads, contribution)


def _first_bad(array: Array) -> tuple[int, int]:
    """(node index in the step, sample index) of the first non-finite entry."""
    g, i = np.argwhere(~np.isfinite(np.broadcast_to(array, np.shape(array))))[0][:2]
    return int(g), int(i)


def _scalar_args(args: Sequence[Any], g: int, i: int) -> list[float]:
    """The numbers one node saw for one sample, taken back out of the stacked arrays."""
    picked = []
    for a in args:
        if isinstance(a, np.ndarray):
            picked.append(float(a[g, i] if a.shape[1] > 1 else a[g, 0]))
        else:
            picked.append(float(a))
    return picked


def _raise_forward_error(op: Op, nodes: list[Value], args: list[Any], out: Array) -> None:
    """Name the op and the offending sample; the scalar engine's own message when it has one."""
    g, i = _first_bad(np.atleast_2d(out))
    scalars = _scalar_args(args, g, i)
    where = f"batched replay, sample {i}: "
    try:
        result = op.forward(FloatMath, *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise _operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the result {result!r} is not a finite float",
        op.name,
        tuple(scalars),
    )


def _raise_backward_error(
    op: Op, nodes: list[Value], args: list[Any], out: Array, partial: Any, k: int
) -> None:
    g, i = _first_bad(np.atleast_2d(np.asarray(partial) * np.ones_like(out)))
    scalars = _scalar_args(args, g, i)
    where = f"batched replay, sample {i}: derivative of "
    try:
        op.derivative(FloatMath, float(out[g, i]), *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise _operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the partial for input {k} is not finite", op.name, tuple(scalars)
    )


# ----------------------------------------------------------------------------------------------------
# Planning


def _affine_coefficients(node: Value) -> list[float] | None:
    """The constant partials of an affine node, one per Value input, or None if the node is not affine.

    An op is affine in its Value inputs when its derivative rule, evaluated on arrays, gives plain numbers
    for them (ADD gives (1, 1), SUB (1, -1), x·c gives c): those numbers are then the same for every
    sample, and out = forward(0, ...) + Σ partial_k · input_k exactly.
    """
    assert node.op is not None
    args = [np.array([c.data]) if isinstance(c, Value) else c for c in node.children]
    try:
        with np.errstate(all="ignore"):
            partials = node.op.derivative(ArrayMath, np.array([node.data]), *args)
    except Exception:
        return None
    coefficients = []
    for child, partial in zip(node.children, partials):
        if isinstance(child, Value):
            if type(partial) not in (float, int) or not math.isfinite(partial):
                return None
            coefficients.append(float(partial))
    return coefficients


def _affine_offset(node: Value) -> float | None:
    """forward with every Value input set to 0: the constant part of an affine node."""
    assert node.op is not None
    zeros = [0.0 if isinstance(c, Value) else c for c in node.children]
    try:
        offset = float(node.op.forward(FloatMath, *zeros))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return offset if math.isfinite(offset) else None


class BatchedLoss:
    """A loss traced once and replayed on batches. Made by :func:`compile`; see the module docstring.

    Attributes:
        graph: the traced total loss (``sample_loss(x, y) + penalty()`` on the example): a normal Value
            graph with one node per operation, for drawing.
        inputs: the leaf Values standing for one sample's features (labelled ``x0, x1, ...``).
        target: the leaf Value standing for the sample's label (``y``).
        params: the parameters whose ``.grad`` ``step`` fills (each once, in the order given).
        steps: how many vectorized steps one forward pass takes (after grouping and collapsing).
    """

    def __init__(
        self,
        sample_loss: Callable[[list[Value], Value], Value],
        params: Sequence[Value],
        x_example: Sequence[float],
        y_example: float,
        penalty: Callable[[], Value | float] | None,
        reduction: str,
    ) -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"batched.compile: reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        unique_params: dict[Value, None] = {}
        for p in params:
            if not isinstance(p, Value):
                raise OperandTypeError(
                    f"batched.compile: params must be Values, got {type(p).__name__} {p!r}"
                )
            unique_params[p] = None
        self.params = list(unique_params)
        self.inputs = [Value(x, f"x{k}") for k, x in enumerate(x_example)]
        self.target = Value(y_example, "y")

        sample_root = sample_loss(self.inputs, self.target)
        if not isinstance(sample_root, Value):
            raise OperandTypeError(f"batched.compile: sample_loss must return a Value, got {sample_root!r}")
        penalty_root: Value | None = None
        self._penalty_constant = 0.0
        if penalty is not None:
            result = penalty()
            if isinstance(result, Value):
                penalty_root = result
            else:
                self._penalty_constant = float(result)
        self.graph = (
            sample_root if penalty is None else sample_root + (penalty_root or self._penalty_constant)
        )
        self.sample_root, self.penalty_root = sample_root, penalty_root
        self._plan([sample_root] if penalty_root is None else [sample_root, penalty_root])

    def _plan(self, roots: list[Value]) -> None:
        """Sort the traced graph into steps (see the module docstring)."""
        order = topological_order(*roots)
        # Dict keys here are Values by identity; only used for lookups, never for output order.
        consumers: dict[Value, int] = {}
        for node in order:
            for child in node.children:
                if isinstance(child, Value):
                    consumers[child] = consumers.get(child, 0) + 1

        # Collapse chains of affine nodes into weighted sums of the nodes that feed them.
        expansions: dict[Value, tuple[float, list[tuple[Value, float]]]] = {}
        absorbed: set[Value] = set()
        for node in order:
            if node.op is None or not any(isinstance(c, Value) for c in node.children):
                continue
            coefficients = _affine_coefficients(node)
            offset = _affine_offset(node) if coefficients is not None else None
            if coefficients is None or offset is None:
                continue
            terms: list[tuple[Value, float]] = []
            value_children = [c for c in node.children if isinstance(c, Value)]
            for child, coefficient in zip(value_children, coefficients):
                if child in expansions and consumers[child] == 1 and child not in roots:
                    absorbed.add(child)  # its only use is here: fold its terms into ours
                    child_offset, child_terms = expansions[child]
                    offset += coefficient * child_offset
                    terms.extend((t, coefficient * c) for t, c in child_terms)
                else:
                    terms.append((child, coefficient))
            expansions[node] = (offset, terms)

        # Rows of the value table: leaves first (parameters, inputs, other leaves), then computed nodes.
        param_set = set(self.params)
        input_set = {*self.inputs, self.target}
        leaves = [n for n in order if n.op is None or not any(isinstance(c, Value) for c in n.children)]
        computed = [n for n in order if n not in absorbed and n.op is not None and n not in leaves]
        row_of = {node: row for row, node in enumerate([*leaves, *computed])}
        self.n_rows = len(row_of)
        self._param_rows = np.array([row_of.get(p, -1) for p in self.params], dtype=np.intp)
        self._param_used = self._param_rows >= 0  # a parameter the loss does not use has no row
        self._input_rows = np.array([row_of.get(x, -1) for x in self.inputs], dtype=np.intp)
        self._target_row = row_of.get(self.target, -1)
        # Leaves that are neither parameters nor inputs (a Value(2.0) made inside the loss, a frozen
        # weight): constants, read at every call like the parameters.
        self._other_leaves = [n for n in leaves if n not in param_set and n not in input_set]
        self._other_rows = np.array([row_of[n] for n in self._other_leaves], dtype=np.intp)
        self._root_rows = [row_of[r] for r in roots]

        needs_grad: set[Value] = set(p for p in self.params if p in row_of)
        for node in computed:
            kids = expansions[node][1] if node in expansions else node.children
            if any((k[0] if isinstance(k, tuple) else k) in needs_grad for k in kids):
                needs_grad.add(node)

        # Group computed nodes by depth and kind; nodes in one group never depend on each other.
        depth: dict[Value, int] = dict.fromkeys(leaves, 0)
        groups: dict[tuple[Any, ...], list[Value]] = {}
        for node in computed:
            if node in expansions:
                inputs = [t for t, _ in expansions[node][1]]
                key: tuple[Any, ...] = ("sum",)
            else:
                inputs = [c for c in node.children if isinstance(c, Value)]
                mask = tuple(isinstance(c, Value) for c in node.children)
                key = ("op", node.op, mask)
            depth[node] = 1 + max(depth[i] for i in inputs)
            groups.setdefault((depth[node], *key), []).append(node)
        self._steps: list[_OpStep | _SumStep] = []
        for key, nodes in sorted(groups.items(), key=lambda item: item[0][0]):  # stable: first use first
            if key[1] == "sum":
                self._steps.append(_SumStep(nodes, expansions, row_of, needs_grad))
            else:
                self._steps.append(_OpStep(key[2], nodes, row_of, needs_grad))
        self.steps = len(self._steps)

    def _check_batch(self, X: Any, y: Any) -> tuple[Array, Array]:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.inputs) or X.shape[0] == 0:
            raise ShapeError(
                f"batched: X must have shape (samples, {len(self.inputs)}) with samples > 0, got {X.shape}"
            )
        if y.shape != (X.shape[0],):
            raise ShapeError(f"batched: y must have shape ({X.shape[0]},) to match X, got {y.shape}")
        for name, array in (("X", X), ("y", y)):
            if not np.isfinite(array).all():
                raise NonFiniteError(f"batched: {name} contains NaN or infinity")
        return X, y

    def _forward(self, X: Array, y: Array) -> tuple[float, Array, list[list[Any]]]:
        n = X.shape[0]
        values = np.empty((self.n_rows, n))
        params = np.array([p.data for p in self.params])
        values[self._param_rows[self._param_used]] = params[self._param_used, None]
        for k, row in enumerate(self._input_rows):
            if row >= 0:
                values[row] = X[:, k]
        if self._target_row >= 0:
            values[self._target_row] = y
        for row, leaf in zip(self._other_rows, self._other_leaves):
            values[row] = leaf.data
        saved = [step.forward(values) for step in self._steps]
        sample = values[self._root_rows[0]]
        total = float(sample.sum())
        if self.reduction == "mean":
            total /= n
        if len(self._root_rows) > 1:
            total += float(values[self._root_rows[1], 0])
        total += self._penalty_constant
        return total, values, saved

    def loss(self, X: Any, y: Any) -> float:
        """The total loss on the batch (forward only; no gradient is touched)."""
        X, y = self._check_batch(X, y)
        with np.errstate(all="ignore"):  # non-finite results are checked and reported by op
            return self._forward(X, y)[0]

    def step(self, X: Any, y: Any) -> float:
        """The total loss on the batch; adds its gradient to each parameter's ``.grad``.

        Like ``Value.backward``, gradients accumulate: zero them between training steps. On an error
        (a typed error naming the op and the sample), no ``.grad`` is changed.
        """
        X, y = self._check_batch(X, y)
        n = X.shape[0]
        with np.errstate(all="ignore"):
            total, values, saved = self._forward(X, y)
            grads = np.zeros_like(values)
            # Seed: ∂total/∂sample_loss_i is 1/n for the mean (1 for a sum); the penalty's row holds the
            # same number in every column, so giving each column 1/n sums to exactly one penalty.
            grads[self._root_rows[0]] += 1.0 / n if self.reduction == "mean" else 1.0
            if len(self._root_rows) > 1:
                grads[self._root_rows[1]] += 1.0 / n
            for step, args in zip(reversed(self._steps), reversed(saved)):
                step.backward(values, grads, args)
            param_grads = grads[self._param_rows].sum(axis=1)  # row -1 is never read: masked below
        if not np.isfinite(param_grads).all():
            raise OperationOverflowError(
                "batched: a parameter gradient is not finite (summed over the batch)"
            )
        for p, row, g in zip(self.params, self._param_rows, param_grads.tolist()):
            if row >= 0:
                p.grad += g
        return total


def compile(
    sample_loss: Callable[[list[Value], Value], Value],
    params: Sequence[Value],
    x_example: Sequence[float],
    y_example: float,
    *,
    penalty: Callable[[], Value | float] | None = None,
    reduction: str = "mean",
) -> BatchedLoss:
    """Trace ``sample_loss(x, y)`` once and return a :class:`BatchedLoss` that replays it on batches.

    ``sample_loss`` receives the features of one sample as a list of Values and its label as a Value and
    returns that sample's loss; ``x_example``/``y_example`` give the numbers used while tracing (any valid
    sample). The total is ``mean`` (or ``sum``) of the sample losses plus ``penalty()``, which is
    evaluated once per batch. ``params`` are the Values that get gradients.
    """
    return BatchedLoss(sample_loss, params, x_example, y_example, penalty, reduction)
