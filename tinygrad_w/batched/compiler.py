"""The batched path: trace a loss once as an ordinary Value graph, then replay it on a whole batch.

Building one Value graph per sample costs a Python object per weight operation per sample. Yet the graph
is the same for every sample; only the numbers differ. So we

1. **trace**: call your per-sample loss once on symbolic inputs (leaf Values ``x0, x1, ..., y``). The
   result is a normal Value graph, one node per weight operation, which you can draw or inspect.
2. **plan**: walk that graph once and sort its nodes into *steps*. Nodes at the same depth with the same
   op are independent of each other, so one step computes all of them with one call of the op's own
   ``forward(ArrayMath, ...)`` on stacked arrays (rows = nodes, columns = samples). Nodes that only add
   up their inputs and products of a weight and an activation (+, -, x·c, w·x, ``linear``: read off
   their derivative rules, see ``_linear_form``) collapse into sums, and a layer's sums become one
   matrix product.
3. **replay**: for a batch X (n samples), run the steps forward, then backward in reverse with the ops'
   ``derivative(ArrayMath, ...)``, and sum each parameter's gradient over the batch. A NaN or an
   infinity in any step raises the typed error the scalar engine would raise, naming the op and sample.

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
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tinygrad_w.batched.arraymath import ArrayMath
from tinygrad_w.core.errors import operation_error
from tinygrad_w.core.ops import FloatMath, Op
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value
from tinygrad_w.errors import (
    ArgumentError,
    NonFiniteError,
    OperandTypeError,
    OperationOverflowError,
    ShapeError,
)

Array = NDArray[np.float64]
Rows = NDArray[np.intp]
_DATA = operator.attrgetter("data")

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

    def backward(self, tables: _Tables, args: list[Any], check: bool = False) -> None:
        upstream = tables.grads[self.out_kind][self.out_rows]
        out = tables.values[self.out_kind][self.out_rows]
        partials = self.op.derivative(ArrayMath, out, *args)
        for k, (kind, scatter, partial) in enumerate(zip(self.kinds, self.scatters, partials)):
            if scatter is None:
                continue  # a constant, or an input nothing trainable depends on
            contribution = partial * upstream  # the chain rule, for a whole stack of edges at once
            if check and not np.isfinite(contribution).all():
                _raise_backward_error(self.op, args, out, partial, upstream, k)
            scatter.add(tables.grads[kind], _to_table(contribution, kind))


class _SumStep:
    """Sums computed together: node g = offset_g + Σ_t coefficient_t · factor_t · value(term_t).

    Each sum stands for a chain of nodes that are linear in their inputs, collapsed by the plan:
    ``((b + w0·x0) + w1·x1) + ...``, ``1e-4 * (p0·p0 + ...)``, a fused ``linear`` node. A term's ``factor``
    is a shared value (a weight) or 1; its coefficient is a constant (-1 for a subtraction, 1e-4, ...).
    Per-sample terms become one matrix product: out = M @ values[terms], M[g, term] = coefficient·factor.
    Shared terms (a bias, a penalty) are added up per sum with ``bincount``.
    """

    def __init__(
        self,
        nodes: list[Value],
        out_kind: str,
        expansions: dict[Value, _Expansion],
        kind_of: dict[Value, str],
        row_of: dict[Value, int],
        needs_grad: set[Value],
        one_row: int,
        ones: Value,
        ones_row: int,
    ) -> None:
        self.op, self.nodes, self.out_kind = nodes[0].op, nodes, out_kind
        self.out_rows = np.array([row_of[n] for n in nodes], dtype=np.intp)
        offsets = [expansions[n][0] for n in nodes]
        self.offsets = None if all(x == 0.0 for x in offsets) else np.array(offsets)[:, None]
        # Per-sample terms: the distinct rows they read (columns of M) and where each term goes in M.
        owners, columns, factor_rows, coefficients = [], [], [], []
        term_rows: dict[int, int] = {}  # row in the per-sample table -> column of M
        self.terms_need_grad = False
        factors_need_grad = False
        shared: dict[str, list[Any]] = {"owners": [], "rows": [], "factors": [], "coefficients": []}
        shared_terms_need_grad = shared_factors_need_grad = False
        for g, node in enumerate(nodes):
            for term, coefficient, factor in expansions[node][1]:
                factor_row = one_row if factor is None else row_of[factor]
                factor_wanted = factor is not None and factor in needs_grad
                term_row = row_of[term]
                if out_kind == PER_SAMPLE and kind_of[term] == SHARED and factor is None:
                    # A shared term alone (a bias) in a per-sample sum: write it as 1·bias, with a
                    # per-sample row of ones as the term, so that it joins the matrix product.
                    term_row, factor_row, factor_wanted = ones_row, row_of[term], term in needs_grad
                    term = ones
                if kind_of[term] == PER_SAMPLE:
                    owners.append(g)
                    columns.append(term_rows.setdefault(term_row, len(term_rows)))
                    factor_rows.append(factor_row)
                    coefficients.append(coefficient)
                    self.terms_need_grad = self.terms_need_grad or term in needs_grad
                    factors_need_grad = factors_need_grad or factor_wanted
                else:
                    for key, item in zip(shared, (g, row_of[term], factor_row, coefficient)):
                        shared[key].append(item)
                    shared_terms_need_grad = shared_terms_need_grad or term in needs_grad
                    shared_factors_need_grad = shared_factors_need_grad or factor_wanted
        self.term_rows = np.array(list(term_rows), dtype=np.intp)
        self.owners = np.array(owners, dtype=np.intp)
        self.columns = np.array(columns, dtype=np.intp)
        self.flat_index = self.owners * len(term_rows) + self.columns  # where each entry goes in M
        self.factor_rows = np.array(factor_rows, dtype=np.intp)
        self.coefficients = np.array(coefficients)
        self.repeated = len(set(zip(owners, columns))) != len(owners)  # the same term twice in one sum
        self.factor_scatter = _ScatterAdd(self.factor_rows) if factors_need_grad else None
        self.shared_owners = np.array(shared["owners"], dtype=np.intp)
        self.shared_rows = np.array(shared["rows"], dtype=np.intp)
        self.shared_factor_rows = np.array(shared["factors"], dtype=np.intp)
        self.shared_coefficients = np.array(shared["coefficients"])
        self.shared_term_scatter = _ScatterAdd(self.shared_rows) if shared_terms_need_grad else None
        self.shared_factor_scatter = (
            _ScatterAdd(self.shared_factor_rows) if shared_factors_need_grad else None
        )

    def forward(self, tables: _Tables) -> list[Any]:
        shared = tables.values[SHARED]
        out: Any = self.offsets if self.offsets is not None else 0.0
        if len(self.shared_rows):
            weighted = (
                self.shared_coefficients * shared[self.shared_rows, 0] * shared[self.shared_factor_rows, 0]
            )
            out = out + np.bincount(self.shared_owners, weights=weighted, minlength=len(self.nodes))[:, None]
        matrix: Array | None = None
        if len(self.term_rows):
            flat = np.zeros(len(self.nodes) * len(self.term_rows))
            entries = self.coefficients * shared[self.factor_rows, 0]
            if self.repeated:
                np.add.at(flat, self.flat_index, entries)
            else:
                flat[self.flat_index] = entries
            matrix = flat.reshape(len(self.nodes), len(self.term_rows))
            out = out + matrix @ tables.values[PER_SAMPLE][self.term_rows]
        if not np.isfinite(out).all():
            assert self.op is not None
            raise OperationOverflowError(
                f"batched replay: a sum of {self.op.name} nodes is not a finite float", self.op.name
            )
        tables.values[self.out_kind][self.out_rows] = out
        return [matrix]

    def backward(self, tables: _Tables, args: list[Any], check: bool = False) -> None:
        upstream = tables.grads[self.out_kind][self.out_rows]
        (matrix,) = args
        shared, shared_grads = tables.values[SHARED], tables.grads[SHARED]
        if self.shared_term_scatter is not None or self.shared_factor_scatter is not None:
            per_term = _to_table(upstream, SHARED)[self.shared_owners] * self.shared_coefficients[:, None]
            if self.shared_term_scatter is not None:  # ∂(c·f·v)/∂v = c·f
                self.shared_term_scatter.add(shared_grads, per_term * shared[self.shared_factor_rows])
            if self.shared_factor_scatter is not None:  # ∂(c·f·v)/∂f = c·v
                self.shared_factor_scatter.add(shared_grads, per_term * shared[self.shared_rows])
        if matrix is None:
            return
        if self.terms_need_grad:  # ∂out/∂term = coefficient·factor, for every sample: Mᵀ @ upstream
            tables.grads[PER_SAMPLE][self.term_rows] += matrix.T @ upstream
        if self.factor_scatter is not None:  # ∂out/∂factor = coefficient·term, summed over the batch
            by_entry = upstream @ tables.values[PER_SAMPLE][self.term_rows].T
            contribution = self.coefficients * by_entry.ravel()[self.flat_index]
            self.factor_scatter.add(shared_grads, contribution[:, None])


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
        raise operation_error(op, scalars, exc, during=where) from None
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
        op.derivative(FloatMath, *_scalar_args([out], g, i), *scalars)
    except (ArithmeticError, ValueError) as exc:
        raise operation_error(op, scalars, exc, during=where) from None
    raise OperationOverflowError(
        f"{where}{op.name}{tuple(scalars)}: the gradient through input {k} is not a finite float",
        op.name,
        tuple(scalars),
    )


# ----------------------------------------------------------------------------------------------------
# Planning


# What a collapsed node adds up: (offset, [(term, coefficient, factor or None), ...]).
_Expansion = tuple[float, list[tuple[Value, float, "Value | None"]]]


def _linear_form(node: Value) -> tuple[dict[int, float], list[tuple[int, int]]] | None:
    """Read from the op's own derivative rule whether the node is a sum of its inputs and of products.

    Evaluated on arrays, the rule gives for each Value input k either a plain number c_k (then the node
    is linear in that input with the constant coefficient c_k: ADD gives (1, 1), SUB (1, -1), x·c gives
    c) or exactly the array of another input j, which in turn gets input k's (a product a_k·a_j: MUL
    gives (b, a); ``linear`` pairs each weight with its input). A function whose partials are those is
    out = out(0) + Σ c_k a_k + Σ a_k a_j. Returns ({k: c_k}, [(k, j), ...]), or None for any other node.
    """
    assert node.op is not None
    args = [np.array([c.data]) if isinstance(c, Value) else c for c in node.children]
    try:
        with np.errstate(all="ignore"):
            partials = node.op.derivative(ArrayMath, np.array([node.data]), *args)
    except Exception:  # a rule that does not take arrays this way is simply replayed op by op
        return None
    constants: dict[int, float] = {}
    pairs: list[tuple[int, int]] = []
    for k, (child, partial) in enumerate(zip(node.children, partials)):
        if not isinstance(child, Value):
            continue
        if type(partial) in (float, int) and math.isfinite(partial):
            constants[k] = float(partial)
            continue
        partner = next((j for j, a in enumerate(args) if a is partial and j != k), None)
        if (
            partner is None
            or not isinstance(node.children[partner], Value)
            or partials[partner] is not args[k]
        ):
            return None
        if k < partner:
            pairs.append((k, partner))
    return constants, pairs


def _offset(node: Value) -> float | None:
    """forward with every Value input set to 0: the constant part of a linear node."""
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
            raise ArgumentError(f"batched.compile: reduction must be 'mean' or 'sum', got {reduction!r}")
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

        # Which table each node lives in: per-sample if it depends on the sample at all.
        samples = {*self.inputs, self.target}
        kind_of: dict[Value, str] = {}
        for node in order:
            depends = node in samples or any(
                isinstance(c, Value) and kind_of[c] == PER_SAMPLE for c in node.children
            )
            kind_of[node] = PER_SAMPLE if depends else SHARED
        if penalty_root is not None and kind_of[penalty_root] == PER_SAMPLE:
            raise ShapeError(
                "batched.compile: the penalty depends on the sample; put that term in sample_loss"
            )

        # Collapse chains of linear nodes (sums, scalings, products of a weight and an activation) into
        # one sum of the nodes that feed them; a node used only by such a chain needs no row of its own.
        expansions: dict[Value, _Expansion] = {}
        absorbed: set[Value] = set()
        for node in order:
            form = None if is_leaf(node) else _linear_form(node)
            offset = None if form is None else _offset(node)
            if form is None or offset is None:
                continue
            constants, pairs = form
            terms: list[tuple[Value, float, Value | None]] = []
            for k, coefficient in constants.items():
                child = node.children[k]
                assert isinstance(child, Value)
                if child in expansions and consumers[child] == 1 and child not in roots:
                    absorbed.add(child)  # its only use is here: fold its terms into ours
                    child_offset, child_terms = expansions[child]
                    offset += coefficient * child_offset
                    terms.extend((t, coefficient * c, f) for t, c, f in child_terms)
                else:
                    terms.append((child, coefficient, None))
            for k, j in pairs:  # a product a_k·a_j: a term times a shared factor, or not linear here
                pair_kinds = (kind_of[node.children[k]], kind_of[node.children[j]])
                if pair_kinds == (SHARED, PER_SAMPLE):
                    k, j = j, k
                elif pair_kinds == (PER_SAMPLE, PER_SAMPLE):
                    break
                terms.append((node.children[k], 1.0, node.children[j]))
            else:
                expansions[node] = (offset, terms)

        leaves = [n for n in order if is_leaf(n)]
        computed = [n for n in order if n not in absorbed and not is_leaf(n)]

        def inputs_of(node: Value) -> list[Value]:
            if node in expansions:
                return [v for t, _, f in expansions[node][1] for v in (t, f) if v is not None]
            return [c for c in node.children if isinstance(c, Value)]

        counts = {SHARED: 0, PER_SAMPLE: 0}
        row_of: dict[Value, int] = {}
        for node in [*leaves, *computed]:
            row_of[node] = counts[kind_of[node]]
            counts[kind_of[node]] += 1
        self._one_row = counts[SHARED]  # a shared row holding 1.0: the factor of a term that has none
        self._ones_row = counts[PER_SAMPLE]  # a per-sample row of ones: the term of a bias
        counts[SHARED] += 1
        counts[PER_SAMPLE] += 1
        ones = Value(1.0, "ones")
        kind_of[ones] = PER_SAMPLE
        self._shape = counts
        self._param_rows = np.array([row_of.get(p, -1) for p in self.params], dtype=np.intp)
        self._param_used = self._param_rows >= 0  # a parameter the loss does not use has no row
        self._used_params = [p for p, row in zip(self.params, self._param_rows) if row >= 0]
        self._used_rows = self._param_rows[self._param_used]
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
                self._steps.append(
                    _SumStep(
                        nodes,
                        key[2],
                        expansions,
                        kind_of,
                        row_of,
                        needs_grad,
                        self._one_row,
                        ones,
                        self._ones_row,
                    )
                )
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
        shared[self._used_rows, 0] = list(map(_DATA, self._used_params))  # map: faster than a loop
        shared[self._other_rows, 0] = [leaf.data for leaf in self._other_leaves]
        shared[self._one_row, 0] = 1.0
        per_sample[self._ones_row] = 1.0
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

    def _backward(self, tables: _Tables, saved: list[list[Any]], n: int, check: bool) -> Array:
        """Every step's derivative in reverse order; returns the parameters' gradients (used ones)."""
        tables.zero_grads()
        # Seed with ∂total/∂root: 1/n per sample for a mean, 1 for a sum; a shared root counts n times in
        # a sum and once otherwise (the penalty).
        for (kind, row), reduction in zip(self._roots, (self.reduction, "once")):
            if kind == PER_SAMPLE:
                tables.grads[kind][row] += 1.0 / n if reduction == "mean" else 1.0
            else:
                tables.grads[kind][row] += n if reduction == "sum" else 1.0
        for step, args in zip(reversed(self._steps), reversed(saved)):
            step.backward(tables, args, check)
        grads: Array = tables.grads[SHARED][self._used_rows, 0]
        return grads

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
            param_grads = self._backward(tables, saved, n, check=False)
            # A NaN or an infinity anywhere in backward reaches some parameter's gradient (x·0 is NaN
            # for x = ±inf). Only then walk back again, checking every step, to name the op and sample.
            if not np.isfinite(param_grads).all():
                self._backward(tables, saved, n, check=True)
                raise OperationOverflowError("batched: a parameter's gradient is not a finite float")
        for p, g in zip(self._used_params, param_grads.tolist()):
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
