"""Gradient checking: compare the engine's derivatives with finite differences.

The central difference

    f'(x) ≈ (f(x + ε) - f(x - ε)) / 2ε

is off by about ε²·f'''(x)/6 (truncation) plus |f(x)|·1e-16/ε (rounding of the two evaluations), so the
default ε = 1e-6 gives about 1e-10 relative error on well-scaled functions: far below the tolerance
``|analytic - numeric| <= atol + rtol·|numeric|`` (PyTorch's rule, atol = 1e-5, rtol = 1e-3).

- :func:`gradcheck` checks first derivatives of ``f(*inputs)`` with respect to every input.
- :func:`gradgradcheck` checks second derivatives (``grad(..., create_graph=True)`` differentiated again)
  against central differences of the first derivatives.
- :func:`gradcheck_parameters` checks a loss against the parameters of a model, in place.

Each returns ``True`` or raises :class:`GradcheckError` whose message is a table of every partial
derivative, with the rows that disagree marked.

Adding your own operation
-------------------------
The built-in operations are :class:`tinygrad_w.Op` objects; yours is one too, made the same way. Write the
forward value and the derivative (one partial per input) with the arithmetic operators and the primitives
of the namespace ``m`` (``m.exp``, ``m.log``, ``m.sigmoid``, ...), never with ``math``: the engine then
evaluates your rule on floats, on Values (so second derivatives work) and on numpy arrays::

    from tinygrad_w import Op, Value
    from tinygrad_w.testing import gradcheck, gradgradcheck

    # swish(x) = x·σ(x);  swish'(x) = σ(x) + x·σ(x)·(1 - σ(x))
    SWISH = Op("swish", lambda m, x: x * m.sigmoid(x),
               lambda m, out, x: (m.sigmoid(x) * (1.0 + x * (1.0 - m.sigmoid(x))),))
    gradcheck(lambda x: SWISH(x) * 3, [0.7])        # True
    gradgradcheck(lambda x: SWISH(x), [0.7])        # True

A derivative that forgets the product rule, ``(m.sigmoid(x),)``, makes ``gradcheck`` raise
:class:`GradcheckError` with the analytic and numeric values side by side.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinygrad_w.checks import real_setting
from tinygrad_w.core.gradients import grad
from tinygrad_w.core.ops import POW
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import ArgumentError, GradcheckError, OperandTypeError, ShapeError, show

__all__ = [
    "GradcheckError",
    "GradientRow",
    "central_difference",
    "gradcheck",
    "gradcheck_parameters",
    "gradgradcheck",
    "is_close",
    "near_kinks_or_edges",
    "numeric_gradient",
]

DEFAULT_EPS = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3


# ----------------------------------------------------------------------------------------------------
# Finite differences on plain functions of floats


def central_difference(
    f: Callable[[Sequence[float]], float], point: Sequence[float], index: int, eps: float
) -> float:
    """∂f/∂x_index at ``point`` estimated as (f(x + ε e_i) - f(x - ε e_i)) / 2ε."""
    values, step = _difference_arguments(f, point, eps, "central_difference")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(values):
        raise ArgumentError(
            f"central_difference: index must be an int in 0..{len(values) - 1}, got {show(index)}"
        )
    return _difference(f, values, index, step, "central_difference")


def numeric_gradient(
    f: Callable[[Sequence[float]], float], point: Sequence[float], eps: float = DEFAULT_EPS
) -> list[float]:
    """Every partial derivative of f at ``point`` by central differences (2 evaluations per input)."""
    values, step = _difference_arguments(f, point, eps, "numeric_gradient")
    return [_difference(f, values, i, step, "numeric_gradient") for i in range(len(values))]


def _difference_arguments(f: object, point: object, eps: object, where: str) -> tuple[list[float], float]:
    if not callable(f):
        raise OperandTypeError(f"{where}: f must be a function of a list of floats, got {show(f)}")
    if isinstance(point, (str, bytes)) or not isinstance(point, Sequence):
        raise OperandTypeError(f"{where}: point must be a list of numbers, got {show(point)}")
    values = [as_real(x, f"{where}: point[{i}]") for i, x in enumerate(point)]
    return values, _setting(eps, "eps", where, allow_zero=False)


def _difference(
    f: Callable[[Sequence[float]], float], point: list[float], index: int, eps: float, where: str
) -> float:
    up, down = list(point), list(point)
    up[index] += eps
    down[index] -= eps
    above, below = as_real(f(up), f"{where}: f(x + eps)"), as_real(f(down), f"{where}: f(x - eps)")
    return as_real((above - below) / (2.0 * eps), f"{where}: the difference quotient")


def is_close(analytic: float, numeric: float, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL) -> bool:
    """|analytic - numeric| <= atol + rtol·|numeric| (False when either is NaN)."""
    for name, x in (("analytic", analytic), ("numeric", numeric), ("atol", atol), ("rtol", rtol)):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise OperandTypeError(
                f"is_close: {name} must be a real number, got {type(x).__name__} {show(x)}"
            )
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


# ----------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class GradientRow:
    """One partial derivative: its label, the engine's value and the finite-difference estimate."""

    label: str
    analytic: float
    numeric: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        """|analytic - numeric| / |numeric|; infinite when numeric is 0 and they differ."""
        if self.numeric != 0.0:
            return self.abs_error / abs(self.numeric)
        return 0.0 if self.abs_error == 0.0 else math.inf


def _number(x: float) -> str:
    return f"{x:.8g}"


def format_table(rows: Sequence[GradientRow], atol: float, rtol: float) -> str:
    """The rows as an aligned text table; rows outside the tolerance end with ``<-- FAIL``."""
    header = ("input", "analytic", "numeric", "abs err", "rel err")
    cells = [
        (
            row.label,
            _number(row.analytic),
            _number(row.numeric),
            f"{row.abs_error:.2e}",
            f"{row.rel_error:.2e}",
        )
        for row in rows
    ]
    widths = [max(len(line[k]) for line in [header, *cells]) for k in range(len(header))]
    lines = []
    for line, row in zip([header, *cells], [None, *rows]):
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        if row is not None and not is_close(row.analytic, row.numeric, atol, rtol):
            text += "  <-- FAIL"
        lines.append("  " + text)
    return "\n".join(lines)


def _verdict(
    what: str, rows: Sequence[GradientRow], point: str, eps: float, atol: float, rtol: float
) -> bool:
    """True when every row is within tolerance, else GradcheckError with the table."""
    failing = [row for row in rows if not is_close(row.analytic, row.numeric, atol, rtol)]
    if not failing:
        return True
    raise GradcheckError(
        f"{what}: {len(failing)} of {len(rows)} derivatives disagree with central differences at {point}\n"
        f"(eps={eps:g}; a row passes when |analytic - numeric| <= atol + rtol·|numeric|, "
        f"atol={atol:g}, rtol={rtol:g})\n" + format_table(rows, atol, rtol)
    )


# ----------------------------------------------------------------------------------------------------
# Checking a function of Values


def _setting(value: object, name: str, where: str, *, allow_zero: bool) -> float:
    """eps (> 0), atol and rtol (>= 0) as finite floats."""
    return real_setting(value, name, where, low=0.0, low_open=not allow_zero)


def _checked(
    f: object, inputs: object, eps: object, atol: object, rtol: object, where: str
) -> tuple[list[float], float, float, float]:
    """The point and the tolerances, after checking every argument (f callable, at least one input)."""
    if not callable(f):
        raise OperandTypeError(f"{where}: f must be a function of Values, got {type(f).__name__} {show(f)}")
    if isinstance(inputs, (str, bytes, Value)) or not isinstance(inputs, Sequence):
        raise OperandTypeError(f"{where}: inputs must be a list of numbers or Values, got {show(inputs)}")
    if not inputs:
        raise ArgumentError(f"{where}: no inputs: there is no derivative to check")
    point = [
        x.data if isinstance(x, Value) else as_real(x, f"{where}: input {i}") for i, x in enumerate(inputs)
    ]
    return (
        point,
        _setting(eps, "eps", where, allow_zero=False),
        _setting(atol, "atol", where, allow_zero=True),
        _setting(rtol, "rtol", where, allow_zero=True),
    )


def _labels(
    f: Callable[..., object], inputs: Sequence[Value | float], labels: Sequence[str] | None, where: str
) -> list[str]:
    """Names for the table: given labels, else the Values' labels, else f's parameter names, else x0, x1..."""
    if labels is not None:
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence) or len(labels) != len(inputs):
            raise ShapeError(f"{where}: labels must be a list of {len(inputs)} names, got {show(labels)}")
        return [str(label) for label in labels]
    try:
        parameters = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):  # builtins and some callables have no signature
        parameters = []
    names = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value) and x.label:
            names.append(x.label)
        elif len(parameters) == len(inputs):
            names.append(parameters[i])
        else:
            names.append(f"x{i}")
    return names


def _call(
    f: Callable[..., Value | float], point: Sequence[float], labels: Sequence[str], where: str
) -> tuple[Value, list[Value]]:
    """f applied to fresh leaves holding ``point``; a number result becomes a constant Value."""
    leaves = [Value(x, label) for x, label in zip(point, labels)]
    try:
        inspect.signature(f).bind(*leaves)
    except TypeError:  # f takes another number of inputs
        raise ShapeError(f"{where}: f does not take {len(leaves)} inputs: {show(f)}") from None
    except ValueError:  # a builtin without a signature: call it and see
        pass
    out = f(*leaves)
    if isinstance(out, Value):
        return out, leaves
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return Value(as_real(out, f"{where}: the result of f")), leaves
    raise OperandTypeError(
        f"{where}: f must return a Value or a number, got {type(out).__name__} {show(out)}"
    )


def _describe(labels: Sequence[str], point: Sequence[float]) -> str:
    return ", ".join(f"{label} = {x!r}" for label, x in zip(labels, point))


def gradcheck(
    f: Callable[..., Value | float],
    inputs: Sequence[Value | float],
    *,
    eps: float = DEFAULT_EPS,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    labels: Sequence[str] | None = None,
) -> bool:
    """Check every first derivative of ``f(*inputs)`` against central differences.

    ``f`` maps Values to a Value. ``inputs`` are numbers or Values (only their data is used: your Values
    are never modified). The analytic partials come from :func:`tinygrad_w.grad`; each is compared with
    (f(x + ε e_i) - f(x - ε e_i)) / 2ε. Returns True, or raises :class:`GradcheckError` with a table.
    Errors raised by f itself (a DomainError at the shifted point, ...) propagate unchanged.
    """
    point, eps, atol, rtol = _checked(f, inputs, eps, atol, rtol, "gradcheck")
    names = _labels(f, inputs, labels, "gradcheck")
    out, leaves = _call(f, point, names, "gradcheck")
    analytic = grad(out, leaves)

    def value_at(p: Sequence[float]) -> float:
        return _call(f, p, names, "gradcheck")[0].data

    numeric = numeric_gradient(value_at, point, eps)
    rows = [GradientRow(name, a, n) for name, a, n in zip(names, analytic, numeric)]
    return _verdict("gradcheck", rows, _describe(names, point), eps, atol, rtol)


def gradgradcheck(
    f: Callable[..., Value | float],
    inputs: Sequence[Value | float],
    *,
    eps: float = DEFAULT_EPS,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    labels: Sequence[str] | None = None,
) -> bool:
    """Check every second derivative ∂²f/∂x_i∂x_j against central differences of first derivatives.

    Analytic: ``g = grad(f, xs, create_graph=True)`` then ``grad(g_i, xs)`` (the derivative rules
    differentiated by the engine). Numeric: (∂f/∂x_i(x + ε e_j) - ∂f/∂x_i(x - ε e_j)) / 2ε with the
    first derivatives computed by the ordinary float backward pass. Returns True or raises GradcheckError.
    """
    point, eps, atol, rtol = _checked(f, inputs, eps, atol, rtol, "gradgradcheck")
    names = _labels(f, inputs, labels, "gradgradcheck")
    out, leaves = _call(f, point, names, "gradgradcheck")
    first = grad(out, leaves, create_graph=True)
    analytic = [grad(g, leaves) for g in first]  # analytic[i][j] = ∂²f/∂x_i∂x_j

    def first_derivatives(p: Sequence[float]) -> list[float]:
        out_p, leaves_p = _call(f, p, names, "gradgradcheck")
        return grad(out_p, leaves_p)

    rows = []
    for j in range(len(point)):
        up, down = list(point), list(point)
        up[j] += eps
        down[j] -= eps
        above, below = first_derivatives(up), first_derivatives(down)
        for i in range(len(point)):
            label = f"∂²/∂{names[i]}∂{names[j]}"
            rows.append(GradientRow(label, analytic[i][j], (above[i] - below[i]) / (2.0 * eps)))
    return _verdict("gradgradcheck", rows, _describe(names, point), eps, atol, rtol)


def gradcheck_parameters(
    loss: Callable[[], Value],
    parameters: Sequence[Value],
    *,
    eps: float = DEFAULT_EPS,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> bool:
    """Check ∂loss/∂p for existing parameters (a model's weights) by nudging each ``p.data`` in place.

    ``loss()`` must rebuild the graph from the parameters each time it is called. Every ``p.data`` is
    restored afterwards, even when loss() raises; no ``.grad`` is touched.
    """
    where = "gradcheck_parameters"
    if not callable(loss):
        raise OperandTypeError(f"{where}: loss must be a function () -> Value, got {show(loss)}")
    if isinstance(parameters, Value) or not isinstance(parameters, Sequence) or not parameters:
        raise ArgumentError(f"{where}: parameters must be a non-empty list of Values, got {show(parameters)}")
    for p in parameters:
        if not isinstance(p, Value):
            raise OperandTypeError(f"{where}: expected Values, got {type(p).__name__} {show(p)}")
    eps = _setting(eps, "eps", where, allow_zero=False)
    atol = _setting(atol, "atol", where, allow_zero=True)
    rtol = _setting(rtol, "rtol", where, allow_zero=True)
    analytic = grad(loss(), parameters)
    rows = []
    for i, p in enumerate(parameters):
        saved = p.data
        try:
            p.data = saved + eps
            above = loss().data
            p.data = saved - eps
            below = loss().data
        finally:
            p.data = saved
        rows.append(GradientRow(p.label or f"p{i}", analytic[i], (above - below) / (2.0 * eps)))
    return _verdict("gradcheck_parameters", rows, f"{len(parameters)} parameters", eps, atol, rtol)


# ----------------------------------------------------------------------------------------------------
# Where finite differences cannot be trusted


def near_kinks_or_edges(root: Value, margin: float = 0.05) -> list[str]:
    """Why finite differences around this graph's point would be unreliable: one line per node whose input
    is within ``margin`` of one of its op's kinks (``op.kinks``: relu and abs at 0, the edge of log's
    domain, a divisor at 0, ...), an empty list when all is well. ``x ** k`` with a whole k >= 0 is a
    polynomial, smooth at 0: its kink entry (there for other k) does not count."""
    if not isinstance(root, Value):
        raise OperandTypeError(
            f"near_kinks_or_edges: expected a Value, got {type(root).__name__} {show(root)}"
        )
    limit = _setting(margin, "margin", "near_kinks_or_edges", allow_zero=True)
    problems = []
    for node in topological_order(root):
        for position, point in node.op.kinks if node.op is not None else ():
            child = node.children[position]
            value = child.data if isinstance(child, Value) else child
            if abs(value - point) < limit and not (
                node.op is POW and _is_whole_nonnegative(node.children[1])
            ):
                domain = f" ({node.op.name} needs {node.op.domain})" if node.op.domain else ""
                problems.append(
                    f"{node.op.name}: input {value!r} is within {limit:g} of its kink at {point:g}{domain}"
                )
    return problems


def _is_whole_nonnegative(k: Value | float) -> bool:
    return not isinstance(k, Value) and k >= 0 and float(k).is_integer()
