"""Hypothesis strategies for gradient checking: random expressions, inputs inside every op's domain, networks.

An *expression* is a small tree (:class:`Variable`, :class:`Constant`, :class:`Apply`) that can be

- built into Values (``expression.build({"x": Value(0.5)})``),
- printed as a formula that :func:`tinygrad_w.parse` reads back (``expression.formula()``),
- evaluated on floats with Python's ``math`` module, independently of the engine (``evaluate``).

:func:`expression_cases` draws an expression together with a point (a value per variable) such that every
node's inputs lie inside the op's domain with a margin (log and sqrt of at least 0.1, divisors at least
0.2 away from 0, exp of at most 4) and at least ``MARGIN`` away from kinks (relu, abs, leaky_relu at 0),
and every intermediate value stays within ±``BOUND``. The tree is grown bottom-up from the point: an op
whose condition fails at this point is skipped, so no example is ever thrown away. Shrinking works as in
any Hypothesis strategy: a failing case shrinks towards fewer nodes, earlier ops and one variable.

:func:`check_case` runs :func:`tinygrad_w.testing.gradcheck` on a case and, when it fails, draws the
expression's graph to a file (:func:`draw_failure`) and names that file in the GradcheckError.

Example (a property test of your own op)::

    from hypothesis import given
    from tinygrad_w.testing.strategies import DEFAULT_OPS, check_case, expression_cases, op_spec

    @given(expression_cases(ops=[*DEFAULT_OPS, op_spec(SWISH)]))
    def test_swish_composes(case):
        check_case(case)

This module needs Hypothesis (``pip install hypothesis``); the rest of tinygrad_w does not.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from tinygrad_w.checks import count_setting, real_setting
from tinygrad_w.core import ops
from tinygrad_w.core.ops import FloatMath, Op
from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError, GradcheckError, OperandTypeError, show
from tinygrad_w.testing.gradcheck import (
    DEFAULT_ATOL,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    gradcheck,
    gradgradcheck,
    near_kinks_or_edges,
)

__all__ = [
    "BOUND",
    "BUILTIN_OPS",
    "DEFAULT_OPS",
    "MARGIN",
    "Apply",
    "Constant",
    "Expr",
    "ExpressionCase",
    "MLPCase",
    "Network",
    "OpSpec",
    "SmallNetwork",
    "Variable",
    "away_from_kinks",
    "check_case",
    "draw_failure",
    "expression_cases",
    "expressions",
    "inputs_for",
    "mlp_cases",
    "near_kinks_or_edges",
    "op_spec",
    "safe_value",
]

MARGIN = 0.05  # how far an op's input stays from a kink (relu, abs, leaky_relu at 0)
BOUND = 100.0  # largest |value| of any node, so that finite differences stay accurate
CONSTANTS = (2.0, 0.5, 3.0, -1.5)  # the numbers that appear in generated formulas

T = TypeVar("T")


def _always(*values: float) -> bool:
    return True


def away_from_kinks(op: Op, margin: float = MARGIN) -> Callable[..., bool]:
    """A check of an op's arguments: True when each is at least ``margin`` from every kink the op
    declares (``op.kinks``: relu and abs at 0, a divisor at 0, ...), where finite differences mislead."""

    def allowed(*arguments: float) -> bool:
        return all(abs(arguments[i] - point) >= margin for i, point in op.kinks if i < len(arguments))

    return allowed


def _both(first: Callable[..., bool], second: Callable[..., bool]) -> Callable[..., bool]:
    return lambda *arguments: first(*arguments) and second(*arguments)


@dataclass(frozen=True)
class OpSpec:
    """How random expressions use one operation.

    ``build`` applies it to Values (or float constants), ``evaluate`` computes it on floats without the
    engine, ``show`` writes it into a formula from its arguments' formulas, and ``allowed`` says whether
    the arguments' values are safely inside its domain and away from its kinks. An op with ``parameters``
    gets one of them as a constant last argument of all four (the exponent of pow, the slope of
    leaky_relu).
    """

    name: str
    arity: int
    build: Callable[..., Value]
    evaluate: Callable[..., float]
    show: Callable[..., str]
    allowed: Callable[..., bool] = _always
    parameters: tuple[float, ...] = ()


def op_spec(
    op: Op,
    *,
    arity: int = 1,
    allowed: Callable[..., bool] = _always,
    evaluate: Callable[..., float] | None = None,
) -> OpSpec:
    """An OpSpec for your own :class:`tinygrad_w.Op`, shown as ``name(a, b)`` in formulas.

    Its arguments keep ``MARGIN`` away from the kinks the op declares (``op.kinks``), and satisfy
    ``allowed`` (your domain rule) too. By default it is evaluated on floats with its own forward rule
    (``m = FloatMath``); pass an independent ``evaluate`` to test the forward rule too. Formulas that use
    it are read back by ``parse_with_inputs(text, values, functions={op.name: op})``.
    """
    if not isinstance(op, Op):
        raise OperandTypeError(f"op_spec: expected a tinygrad_w.Op, got {type(op).__name__} {show(op)}")
    arity = count_setting(arity, "arity", "op_spec", maximum=16)
    for name, rule in (("allowed", allowed), ("evaluate", evaluate)):
        if rule is not None and not callable(rule):
            raise OperandTypeError(f"op_spec: {name} must be a function, got {show(rule)}")
    return OpSpec(
        name=op.name,
        arity=arity,
        build=lambda *args: op(*args),
        evaluate=evaluate or (lambda *args: float(op.forward(FloatMath, *args))),
        show=lambda *texts: f"{op.name}({', '.join(texts)})",
        allowed=_both(allowed, away_from_kinks(op)),
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _spec(
    op: Op,
    arity: int,
    build: Callable[..., Value],
    evaluate: Callable[..., float],
    show: Callable[..., str],
    domain: Callable[..., bool] = _always,
    parameters: tuple[float, ...] = (),
) -> OpSpec:
    """A built-in op's spec: its arguments inside ``domain`` (kept away from the domain's edge, so that
    finite differences stay accurate) and away from the kinks the op declares."""
    return OpSpec(op.name, arity, build, evaluate, show, _both(domain, away_from_kinks(op)), parameters)


def _unary(op: Op, method: Callable[[Value], Value], evaluate: Callable[[float], float], **kw: Any) -> OpSpec:
    return _spec(op, 1, method, evaluate, lambda a: f"{op.name}({a})", **kw)


def _power_allowed(a: float, k: float) -> bool:
    if k == 0.5:
        return a >= 0.1  # √ needs a > 0, and its derivative grows like 1/√a near 0
    if k < 0:
        return abs(a) >= 0.2
    return True


# The engine's operations, with independent float implementations from Python's math module.
BUILTIN_OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in [
        _spec(ops.ADD, 2, lambda a, b: a + b, lambda a, b: a + b, lambda a, b: f"({a} + {b})"),
        _spec(ops.SUB, 2, lambda a, b: a - b, lambda a, b: a - b, lambda a, b: f"({a} - {b})"),
        _spec(ops.MUL, 2, lambda a, b: a * b, lambda a, b: a * b, lambda a, b: f"({a} * {b})"),
        _spec(
            ops.DIV,
            2,
            lambda a, b: a / b,
            lambda a, b: a / b,
            lambda a, b: f"({a} / {b})",
            lambda a, b: abs(b) >= 0.2,
        ),
        _spec(ops.NEG, 1, lambda a: -a, lambda a: -a, lambda a: f"(-{a})"),
        _spec(
            ops.POW,
            1,
            lambda a, k: a**k,
            lambda a, k: a**k,
            lambda a, k: f"({a} ** {_number(k)})",
            _power_allowed,
            parameters=(2.0, 3.0, 0.5, -1.0),
        ),
        _spec(
            ops.VPOW,
            2,
            lambda a, b: a**b,
            lambda a, b: a**b,
            lambda a, b: f"({a} ** {b})",
            lambda a, b: a >= 0.2 and abs(b) <= 3.0,
        ),
        _unary(ops.EXP, Value.exp, math.exp, domain=lambda a: a <= 4.0),
        _unary(ops.LOG, Value.log, math.log, domain=lambda a: a >= 0.1),
        _unary(ops.SQRT, Value.sqrt, math.sqrt, domain=lambda a: a >= 0.1),
        _unary(ops.TANH, Value.tanh, math.tanh),
        _unary(ops.SIGMOID, Value.sigmoid, _sigmoid),
        _unary(ops.RELU, Value.relu, lambda a: max(a, 0.0)),
        _unary(ops.ABS, Value.abs, abs),
        _unary(ops.SOFTPLUS, Value.softplus, lambda a: math.log1p(math.exp(a))),
        _spec(
            ops.LEAKY_RELU,
            1,
            lambda a, slope: a.leaky_relu(slope),
            lambda a, slope: a if a > 0 else slope * a,
            lambda a, slope: f"leaky_relu({a}, {_number(slope)})",
            parameters=(0.1,),
        ),
    ]
}
DEFAULT_OPS: tuple[OpSpec, ...] = tuple(BUILTIN_OPS.values())


def _number(x: float) -> str:
    """A float as parse() reads it back exactly; negative numbers in parentheses."""
    return f"({x!r})" if x < 0 else repr(x)


# ----------------------------------------------------------------------------------------------------
# Expressions


class Expr:
    """A node of a random expression: a Variable, a Constant or an Apply (an op on sub-expressions)."""

    def formula(self) -> str:
        """The expression as text that :func:`tinygrad_w.parse` reads back (fully parenthesised)."""
        raise NotImplementedError

    def fold(
        self, variable: Callable[[str], T], constant: Callable[[float], T], apply: Callable[..., T]
    ) -> T:
        """Compute the expression bottom-up with your own leaves and op application.

        ``apply(spec, *arguments)`` gets the op's spec, then its arguments, then its parameter if it has
        one. This is how the expression is built in another engine (see :mod:`tinygrad_w.adapter`).
        """
        raise NotImplementedError

    def build(self, values: Mapping[str, Value]) -> Value | float:
        """The expression as a Value graph over the given leaf Values (a float if it has no variable)."""

        def apply(spec: OpSpec, *arguments: Value | float) -> Value | float:
            return spec.build(*arguments)

        return self.fold(lambda name: values[name], lambda c: c, apply)

    def evaluate(self, point: Mapping[str, float]) -> float:
        """The expression's value on floats, with Python's math module (the engine is not involved)."""

        def apply(spec: OpSpec, *arguments: float) -> float:
            return float(spec.evaluate(*arguments))

        return self.fold(lambda name: point[name], lambda c: c, apply)

    def size(self) -> int:
        """The number of nodes: variables, constants and ops."""

        def apply(spec: OpSpec, *arguments: int) -> int:
            return 1 + sum(arguments[: spec.arity])

        return self.fold(lambda name: 1, lambda c: 1, apply)

    def variables(self) -> list[str]:
        """The variable names in order of first appearance."""
        names: list[str] = []
        self.fold(lambda name: names.append(name) if name not in names else None, lambda c: None, _ignore)
        return names

    def __str__(self) -> str:
        return self.formula()


def _ignore(*args: object) -> None:
    return None


@dataclass(frozen=True)
class Variable(Expr):
    name: str

    def formula(self) -> str:
        return self.name

    def fold(
        self, variable: Callable[[str], T], constant: Callable[[float], T], apply: Callable[..., T]
    ) -> T:
        return variable(self.name)


@dataclass(frozen=True)
class Constant(Expr):
    value: float

    def formula(self) -> str:
        return _number(self.value)

    def fold(
        self, variable: Callable[[str], T], constant: Callable[[float], T], apply: Callable[..., T]
    ) -> T:
        return constant(self.value)


@dataclass(frozen=True)
class Apply(Expr):
    spec: OpSpec
    arguments: tuple[Expr, ...]
    parameter: float | None = None

    def _extra(self) -> tuple[float, ...]:
        return () if self.parameter is None else (self.parameter,)

    def formula(self) -> str:
        return self.spec.show(*(a.formula() for a in self.arguments), *self._extra())

    def fold(
        self, variable: Callable[[str], T], constant: Callable[[float], T], apply: Callable[..., T]
    ) -> T:
        arguments = [a.fold(variable, constant, apply) for a in self.arguments]
        return apply(self.spec, *arguments, *self._extra())


@dataclass(frozen=True)
class ExpressionCase:
    """An expression and a point (a value for each variable) inside the domain of all its ops."""

    expression: Expr
    point: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.point)

    def build(self) -> tuple[Value, list[Value]]:
        """Fresh leaf Values at the point (labelled with their names) and the expression built on them."""
        leaves = [Value(self.point[name], name) for name in self.names]
        out = self.expression.build(dict(zip(self.names, leaves)))
        return (out if isinstance(out, Value) else Value(out)), leaves

    def function(self) -> Callable[..., Value | float]:
        """The expression as a function of one Value per variable, for gradcheck."""
        names = self.names
        return lambda *leaves: self.expression.build(dict(zip(names, leaves)))

    def __str__(self) -> str:
        where = ", ".join(f"{name} = {value!r}" for name, value in self.point.items())
        return f"f = {self.expression.formula()} at {where}"


def safe_value(spec: OpSpec, *arguments: float) -> float | None:
    """The op's value on floats where it is safe to check: arguments ``allowed`` and |value| <= BOUND.
    None elsewhere (outside the domain, near a kink, too large for accurate finite differences)."""
    try:
        result = spec.evaluate(*arguments) if spec.allowed(*arguments) else math.nan
    except (ArithmeticError, ValueError):
        return None
    return result if math.isfinite(result) and abs(result) <= BOUND else None


def _inputs(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in [low, high], rounded to readable decimals (3, more for a narrow interval: [5.0001, 5.0004]
    gets 7) and never outside the interval; shrinking goes towards 0."""
    width = high - low
    decimals = 3 if not 0 < width < 1 else 3 - math.floor(math.log10(width))
    return st.floats(low, high, allow_nan=False, allow_infinity=False).map(
        lambda v: min(max(round(v, decimals), low), high)
    )


def _names(names: object, where: str) -> list[str]:
    """Variable names: a non-empty list of distinct identifiers."""
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or not names:
        raise ArgumentError(f"{where}: variables must be a non-empty list of names, got {show(names)}")
    if not all(isinstance(n, str) and n.isidentifier() for n in names) or len(set(names)) != len(names):
        raise ArgumentError(f"{where}: variables must be distinct names such as 'x', got {show(names)}")
    return list(names)


def _interval(low: object, high: object, where: str) -> tuple[float, float]:
    """A finite interval [low, high] with low < high."""
    low, high = real_setting(low, "low", where), real_setting(high, "high", where)
    if not low < high:
        raise ArgumentError(f"{where}: needs low < high, got {low!r} and {high!r}")
    return low, high


@st.composite
def _tree(
    draw: st.DrawFn, ops: Sequence[OpSpec], names: Sequence[str], point: Mapping[str, float], depth: int
) -> tuple[Expr, float]:
    """A random expression over ``names`` and its value at ``point``, grown bottom-up within the domains."""
    # Always draw the leaf decision, even when depth forces a leaf: a subtree is then the same sequence of
    # choices wherever it sits, which lets Hypothesis shrink a failure by lifting the failing subtree up.
    leaf = draw(st.integers(0, 3)) == 0  # shrinks towards 0: towards a single variable
    if leaf or depth == 0:
        name = draw(st.sampled_from(names))
        return Variable(name), point[name]
    spec = draw(st.sampled_from(ops))
    extra = (draw(st.sampled_from(spec.parameters)),) if spec.parameters else ()
    arguments: list[Expr] = []
    values: list[float] = []
    constant_used = False
    for _ in range(spec.arity):
        # a binary op may take one constant operand (x * 2.0, 0.5 / x), never two
        if spec.arity == 2 and not constant_used and draw(st.integers(0, 3)) == 3:
            constant_used = True
            c = draw(st.sampled_from(CONSTANTS))
            arguments.append(Constant(c))
            values.append(c)
        else:
            sub, value = draw(_tree(ops, names, point, depth - 1))
            arguments.append(sub)
            values.append(value)
    result = safe_value(spec, *values, *extra)
    if result is None:
        # this op is not safe here: keep its first non-constant argument instead (no example is wasted)
        index = next(i for i, a in enumerate(arguments) if not isinstance(a, Constant))
        return arguments[index], values[index]
    return Apply(spec, tuple(arguments), extra[0] if extra else None), result


def expression_cases(
    ops: Sequence[OpSpec] = DEFAULT_OPS,
    *,
    variables: Sequence[str] = ("x", "y", "z"),
    max_depth: int = 4,
    low: float = -2.0,
    high: float = 2.0,
) -> st.SearchStrategy[ExpressionCase]:
    """Random expressions over 1 to ``len(variables)`` variables with a point inside every op's domain.

    ``ops`` chooses the operations (add your own with :func:`op_spec`), ``max_depth`` bounds the tree's
    depth, and each variable is drawn from [low, high] (rounded to 3 decimals).
    """
    where = "expression_cases"
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence) or not ops:
        raise ArgumentError(f"{where}: ops must be a non-empty list of OpSpecs, got {show(ops)}")
    for spec in ops:
        if not isinstance(spec, OpSpec):
            raise OperandTypeError(
                f"{where}: ops must be OpSpecs (see op_spec), got {type(spec).__name__} {show(spec)}"
            )
    _names(variables, where)
    max_depth = count_setting(max_depth, "max_depth", where, minimum=0, maximum=20)
    low, high = _interval(low, high, where)

    @st.composite
    def cases(draw: st.DrawFn) -> ExpressionCase:
        count = draw(st.integers(1, len(variables)))
        names = list(variables[:count])
        point = {name: draw(_inputs(low, high)) for name in names}
        expression, _ = draw(_tree(list(ops), names, point, max_depth))
        return ExpressionCase(expression, point)

    return cases()


def expressions(ops: Sequence[OpSpec] = DEFAULT_OPS, **kwargs: Any) -> st.SearchStrategy[Expr]:
    """Random expressions alone (see :func:`expression_cases` for the arguments)."""
    return expression_cases(ops, **kwargs).map(lambda case: case.expression)


# ----------------------------------------------------------------------------------------------------
# Inputs for any Value graph (skip points with tinygrad_w.testing.near_kinks_or_edges, re-exported here)


def inputs_for(
    names: Sequence[str], low: float = -3.0, high: float = 3.0
) -> st.SearchStrategy[dict[str, float]]:
    """A value in [low, high] for each name, in the order given (rounded to 3 decimals). Points outside
    an expression's domain or near its kinks are for the caller to skip (see :func:`near_kinks_or_edges`)."""
    names = _names(names, "inputs_for")
    low, high = _interval(low, high, "inputs_for")
    values = st.tuples(*[_inputs(low, high) for _ in names])
    return values.map(lambda drawn: dict(zip(names, drawn)))


# ----------------------------------------------------------------------------------------------------
# Checking a case, and drawing the failure


def draw_failure(case: ExpressionCase, directory: str | Path | None = None) -> Path:
    """Draw the case's graph (values and gradients) to an SVG file and return its path.

    The file is named after the formula and point (the same case gives the same file) and written to
    ``directory`` (default: ``tinygrad_w-failures`` in the system's temporary directory). Without
    Graphviz's ``dot`` program the DOT source is written instead (``.dot``).
    """
    from tinygrad_w import viz

    if not isinstance(case, ExpressionCase):
        raise OperandTypeError(
            f"draw_failure: expected an ExpressionCase, got {type(case).__name__} {show(case)}"
        )
    folder = Path(directory) if directory is not None else Path(tempfile.gettempdir()) / "tinygrad_w-failures"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(str(case).encode("utf-8")).hexdigest()[:12]
    root, _ = case.build()
    root.backward()
    return viz.render(viz.draw_graph(root), folder / f"failing-expression-{digest}.svg")


def check_case(
    case: ExpressionCase,
    *,
    second_order: bool = False,
    directory: str | Path | None = None,
    eps: float = DEFAULT_EPS,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """gradcheck (and gradgradcheck with ``second_order``) of the case's expression at its point.

    On failure, raises GradcheckError with the formula, the point, the table, and the path of a drawing
    of the graph (see :func:`draw_failure`).
    """
    if not isinstance(case, ExpressionCase):
        raise OperandTypeError(
            f"check_case: expected an ExpressionCase, got {type(case).__name__} {show(case)}"
        )
    inputs = [case.point[name] for name in case.names]
    try:
        gradcheck(case.function(), inputs, eps=eps, atol=atol, rtol=rtol, labels=case.names)
        if second_order:
            gradgradcheck(case.function(), inputs, eps=eps, atol=atol, rtol=rtol, labels=case.names)
    except GradcheckError as failure:
        try:
            drawn = f"graph drawn to {draw_failure(case, directory)}"
        except Exception as exc:  # a drawing problem must not hide the gradient problem
            drawn = f"(could not draw the graph: {type(exc).__name__}: {exc})"
        raise GradcheckError(f"{case}\n{failure}\n{drawn}") from None


# ----------------------------------------------------------------------------------------------------
# Small networks


class Network(Protocol):
    """What an MLP case needs of a network: called on a list of inputs, and its parameters."""

    def __call__(self, x: Sequence[Value | float], /) -> Any: ...

    def parameters(self) -> list[Value]: ...


class SmallNetwork:
    """A multi-layer perceptron written with core Values only (the strategies read no other part of
    tinygrad_w): layers of sizes ``nouts``, each neuron ``act(b + Σ w_k x_k)`` with ``activation`` (a
    Value method: tanh, sigmoid, softplus, relu, ...) in the hidden layers and none on the output; weights
    from U[-1, 1] drawn with ``random.Random(seed)``, biases 0 (micrograd's start)."""

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "tanh", *, seed: int = 0) -> None:
        rng = random.Random(seed)
        self.nin, self.nouts, self.activation = nin, list(nouts), activation
        sizes = [nin, *self.nouts]
        self.layers = [
            [
                (
                    [Value(rng.uniform(-1.0, 1.0), f"L{i}.N{j}.w{k}") for k in range(fan_in)],
                    Value(0.0, f"L{i}.N{j}.b"),
                )
                for j in range(fan_out)
            ]
            for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1)
        ]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        values: list[Value | float] = list(x)
        for depth, layer in enumerate(self.layers, start=1):
            sums = [sum((w * v for w, v in zip(weights, values)), bias) for weights, bias in layer]
            hidden = depth < len(self.layers)
            values = [getattr(total, self.activation)() if hidden else total for total in sums]
        outputs = [v if isinstance(v, Value) else Value(v) for v in values]
        return outputs[0] if len(outputs) == 1 else outputs

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for weights, bias in layer for p in (*weights, bias)]


@dataclass(frozen=True)
class MLPCase:
    """A small network with one output and an input for it."""

    model: Network
    inputs: list[float]

    def loss(self) -> Value:
        """The network's output on ``inputs``, rebuilt from the current parameters at each call."""
        out = self.model(self.inputs)
        if not isinstance(out, Value):
            raise GradcheckError(f"MLPCase.loss: the network returned {show(out)}, not a single Value")
        return out


def mlp_cases(
    *,
    max_inputs: int = 3,
    max_hidden_layers: int = 2,
    max_width: int = 3,
    activations: Sequence[str] = ("tanh", "sigmoid", "softplus"),
    make: Callable[..., Network] = SmallNetwork,
) -> st.SearchStrategy[MLPCase]:
    """Small seeded networks (one output) with an input. The default activations are smooth: relu's kink
    would make finite differences unreliable at some points.

    ``make(nin, nouts, activation, seed=...)`` builds each network: :class:`SmallNetwork` (core Values
    only) by default; pass ``tinygrad_w.MLP`` (or ``functools.partial(MLP, fused=True)``) to draw the
    package's own MLPs.
    """
    if not callable(make):
        raise OperandTypeError(f"mlp_cases: make must build a network, got {show(make)}")
    for name, value, least in (
        ("max_inputs", max_inputs, 1),
        ("max_hidden_layers", max_hidden_layers, 0),
        ("max_width", max_width, 1),
    ):
        count_setting(value, name, "mlp_cases", minimum=least, maximum=64)
    if isinstance(activations, (str, bytes)) or not isinstance(activations, Sequence) or not activations:
        raise ArgumentError(
            f"mlp_cases: activations must be a non-empty list of names, got {show(activations)}"
        )

    @st.composite
    def cases(draw: st.DrawFn) -> MLPCase:
        nin = draw(st.integers(1, max_inputs))
        hidden = draw(st.lists(st.integers(1, max_width), max_size=max_hidden_layers))
        activation = draw(st.sampled_from(list(activations)))
        model = make(nin, [*hidden, 1], activation, seed=draw(st.integers(0, 2**32 - 1)))
        inputs = draw(st.lists(_inputs(-2.0, 2.0), min_size=nin, max_size=nin))
        return MLPCase(model, inputs)

    return cases()
