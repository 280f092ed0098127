"""Check your own engine: run tinygrad_w's gradient properties against a Value class you wrote.

Describe your class with an :class:`EngineAdapter` (how to make a leaf, read ``data`` and ``grad``, run
``backward``, and which operations it has), then call :func:`check_engine`::

    from tinygrad_w.testing.adapter import EngineAdapter, check_engine
    from mygrad import Value                       # your micrograd-style class

    report = check_engine(EngineAdapter.for_class(Value))
    print(report)                                  # which ops and which expressions disagree
    assert report.ok

The check has two parts.

1. **Each op alone**, at a few points inside its domain and away from kinks: the value is compared with
   Python's ``math`` and every partial derivative your ``backward`` gives with a central difference of
   your own forward pass. Binary ops are also tried with the same input twice (``x * x``), which catches
   gradients that are overwritten (``=``) instead of accumulated (``+=``).
2. **Random expressions** built from the ops that passed (Hypothesis, shrunk to the smallest failing
   formula): bugs that only show when ops are combined.

``EngineAdapter.for_class`` finds the ops itself by trying each one on two leaves: Python operators
(``+ - * / **`` and unary ``-``) and methods named after the op (``exp``, ``log``, ``tanh``, ``relu``,
...). Give ``ops=`` to say how your class does an op under another name. This module needs Hypothesis
(``pip install tinygrad-w[testing]``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tinygrad_w.checks import count_setting, flag_setting, real_setting
from tinygrad_w.errors import OperandTypeError, show
from tinygrad_w.testing.gradcheck import (
    DEFAULT_ATOL,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    GradientRow,
    format_table,
    is_close,
    numeric_gradient,
)
from tinygrad_w.testing.strategies import BUILTIN_OPS, ExpressionCase, OpSpec, safe_value

__all__ = ["STANDARD_OPS", "EngineAdapter", "EngineReport", "OpResult", "check_engine"]

# How a micrograd-style class usually spells each op. The constant parameter (pow's exponent,
# leaky_relu's slope) comes last.
STANDARD_OPS: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda a, k: a**k,
    "vpow": lambda a, b: a**b,
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "sqrt": lambda a: a.sqrt(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: a.abs(),
    "softplus": lambda a: a.softplus(),
    "leaky_relu": lambda a, slope: a.leaky_relu(slope),
}

# Two leaves every op accepts (inside every domain: positive, away from kinks).
_PROBE = (0.7, 1.3)


@dataclass
class EngineAdapter:
    """How to drive another engine's scalar Value class.

    ``make(x)`` makes a leaf holding the float x; ``data(v)`` and ``grad(v)`` read a value and its
    gradient; ``backward(v)`` fills the gradients of everything v depends on; ``ops`` maps op names
    (those of ``STANDARD_OPS``) to functions applying the op to your values (plus the constant parameter
    for pow and leaky_relu). ``name`` appears in the report.
    """

    make: Callable[[float], Any]
    ops: Mapping[str, Callable[..., Any]]
    data: Callable[[Any], float] = lambda v: float(v.data)
    grad: Callable[[Any], float] = lambda v: float(v.grad)
    backward: Callable[[Any], None] = lambda v: v.backward()
    name: str = "engine"

    @classmethod
    def for_class(
        cls,
        value_class: Callable[[float], Any],
        *,
        ops: Mapping[str, Callable[..., Any]] | None = None,
        data: str = "data",
        grad: str = "grad",
        backward: str = "backward",
    ) -> EngineAdapter:
        """An adapter for a class used as ``Value(x)``, ``v.data``, ``v.grad``, ``v.backward()``.

        Without ``ops``, every op of STANDARD_OPS that works on two sample leaves is used; with ``ops``,
        exactly those (names of STANDARD_OPS, or a mapping name -> function).
        """
        if not callable(value_class):
            raise OperandTypeError(f"EngineAdapter.for_class: expected a class, got {show(value_class)}")
        if ops is not None and not isinstance(ops, Mapping):
            raise OperandTypeError(
                f"EngineAdapter.for_class: ops must map op names to functions, got {show(ops)}"
            )
        adapter = cls(
            make=value_class,
            ops={},
            data=lambda v: float(getattr(v, data)),
            grad=lambda v: float(getattr(v, grad)),
            backward=lambda v: getattr(v, backward)(),
            name=getattr(value_class, "__name__", "engine"),
        )
        adapter.ops = dict(ops) if ops is not None else adapter.detect_ops()
        return adapter

    def detect_ops(self) -> dict[str, Callable[..., Any]]:
        """The ops of STANDARD_OPS that run on two sample leaves and give a number back."""
        found = {}
        for name, apply in STANDARD_OPS.items():
            spec = BUILTIN_OPS[name]
            arguments: list[Any] = [self.make(x) for x in _PROBE[: spec.arity]]
            try:
                float(self.data(apply(*arguments, *spec.parameters[:1])))
            except Exception:  # any failure means "not provided": the class may raise anything
                continue
            found[name] = apply
        return found


@dataclass(frozen=True)
class OpResult:
    """The verdict on one op: ``status`` is "ok", "wrong value", "wrong derivative", "error" or
    "not provided"; ``detail`` says where and by how much."""

    name: str
    status: str
    detail: str = ""
    points: int = 0


@dataclass
class EngineReport:
    """What :func:`check_engine` found. ``str(report)`` is the readable report."""

    engine: str
    ops: list[OpResult]
    expressions_checked: int = 0
    expression_failure: str = ""  # the smallest failing expression and its table ("" if none)
    expression_note: str = ""
    settings: str = ""

    @property
    def wrong_ops(self) -> list[str]:
        """Names of the ops that are provided but wrong (value, derivative or error)."""
        return [r.name for r in self.ops if r.status not in ("ok", "not provided")]

    @property
    def ok(self) -> bool:
        return not self.wrong_ops and not self.expression_failure

    def __str__(self) -> str:
        lines = [f"Checking {self.engine} against central differences ({self.settings})", "", "ops:"]
        width = max((len(r.name) for r in self.ops), default=0)
        for r in self.ops:
            status = r.status if r.status in ("ok", "not provided") else r.status.upper()
            where = f"  {r.points} points" if r.status == "ok" else (f"  {r.detail}" if r.detail else "")
            lines.append(f"  {r.name.ljust(width)}  {status.ljust(16)}{where}".rstrip())
        lines += ["", "expressions:"]
        if self.expression_failure:
            lines.append("  DISAGREE: the smallest failing expression found")
            lines += ["  " + line for line in self.expression_failure.splitlines()]
        elif self.expression_note:
            lines.append(f"  {self.expression_note}")
        else:
            lines.append(
                f"  all agree ({self.expressions_checked} random expressions of the ops that passed)"
            )
        wrong = self.wrong_ops
        verdict = "all ops and expressions agree" if self.ok else ""
        if wrong:
            verdict = f"{len(wrong)} wrong op(s): {', '.join(wrong)}"
        if self.expression_failure:
            verdict = f"{verdict}; " if wrong else ""
            verdict += "an expression of correct ops disagrees (look at how gradients flow and accumulate)"
        lines += ["", f"verdict: {verdict}"]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Part 1: each op alone


def _points(spec: OpSpec, rng: random.Random, count: int, same_input: bool) -> list[tuple[float, ...]]:
    """``count`` points (plus the op's parameter) inside the op's domain, away from kinks, bounded."""
    chosen: list[tuple[float, ...]] = []
    parameters = spec.parameters or (None,)
    for attempt in range(count * 200):
        parameter = parameters[attempt % len(parameters)]
        x = round(rng.uniform(-2.0, 2.0), 3)
        values = (
            (x,) * spec.arity
            if same_input
            else tuple(round(rng.uniform(-2.0, 2.0), 3) for _ in range(spec.arity))
        )
        extra = () if parameter is None else (parameter,)
        if safe_value(spec, *values, *extra) is not None:
            chosen.append((*values, *extra))
            if len(chosen) == count:
                break
    return chosen


def _describe(names: Sequence[str], values: Sequence[float]) -> str:
    return ", ".join(f"{n} = {v!r}" for n, v in zip(names, values))


def _check_op(
    adapter: EngineAdapter, name: str, rng: random.Random, points: int, eps: float, atol: float, rtol: float
) -> OpResult:
    spec = BUILTIN_OPS[name]
    apply = adapter.ops[name]
    trials = [(False, p) for p in _points(spec, rng, points, same_input=False)]
    if spec.arity == 2:
        trials += [(True, p) for p in _points(spec, rng, 2, same_input=True)]
    for same_input, point in trials:
        values, extra = point[: spec.arity], point[spec.arity :]
        names = ["x"] if same_input else ["x", "y"][: spec.arity]
        shown = f"{name}(x, x)" if same_input else name
        where = _describe(names, values[: len(names)]) + (f" (parameter {extra[0]!r})" if extra else "")
        try:
            leaves = [adapter.make(v) for v in values[: len(names)]]
            arguments = [leaves[0]] * spec.arity if same_input else leaves
            out = apply(*arguments, *extra)
            value = adapter.data(out)
            expected = spec.evaluate(*values, *extra)
            if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
                return OpResult(
                    name, "wrong value", f"{shown} at {where}: engine {value!r}, expected {expected!r}"
                )
            adapter.backward(out)
            analytic = [adapter.grad(leaf) for leaf in leaves]

            def forward(
                moved: Sequence[float], same_input: bool = same_input, extra: tuple[float, ...] = extra
            ) -> float:
                fresh = [adapter.make(v) for v in moved]
                args = [fresh[0]] * spec.arity if same_input else fresh
                return adapter.data(apply(*args, *extra))

            numeric = numeric_gradient(forward, values[: len(names)], eps)
        except Exception as exc:  # the engine under test may raise anything: report it, go on
            return OpResult(name, "error", f"{shown} at {where}: {type(exc).__name__}: {exc}")
        for leaf_name, a, n in zip(names, analytic, numeric):
            if not is_close(a, n, atol, rtol):
                hint = " (gradients must accumulate with +=, not be overwritten)" if same_input else ""
                return OpResult(
                    name,
                    "wrong derivative",
                    f"{shown} at {where}: ∂/∂{leaf_name} engine {a:.8g}, numeric {n:.8g}{hint}",
                )
    return OpResult(name, "ok", points=len(trials))


# ----------------------------------------------------------------------------------------------------
# Part 2: random expressions


def _build_in(
    adapter: EngineAdapter, case: ExpressionCase, point: Mapping[str, float]
) -> tuple[Any, list[Any]]:
    """The case's expression built with the other engine's values: a leaf per variable and per constant."""
    leaves = {name: adapter.make(point[name]) for name in case.names}

    def apply(spec: OpSpec, *arguments: Any) -> Any:
        return adapter.ops[spec.name](*arguments)

    out = case.expression.fold(lambda name: leaves[name], adapter.make, apply)
    return out, [leaves[name] for name in case.names]


class _Disagreement(Exception):
    """Raised inside the Hypothesis run so that it shrinks the failing expression."""


def _check_expressions(
    adapter: EngineAdapter,
    specs: Sequence[OpSpec],
    examples: int,
    seed: int,
    eps: float,
    atol: float,
    rtol: float,
) -> tuple[int, str]:
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    from tinygrad_w.testing.strategies import expression_cases

    checked = [0]
    failures: list[str] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @given(expression_cases(specs, max_depth=3))
    def property_test(case: ExpressionCase) -> None:
        try:
            out, leaves = _build_in(adapter, case, case.point)
            adapter.backward(out)
            analytic = [adapter.grad(leaf) for leaf in leaves]
            values = [case.point[name] for name in case.names]

            def forward(moved: Sequence[float]) -> float:
                return float(adapter.data(_build_in(adapter, case, dict(zip(case.names, moved)))[0]))

            numeric = numeric_gradient(forward, values, eps)
        except Exception as exc:
            failures.append(f"{case}\n  raised {type(exc).__name__}: {exc}")
            raise _Disagreement from None
        rows = [GradientRow(name, a, n) for name, a, n in zip(case.names, analytic, numeric)]
        if any(not is_close(row.analytic, row.numeric, atol, rtol) for row in rows):
            failures.append(f"{case}\n{format_table(rows, atol, rtol).replace('analytic', 'engine  ')}")
            raise _Disagreement
        checked[0] += 1

    try:
        property_test()
    except _Disagreement:
        return checked[0], failures[-1]  # the last failure is the one Hypothesis shrank to
    return checked[0], ""


def check_engine(
    adapter: EngineAdapter,
    *,
    examples: int = 200,
    points_per_op: int = 5,
    seed: int = 0,
    eps: float = DEFAULT_EPS,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    expressions: bool = True,
) -> EngineReport:
    """Run the property suite against another engine and return the report (``print`` it).

    Each provided op is checked alone at ``points_per_op`` points, then ``examples`` random expressions
    of the ops that passed (``expressions=False`` skips them; they need Hypothesis). The same seed gives
    the same points and the same report.
    """
    where = "check_engine"
    if not isinstance(adapter, EngineAdapter):
        raise OperandTypeError(
            f"{where}: expected an EngineAdapter, got {type(adapter).__name__} {show(adapter)}"
        )
    examples = count_setting(examples, "examples", where, maximum=100_000)
    points_per_op = count_setting(points_per_op, "points_per_op", where, maximum=10_000)
    seed = count_setting(seed, "seed", where, minimum=0)
    eps = real_setting(eps, "eps", where, low=0.0, low_open=True)
    atol, rtol = real_setting(atol, "atol", where, low=0.0), real_setting(rtol, "rtol", where, low=0.0)
    expressions = flag_setting(expressions, "expressions", where)
    rng = random.Random(seed)
    results = []
    for name in BUILTIN_OPS:
        if name in adapter.ops:
            results.append(_check_op(adapter, name, rng, points_per_op, eps, atol, rtol))
        else:
            results.append(OpResult(name, "not provided"))
    report = EngineReport(
        engine=adapter.name,
        ops=results,
        settings=f"eps={eps:g}, atol={atol:g}, rtol={rtol:g}, seed={show(seed)}",
    )
    passed = [BUILTIN_OPS[r.name] for r in results if r.status == "ok"]
    if not expressions:
        report.expression_note = "not checked (expressions=False)"
    elif not passed:
        report.expression_note = "not checked: no op passed on its own"
    else:
        report.expressions_checked, report.expression_failure = _check_expressions(
            adapter, passed, examples, seed, eps, atol, rtol
        )
    return report
