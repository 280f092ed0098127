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

import ctypes
import math
import sys
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

# Every node lives in one of two tables. SHARED nodes hold one number for the whole batch (parameters and
# anything computed from parameters only, such as an L2 penalty): a column of width 1. PER_SAMPLE nodes
# depend on the sample (inputs, label, activations): one column per sample. numpy broadcasting mixes them.
SHARED, PER_SAMPLE, CONSTANT = "shared", "per-sample", "constant"


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


class _Tables:
    """The value and gradient tables of one replay: ``values[SHARED]`` is (rows, 1), ``values[PER_SAMPLE]``
    is (rows, samples)."""

    def __init__(self, shared_rows: int, sample_rows: int, samples: int) -> None:
        self.values = {SHARED: np.empty((shared_rows, 1)), PER_SAMPLE: np.empty((sample_rows, samples))}
        self.grads: dict[str, Array] = {}

    def zero_grads(self) -> None:
        self.grads = {kind: np.zeros_like(table) for kind, table in self.values.items()}


def _to_table(contribution: Array, kind: str) -> Array:
    """A shared node used by per-sample nodes gets the sum of their gradients over the batch."""
    if kind == SHARED and contribution.shape[1] != 1:
        summed: Array = contribution.sum(axis=1, keepdims=True)
        return summed
    return contribution


class _OpStep:
    """Nodes of one op at one depth, computed together: one ``op.forward(ArrayMath, ...)`` call.

    Operand k of every node in the step comes from the same place, ``kinds[k]``: a table (then ``rows[k]``
    are the rows, one per node) or constants (``constants[k]``: a column, or one float when all agree).
    """

    def __init__(
        self, op: Op, nodes: list[Value], kinds: tuple[str, ...], out_kind: str, row_of: dict[Value, int],
        needs_grad: set[Value],
    ) -> None:  # fmt: skip
        self.op, self.nodes, self.kinds, self.out_kind = op, nodes, kinds, out_kind
        self.out_rows = np.array([row_of[n] for n in nodes], dtype=np.intp)
        self.rows: list[Rows] = []
        self.constants: list[Array | float] = []
        self.scatters: list[_ScatterAdd | None] = []
        for k, kind in enumerate(kinds):
            column = [n.children[k] for n in nodes]
            if kind == CONSTANT:
                numbers = [float(c) for c in column]
                same = all(x == numbers[0] for x in numbers)
                self.rows.append(np.zeros(0, dtype=np.intp))
                self.constants.append(numbers[0] if same else np.array(numbers)[:, None])
                self.scatters.append(None)
            else:
                inputs = [c for c in column if isinstance(c, Value)]  # all of them: the group's key says so
                rows = np.array([row_of[c] for c in inputs], dtype=np.intp)
                self.rows.append(rows)
                self.constants.append(0.0)
                wants = any(c in needs_grad for c in inputs)
                self.scatters.append(_ScatterAdd(rows) if wants else None)

    def forward(self, tables: _Tables) -> list[Any]:
        values = tables.values
        args = [
            c if kind == CONSTANT else values[kind][r]
            for kind, r, c in zip(self.kinds, self.rows, self.constants)
        ]
        out = self.op.forward(ArrayMath, *args)
        if not np.isfinite(out).all():
            _raise_forward_error(self.op, args, out)
        values[self.out_kind][self.out_rows] = out
        return args

    def backward(self, tables: _Tables, args: list[Any]) -> None:
        upstream = tables.grads[self.out_kind][self.out_rows]
        out = tables.values[self.out_kind][self.out_rows]
        partials = self.op.derivative(ArrayMath, out, *args)
        for k, (kind, scatter, partial) in enumerate(zip(self.kinds, self.scatters, partials)):
            if scatter is None:
                continue  # a constant, or an input nothing trainable depends on
            contribution = partial * upstream  # the chain rule, for a whole stack of edges at once
            if not np.isfinite(contribution).all():
                _raise_backward_error(self.op, args, out, partial, upstream, k)
            scatter.add(tables.grads[kind], _to_table(contribution, kind))


class _SumStep:
    """Weighted sums computed together: node g = offset_g + Σ_t coefficient_t · value(term_t).

    Each sum stands for a chain of affine nodes (``((b + p0) + p1) + ...``, ``1e-4 * (...)``) that the plan
    collapsed. Its terms come from both tables; ``owner[t]`` is the sum that term t belongs to.
    """

    def __init__(
        self,
        nodes: list[Value],
        out_kind: str,
        expansions: dict[Value, tuple[float, list[tuple[Value, float]]]],
        kind_of: dict[Value, str],
        row_of: dict[Value, int],
        needs_grad: set[Value],
    ) -> None:
        self.op, self.nodes, self.out_kind = nodes[0].op, nodes, out_kind
        self.out_rows = np.array([row_of[n] for n in nodes], dtype=np.intp)
        self.parts: list[tuple[str, Rows, Rows, Array | None, _ScatterAdd | None]] = []
        for kind in (PER_SAMPLE, SHARED):
            rows, owners, coefficients, wants = [], [], [], False
            for g, node in enumerate(nodes):
                for term, coefficient in expansions[node][1]:
                    if kind_of[term] == kind:
                        rows.append(row_of[term])
                        owners.append(g)
                        coefficients.append(coefficient)
                        wants = wants or term in needs_grad
            if rows:
                row_array = np.array(rows, dtype=np.intp)
                # Skip the multiplications when they would all be by 1.
                scale = None if all(c == 1.0 for c in coefficients) else np.array(coefficients)[:, None]
                scatter = _ScatterAdd(row_array) if wants else None
                self.parts.append((kind, row_array, np.array(owners, dtype=np.intp), scale, scatter))
        offsets = [expansions[n][0] for n in nodes]
        self.offsets = None if all(x == 0.0 for x in offsets) else np.array(offsets)[:, None]

    def forward(self, tables: _Tables) -> list[Any]:
        out: Array = np.zeros((len(self.nodes), 1)) if self.offsets is None else self.offsets.copy()
        for kind, rows, owners, scale, _ in self.parts:
            terms = tables.values[kind][rows]
            if scale is not None:
                terms = terms * scale
            if kind == PER_SAMPLE:  # every per-sample sum has per-sample terms: no empty segment
                out = out + np.add.reduceat(
                    terms, np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]), axis=0
                )
            else:
                out = out + np.bincount(owners, weights=terms[:, 0], minlength=len(self.nodes))[:, None]
        if not np.isfinite(out).all():
            assert self.op is not None
            raise OperationOverflowError(
                f"batched replay: {self.op.name}: a sum of {self.op.name} nodes is not a finite float",
                self.op.name,
            )
        tables.values[self.out_kind][self.out_rows] = out
        return []

    def backward(self, tables: _Tables, args: list[Any]) -> None:
        upstream = tables.grads[self.out_kind][self.out_rows]
        for kind, _, owners, scale, scatter in self.parts:
            if scatter is None:
                continue
            contribution = _to_table(upstream, kind)[owners]  # each term receives its sum's gradient...
            if scale is not None:
                contribution = contribution * scale  # ... times its coefficient
            scatter.add(tables.grads[kind], contribution)


def _first_bad(array: Array) -> tuple[int, int]:
    """(node index in the step, sample index) of the first non-finite entry."""
    g, i = np.argwhere(~np.isfinite(np.atleast_2d(array)))[0][:2]
    return int(g), int(i)


def _scalar_args(args: Sequence[Any], g: int, i: int) -> list[float]:
    """The numbers one node saw for one sample, taken back out of the stacked arrays."""
    picked = []
    for a in args:
        if isinstance(a, np.ndarray):
            picked.append(float(a[g, i if a.shape[1] > 1 else 0]))
        else:
            picked.append(float(a))
    return picked


def _raise_forward_error(op: Op, args: list[Any], out: Array) -> None:
    """Name the op and the offending sample, with the scalar engine's own message when it has one."""
    g, i = _first_bad(out)
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


def _raise_backward_error(op: Op, args: list[Any], out: Array, partial: Any, upstream: Array, k: int) -> None:
    g, i = _first_bad(partial * upstream)
    scalars = _scalar_args(args, g, i)
    where = f"batched replay, sample {i}: derivative of "
    try:
        op.derivative(FloatMath, float(out[g, i if out.shape[1] > 1 else 0]), *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise _operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the gradient through input {k} is not a finite float",
        op.name,
        tuple(scalars),
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
    except Exception:  # a rule that does not take arrays this way is simply not collapsed
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


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the OS after every numpy temporary.

    A replay allocates and frees the same few hundred kilobytes of temporaries at every step; by default
    glibc gives them back to the OS each time and the next step pays page faults for them (about 5x
    slower). Same as running with MALLOC_TRIM_THRESHOLD_=64MB; does nothing on other C libraries.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_trim_threshold, 64 << 20)
    mallopt(m_mmap_threshold, 32 << 20)


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
        self._penalty_constant = 0.0
        penalty_root: Value | None = None
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
        self._plan(sample_root, penalty_root)
        _keep_freed_memory()

    def _plan(self, sample_root: Value, penalty_root: Value | None) -> None:
        """Sort the traced graph into steps (see the module docstring)."""
        roots = [sample_root] if penalty_root is None else [sample_root, penalty_root]
        order = topological_order(*roots)
        # Dicts and sets here are keyed by Value identity; only for lookups, never for output order.
        consumers: dict[Value, int] = {}
        for node in order:
            for child in node.children:
                if isinstance(child, Value):
                    consumers[child] = consumers.get(child, 0) + 1

        def is_leaf(node: Value) -> bool:  # a node with only constant inputs is a constant leaf
            return node.op is None or not any(isinstance(c, Value) for c in node.children)

        # Collapse chains of affine nodes into weighted sums of the nodes that feed them.
        expansions: dict[Value, tuple[float, list[tuple[Value, float]]]] = {}
        absorbed: set[Value] = set()
        for node in order:
            if is_leaf(node):
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

        # Which table each node lives in, and its row there.
        samples = {*self.inputs, self.target}
        kind_of: dict[Value, str] = {}
        leaves = [n for n in order if is_leaf(n)]
        computed = [n for n in order if n not in absorbed and not is_leaf(n)]

        def inputs_of(node: Value) -> list[Value]:
            if node in expansions:
                return [t for t, _ in expansions[node][1]]
            return [c for c in node.children if isinstance(c, Value)]

        for node in leaves:
            kind_of[node] = PER_SAMPLE if node in samples else SHARED
        for node in computed:
            kind_of[node] = PER_SAMPLE if any(kind_of[i] == PER_SAMPLE for i in inputs_of(node)) else SHARED
        if penalty_root is not None and kind_of[penalty_root] == PER_SAMPLE:
            raise ShapeError(
                "batched.compile: the penalty depends on the sample; put that term in sample_loss"
            )
        counts = {SHARED: 0, PER_SAMPLE: 0}
        row_of: dict[Value, int] = {}
        for node in [*leaves, *computed]:
            row_of[node] = counts[kind_of[node]]
            counts[kind_of[node]] += 1
        self._shape = counts
        self._param_rows = np.array([row_of.get(p, -1) for p in self.params], dtype=np.intp)
        self._param_used = self._param_rows >= 0  # a parameter the loss does not use has no row
        self._input_rows = [row_of.get(x, -1) for x in [*self.inputs, self.target]]
        # Shared leaves that are not parameters (a Value(2.0) made inside the loss, a frozen weight) are
        # read at every call, like the parameters.
        param_set = set(self.params)
        self._other_leaves = [n for n in leaves if kind_of[n] == SHARED and n not in param_set]
        self._other_rows = np.array([row_of[n] for n in self._other_leaves], dtype=np.intp)
        self._roots = [(kind_of[r], row_of[r]) for r in roots]

        needs_grad: set[Value] = {p for p in self.params if p in row_of}
        for node in computed:
            if any(i in needs_grad for i in inputs_of(node)):
                needs_grad.add(node)

        # Group computed nodes by depth and kind; nodes in one group never depend on each other.
        depth: dict[Value, int] = dict.fromkeys(leaves, 0)
        groups: dict[tuple[Any, ...], list[Value]] = {}
        for node in computed:
            depth[node] = 1 + max(depth[i] for i in inputs_of(node))
            if node in expansions:
                key: tuple[Any, ...] = ("sum", kind_of[node])
            else:
                kinds = tuple(kind_of[c] if isinstance(c, Value) else CONSTANT for c in node.children)
                key = ("op", kind_of[node], node.op, kinds)
            groups.setdefault((depth[node], *key), []).append(node)
        self._steps: list[_OpStep | _SumStep] = []
        for key, nodes in sorted(groups.items(), key=lambda item: item[0][0]):  # stable: first seen first
            if key[1] == "sum":
                self._steps.append(_SumStep(nodes, key[2], expansions, kind_of, row_of, needs_grad))
            else:
                self._steps.append(_OpStep(key[3], nodes, key[4], key[2], row_of, needs_grad))
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

    def _forward(self, X: Array, y: Array) -> tuple[float, _Tables, list[list[Any]]]:
        n = X.shape[0]
        tables = _Tables(self._shape[SHARED], self._shape[PER_SAMPLE], n)
        shared, per_sample = tables.values[SHARED], tables.values[PER_SAMPLE]
        params = np.array([p.data for p in self.params])
        shared[self._param_rows[self._param_used], 0] = params[self._param_used]
        shared[self._other_rows, 0] = [leaf.data for leaf in self._other_leaves]
        for column, row in zip([*X.T, y], self._input_rows):
            if row >= 0:
                per_sample[row] = column
        saved = [step.forward(tables) for step in self._steps]
        total = self._penalty_constant
        for (kind, row), reduction in zip(self._roots, (self.reduction, "once")):
            values = tables.values[kind][row]
            if kind == PER_SAMPLE:
                total += float(values.sum()) / (n if reduction == "mean" else 1)
            else:  # the same number for every sample: its mean is itself, its sum n times it
                total += float(values[0]) * (n if reduction == "sum" else 1)
        return total, tables, saved

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
            total, tables, saved = self._forward(X, y)
            tables.zero_grads()
            # Seed with ∂total/∂root: 1/n per sample for a mean, 1 for a sum; a shared root counts n times
            # in a sum and once otherwise (the penalty).
            for (kind, row), reduction in zip(self._roots, (self.reduction, "once")):
                if kind == PER_SAMPLE:
                    tables.grads[kind][row] += 1.0 / n if reduction == "mean" else 1.0
                else:
                    tables.grads[kind][row] += n if reduction == "sum" else 1.0
            for step, args in zip(reversed(self._steps), reversed(saved)):
                step.backward(tables, args)
            param_grads = tables.grads[SHARED][self._param_rows, 0]  # row -1 is never used: masked below
        for p, used, g in zip(self.params, self._param_used.tolist(), param_grads.tolist()):
            if used:
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
    sample). The total is the ``mean`` (or ``sum``) of the sample losses plus ``penalty()``, evaluated
    once per batch. ``params`` are the Values that get gradients.
    """
    return BatchedLoss(sample_loss, params, x_example, y_example, penalty, reduction)
