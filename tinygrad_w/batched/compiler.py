"""The batched path: trace a loss once as an ordinary Value graph, then replay it on a whole batch.

Building one Value graph per sample costs a Python object per weight operation per sample. Yet the graph
is the same for every sample; only the numbers differ. So we

1. **trace**: call your per-sample loss once on symbolic inputs (leaf Values ``x0, x1, ..., y``). The
   result is a normal Value graph, one node per weight operation, which you can draw or inspect.
2. **plan** (plan.py, layout.py): walk that graph once and sort its nodes into *steps*. Nodes at the same
   depth with the same op are independent of each other, so one step computes all of them with one
   call of the op's own ``forward(ArrayMath, ...)`` on stacked arrays (rows = nodes, columns = samples).
   Chains of nodes that only add up inputs and products of a weight and an input (+, -, x·c, w·x,
   ``linear``: the ops' ``linear_in``, see linearity.py) collapse into sums, and a layer's sums become
   one matrix product. Planning takes time and memory in proportion to the traced graph.
3. **replay** (blocks.py, steps.py): for a batch X (n samples), run the steps forward, then walk them
   back with the core's own reverse-mode walk (``backpropagate``) and the ops' ``derivative(ArrayMath,
   ...)``, summing each parameter's gradient over the batch. A NaN or an infinity in any step raises
   the typed error the scalar engine would raise, naming the op and sample.

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
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tinygrad_w.batched.blocks import Array, Block, Run
from tinygrad_w.batched.layout import lay_out
from tinygrad_w.batched.plan import plan_groups
from tinygrad_w.core.errors import show
from tinygrad_w.core.reverse import backpropagate, collector_paused
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import (
    ArgumentError,
    NonFiniteError,
    OperandTypeError,
    OperationOverflowError,
    ShapeError,
    TinygradError,
    naming,
)

__all__ = ["BatchedLoss", "compile"]


class BatchedLoss:
    """A loss traced once and replayed on batches. Made by :func:`compile`; see the module docstring.

    Attributes:
        graph: the traced total loss (``sample_loss(x, y) + penalty()`` on the example): a normal Value
            graph with one node per operation, for drawing.
        inputs: the leaf Values standing for one sample's features (labelled ``x0, x1, ...``).
        target: the leaf Value standing for the sample's label (``y``).
        params: the parameters whose ``.grad`` ``step`` fills (each once, in the order given).
        steps: how many vectorized steps one forward pass takes (after grouping and collapsing).
        outputs, last_outputs: the Values ``sample_loss`` named as outputs, and their values for every
            sample of the last batch (an array, one row per output).
    """

    def __init__(
        self,
        sample_loss: Callable[[list[Value], Value], Any],
        params: Sequence[Value],
        x_example: Sequence[float],
        y_example: float,
        penalty: Callable[[], Value | float] | None,
        reduction: str,
        blas_threads: int | None = 1,
    ) -> None:
        if not isinstance(reduction, str) or reduction not in ("mean", "sum"):
            raise ArgumentError(f"batched.compile: reduction must be 'mean' or 'sum', got {show(reduction)}")
        if blas_threads is not None and (type(blas_threads) is not int or not 1 <= blas_threads <= 1024):
            raise ArgumentError(
                f"batched.compile: blas_threads must be an int in [1, 1024] or None, got {show(blas_threads)}"
            )
        for name, function in (("sample_loss", sample_loss), ("penalty", penalty)):
            if not callable(function) and not (name == "penalty" and function is None):
                raise OperandTypeError(f"batched.compile: {name} must be callable, got {show(function)}")
        self.reduction, self.blas_threads = reduction, blas_threads
        self.params = _unique_params(params)
        self._param_index = {p: k for k, p in enumerate(self.params)}
        example = batch_array(x_example, "x_example", "batched.compile")
        if example.ndim != 1:
            raise ShapeError(f"batched.compile: x_example must be one sample's features, got {example.shape}")
        self.inputs = [Value(float(x), f"x{k}") for k, x in enumerate(example)]
        self.target = Value(as_real(y_example, "batched.compile: y_example"), "y")
        self._trace_and_plan(sample_loss, penalty)

    # Speed: tracing and planning make two objects per node and no cycles, yet each 700 of them wake the
    # cycle collector, which rescans the whole growing graph (compile 1.8 s -> 1.3 s at 2-256-256-1).
    @collector_paused
    def _trace_and_plan(
        self, sample_loss: Callable[[list[Value], Value], Any], penalty: Callable[[], Value | float] | None
    ) -> None:
        self.sample_root, self.outputs, self.penalty_root, self.penalty_constant = _trace(
            sample_loss, penalty, self.inputs, self.target
        )
        self.graph = self.sample_root
        if penalty is not None:
            self.graph = self.sample_root + (self.penalty_root or self.penalty_constant)
        self._plan()

    def _plan(self) -> None:
        """Sort the traced graph into blocks and steps (plan.py, layout.py)."""
        roots = [self.sample_root] if self.penalty_root is None else [self.sample_root, self.penalty_root]
        sample_leaves = [*self.inputs, self.target]
        groups, sums, per_sample = plan_groups([*roots, *self.outputs], sample_leaves)
        if self.penalty_root is not None and self.penalty_root in per_sample:
            raise ShapeError(
                "batched.compile: the penalty depends on the sample; put that term in sample_loss"
            )
        layout = lay_out(groups, sums, per_sample, sample_leaves, set(self.params))
        self._blocks = layout.blocks
        self._roots = [layout.place[root] for root in roots]
        self._output_places = [layout.place.get(node) for node in self.outputs]
        self.last_outputs: Array = np.zeros((len(self.outputs), 0))
        # Where the parameters' gradients are found: rows of the leaf blocks. A parameter the loss does not
        # use has no row and keeps its .grad.
        params = set(self.params)
        self._param_rows = []
        for block in layout.leaf_blocks:
            rows = [row for row, leaf in enumerate(block.leaves) if leaf in params]
            if rows:
                leaves = [block.leaves[row] for row in rows]
                self._param_rows.append((block, np.array(rows, dtype=np.intp), leaves))
        self.steps = len(groups)

    def _check_batch(self, X: Any, y: Any, where: str) -> Array:
        """The batch as one block: a row per feature, then the labels."""
        X, y = batch_array(X, "X", where), batch_array(y, "y", where)
        if X.ndim != 2 or X.shape[1] != len(self.inputs) or X.shape[0] == 0:
            raise ShapeError(
                f"{where}: X must have shape (samples, {len(self.inputs)}) with samples > 0, got {X.shape}"
            )
        if y.shape != (X.shape[0],):
            raise ShapeError(f"{where}: y must have shape ({X.shape[0]},) to match X, got {y.shape}")
        samples = np.empty((X.shape[1] + 1, X.shape[0]))
        samples[:-1], samples[-1] = X.T, y
        return samples

    def _forward(self, samples: Array) -> tuple[float, Run]:
        run = Run(len(self._blocks), samples)
        for block in self._blocks:
            run.values[block.index] = block.forward(run)
        total = self.penalty_constant
        for (block, row), reduction in zip(self._roots, (self.reduction, "once")):
            values = run.values[block.index][row]
            if block.per_sample:
                total += float(values.sum()) / (run.n if reduction == "mean" else 1)
            else:  # the same number for every sample: its mean is itself, its sum n times it
                total += float(values[0]) * (run.n if reduction == "sum" else 1)
        return total, run

    def _backward(self, run: Run) -> dict[Block, Array]:
        """The core's reverse-mode walk over the blocks, seeded with ∂total/∂root: 1/n per sample for a
        mean, 1 for a sum; a shared root counts n times in a sum and once otherwise (the penalty)."""
        seeds: dict[Block, Array] = {}
        for (block, row), reduction in zip(self._roots, (self.reduction, "once")):
            seed = seeds.setdefault(block, np.zeros_like(run.values[block.index]))
            if block.per_sample:
                seed[row] += 1.0 / run.n if reduction == "mean" else 1.0
            else:
                seed[row] += run.n if reduction == "sum" else 1.0
        return backpropagate(self._blocks, seeds, run.pullback)

    def _param_grads(self, grads: dict[Block, Array]) -> tuple[list[Value], Array]:
        """The parameters that got a gradient, and their gradients."""
        params = [p for _, _, leaves in self._param_rows for p in leaves]
        parts = [
            grads[block][rows, 0] if block in grads else np.zeros(len(rows))
            for block, rows, _ in self._param_rows
        ]
        return params, np.concatenate(parts) if parts else np.zeros(0)

    def _keep_outputs(self, run: Run) -> None:
        """The values of the traced ``outputs`` for every sample of the batch: ``last_outputs[k, i]``."""
        rows = []
        for place, node in zip(self._output_places, self.outputs):
            if place is None:  # a leaf no step reads: its value is the same for every sample
                rows.append(np.full(run.n, node.data))
            else:
                block, row = place
                rows.append(np.broadcast_to(run.values[block.index][row], (run.n,)))
        self.last_outputs = np.array(rows).reshape(len(rows), run.n)

    def loss(self, X: Any, y: Any) -> float:
        """The total loss on the batch (forward only; no gradient is touched)."""
        samples = self._check_batch(X, y, "batched.loss")
        with np.errstate(all="ignore"), _blas_limited(self.blas_threads), naming("batched.loss"):
            total, run = self._forward(samples)
        if not np.isfinite(total):
            raise NonFiniteError(
                f"batched.loss: the loss is {total!r} (step() names the op and sample that made it)"
            )
        self._keep_outputs(run)
        return total

    def step(self, X: Any, y: Any) -> float:
        """The total loss on the batch; adds its gradient to each parameter's ``.grad``.

        Like ``Value.backward``, gradients accumulate: zero them between training steps. On an error
        (a typed error naming the op and the sample), no ``.grad`` is changed.
        """
        total, grads = self.value_and_grad(X, y, "batched.step")
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return total

    def value_and_grad(self, X: Any, y: Any, where: str = "batched.value_and_grad") -> tuple[float, Array]:
        """The total loss on the batch and its gradient, one entry per parameter of ``params`` (0 for a
        parameter the loss does not use); no ``.grad`` is touched. ``where`` names the caller in errors."""
        samples = self._check_batch(X, y, where)
        _keep_freed_memory()
        with np.errstate(all="ignore"), _blas_limited(self.blas_threads), naming(where):
            total, run = self._forward(samples)
            used, used_grads = self._param_grads(self._backward(run))
            # A NaN or an infinity anywhere in backward reaches some parameter's gradient (x·0 is NaN
            # for x = ±inf). Only then walk back again, checking every step, to name the op and sample.
            if not np.isfinite(used_grads).all():
                run.checked = True
                self._backward(run)
                raise OperationOverflowError(f"{where}: a parameter's gradient is not a finite float")
            if not np.isfinite(total):  # a non-finite constant penalty, say: no op to name
                raise NonFiniteError(f"{where}: the loss is {total!r}")
        self._keep_outputs(run)
        grads = np.zeros(len(self.params))
        grads[[self._param_index[p] for p in used]] = used_grads
        return total, grads


@contextmanager
def _blas_limited(threads: int | None) -> Iterator[None]:
    """Speed: numpy's BLAS on ``threads`` threads during a step, then as it was. The replay's matrices
    are small, and on a busy machine BLAS threads wait for each other: one thread is 1.3-3x faster
    (measured on 2 cores: see benchmarks/bench_scale.py)."""
    global _controller
    if threads is None:
        yield
        return
    if _controller is None:
        from threadpoolctl import ThreadpoolController  # finds numpy's BLAS once: ~1 ms

        _controller = ThreadpoolController()
    with _controller.limit(limits=threads, user_api="blas"):
        yield


_controller: Any = None


def _keep_freed_memory() -> None:
    """Speed: glibc's malloc gives a step's freed temporaries (arrays of 100 KB to 20 MB) back to the
    system, so the next step faults every page in again: ~1,000 page faults, half the time of a step at
    1000 × 2-64-64-1 (2.8 ms -> 1.2 ms without them). Once per process, set glibc to the state its own
    dynamic tuning reaches after freeing a 32 MB block: blocks under 32 MB come from the heap, and up
    to 64 MB of free heap is kept. Elsewhere than glibc, nothing is done."""
    global _malloc_tuned
    if _malloc_tuned:
        return
    _malloc_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        pass


_malloc_tuned = False
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def batch_array(data: Any, name: str, where: str) -> Array:
    """``data`` (X or y: an array or nested lists of real numbers) as a float64 array, or a typed error
    naming ``where`` and ``name``: numpy would read ``True`` as 1.0, ``"1.5"`` as 1.5 and a ragged list
    as an object array, and turn 10**400 into an OverflowError."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "fiu":
        array = data.astype(np.float64, copy=False)
    else:
        if isinstance(data, np.ndarray) and data.dtype.kind != "O":
            raise OperandTypeError(f"{where}: {name} must hold real numbers, got an array of {data.dtype}")
        rows = data.tolist() if isinstance(data, np.ndarray) else data
        _check_reals(rows, name, where)
        try:
            array = np.asarray(rows, dtype=np.float64)
        except OverflowError:
            raise NonFiniteError(f"{where}: {name} holds a number too large for a float") from None
        except (ValueError, TypeError):
            raise ShapeError(f"{where}: {name} must be a rectangular array, got {show(rows)}") from None
    if not np.isfinite(array).all():
        raise NonFiniteError(f"{where}: {name} contains NaN or infinity")
    return array


def _check_reals(rows: Any, name: str, where: str) -> None:
    """Every leaf of nested lists and tuples is a real number (a bool is not), walked with a stack (in
    reverse, so that the first offender is the one named)."""
    stack = [rows]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, np.ndarray):  # a list of rows, each an array
            stack.extend(reversed(item.tolist() if item.ndim else [item.item()]))
        elif isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise OperandTypeError(
                f"{where}: {name} must hold real numbers, got {type(item).__name__} {show(item)}"
            )


def _unique_params(params: Sequence[Value]) -> list[Value]:
    if (
        isinstance(params, (str, bytes, Value))
        or not isinstance(params, Iterable)
        or (isinstance(params, np.ndarray) and params.ndim != 1)
    ):
        raise OperandTypeError(f"batched.compile: params must be a sequence of Values, got {show(params)}")
    unique: dict[Value, None] = {}
    for p in params:
        if not isinstance(p, Value):
            raise OperandTypeError(
                f"batched.compile: params must be Values, got {type(p).__name__} {show(p)}"
            )
        unique[p] = None
    return list(unique)


def _trace(
    sample_loss: Callable[[list[Value], Value], Any],
    penalty: Callable[[], Value | float] | None,
    inputs: list[Value],
    target: Value,
) -> tuple[Value, list[Value], Value | None, float]:
    """The sample's loss on the symbolic inputs (and the outputs it names), and the penalty: a Value,
    or a plain number."""
    with naming("batched.compile"):
        try:
            result = sample_loss(inputs, target)
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            if isinstance(exc, TinygradError):
                raise
            # a mistake in the user's function (or a function that is not a loss at all): say where it was
            raise ArgumentError(
                f"batched.compile: sample_loss(x, y) raised {type(exc).__name__}: {show(str(exc))}"
            ) from exc
    sample_root, outputs = result if isinstance(result, tuple) and len(result) == 2 else (result, [])
    if not isinstance(sample_root, Value):
        raise OperandTypeError(f"batched.compile: sample_loss must return a Value, got {show(sample_root)}")
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if not all(isinstance(v, Value) for v in outputs):
        raise OperandTypeError(
            f"batched.compile: the outputs of sample_loss must be Values, got {show(outputs)}"
        )
    with naming("batched.compile: penalty()"):
        penalty_result = penalty() if penalty is not None else 0.0
    if isinstance(penalty_result, Value):
        return sample_root, outputs, penalty_result, 0.0
    return sample_root, outputs, None, as_real(penalty_result, "batched.compile: penalty()")


def compile(
    sample_loss: Callable[[list[Value], Value], Any],
    params: Sequence[Value],
    x_example: Sequence[float],
    y_example: float,
    *,
    penalty: Callable[[], Value | float] | None = None,
    reduction: str = "mean",
    blas_threads: int | None = 1,
) -> BatchedLoss:
    """Trace ``sample_loss(x, y)`` once and return a :class:`BatchedLoss` that replays it on batches.

    ``sample_loss`` receives the features of one sample as a list of Values and its label as a Value and
    returns that sample's loss, or a pair (loss, outputs): the replay then also keeps the value of each
    of those Values (a model's score, say) for every sample in ``last_outputs``; ``x_example``/``y_example`` give the numbers used while tracing (any valid
    sample). The total is the ``mean`` (or ``sum``) of the sample losses plus ``penalty()``, evaluated
    once per batch. ``params`` are the Values that get gradients. ``blas_threads`` is how many threads
    numpy's BLAS may use during a step (None: numpy's own setting, which is left as it was).
    """
    return BatchedLoss(sample_loss, params, x_example, y_example, penalty, reduction, blas_threads)
