"""The autograd engine: operations, the Value node, and reverse-mode differentiation.

Read it top to bottom:

1. ``Op``: an operation is a forward function and a derivative function, written side by side.
2. The table of operations: every op the engine knows, each in a few lines.
3. ``Value``: a scalar node that remembers the op and the inputs that made it.
4. ``backward`` and ``grad``: the chain rule, applied node by node in reverse topological order.

A rule is written once with the arithmetic operators and the primitives of a namespace ``m``
(see :mod:`tinygrad_w.mathlib`). The engine evaluates it with ``m = FloatMath`` on floats during an
ordinary backward pass and with ``m = ValueMath`` on Values when ``grad(..., create_graph=True)`` asks for
a differentiable gradient; ``ArrayMath`` evaluates the same rules on numpy arrays.
"""

from __future__ import annotations

import gc
import math
import numbers
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, overload

from .errors import (
    DomainError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    OperationOverflowError,
    OperationZeroDivisionError,
    ShapeError,
)
from .mathlib import FloatMath

# ----------------------------------------------------------------------------------------------------
# 1. An operation = forward + derivative


class Op:
    """One differentiable operation.

    ``forward(m, *inputs)`` returns the output; ``derivative(m, out, *inputs)`` returns one partial
    derivative ∂out/∂input per input, in the order of the inputs. ``out`` is passed so that rules such
    as tanh' = 1 - tanh² reuse the forward result. Inputs that are plain numbers (constants such as the
    2 in ``x * 2``) get a partial too, which the engine simply does not use.

    Calling an Op on Values or numbers applies it: ``CUBE(x)``. That is also how users add their own
    operations (see ``tinygrad_w.testing.gradcheck`` to verify the derivative they wrote).
    """

    __slots__ = ("name", "forward", "derivative", "domain", "symbol")

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        derivative: Callable[..., Sequence[Any]],
        *,
        domain: str = "",
        symbol: str = "",
    ) -> None:
        self.name = name
        self.forward = forward
        self.derivative = derivative
        self.domain = domain  # where the op is defined, for error messages ("x > 0")
        self.symbol = symbol or name  # how drawings show it ("+", "*", "tanh")

    def __call__(self, *operands: Value | float) -> Value:
        return _apply(self, tuple([_operand(x, self.name) for x in operands]))

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# ----------------------------------------------------------------------------------------------------
# 2. The table of operations. Each line pair: the forward, then the derivative with respect to each input.

ADD = Op("add", lambda m, a, b: a + b,
         lambda m, out, a, b: (1.0, 1.0), symbol="+")  # fmt: skip
SUB = Op("sub", lambda m, a, b: a - b,
         lambda m, out, a, b: (1.0, -1.0), symbol="-")  # fmt: skip
MUL = Op("mul", lambda m, a, b: a * b,
         lambda m, out, a, b: (b, a), symbol="*")  # fmt: skip
DIV = Op("div", lambda m, a, b: a / b,
         lambda m, out, a, b: (1.0 / b, -out / b), domain="b != 0", symbol="/")  # fmt: skip
NEG = Op("neg", lambda m, a: -a,
         lambda m, out, a: (-1.0,), symbol="-")  # fmt: skip
# x ** k with a constant k: the constant gets no gradient.
POW = Op("pow", lambda m, x, k: m.pow(x, k),
         lambda m, out, x, k: (k * m.pow(x, k - 1.0), 0.0),
         domain="x > 0, an integer k when x < 0, and k >= 0 when x = 0", symbol="**")  # fmt: skip
# a ** b with a Value exponent: ∂/∂b = a^b · ln a needs a > 0 (checked when that partial is computed).
VPOW = Op("vpow", lambda m, a, b: m.pow(a, b),
          lambda m, out, a, b: (b * m.pow(a, b - 1.0), out * m.log(a)),
          domain="a > 0 for the derivative with respect to the exponent", symbol="**")  # fmt: skip
EXP = Op("exp", lambda m, x: m.exp(x),
         lambda m, out, x: (out,), domain="x <= 709.78 (beyond, e^x overflows)")  # fmt: skip
LOG = Op("log", lambda m, x: m.log(x),
         lambda m, out, x: (1.0 / x,), domain="x > 0")  # fmt: skip
SQRT = Op("sqrt", lambda m, x: m.sqrt(x),
          lambda m, out, x: (0.5 / out,), domain="x >= 0, and x > 0 for its derivative")  # fmt: skip
TANH = Op("tanh", lambda m, x: m.tanh(x),
          lambda m, out, x: (1.0 - out * out,))  # fmt: skip
SIGMOID = Op("sigmoid", lambda m, x: m.sigmoid(x),
             lambda m, out, x: (out * (1.0 - out),))  # fmt: skip
# relu'(0) = 0 and abs'(0) = 0: at the kink we pick the subgradient 0, as PyTorch does.
RELU = Op("relu", lambda m, x: m.relu(x),
          lambda m, out, x: (m.step(x),))  # fmt: skip
ABS = Op("abs", lambda m, x: abs(x),
         lambda m, out, x: (m.sign(x),))  # fmt: skip
# leaky_relu(x) = x for x > 0, slope·x otherwise; the slope is a constant input.
LEAKY_RELU = Op("leaky_relu", lambda m, x, slope: m.relu(x) - slope * m.relu(-x),
                lambda m, out, x, slope: (slope + (1.0 - slope) * m.step(x), 0.0))  # fmt: skip
# softplus(x) = ln(1 + e^x), written as ln(1 + e^-|x|) + max(x, 0) so e^x never overflows.
SOFTPLUS = Op("softplus", lambda m, x: m.log1p(m.exp(-abs(x))) + m.relu(x),
              lambda m, out, x: (m.sigmoid(x),))  # fmt: skip


# A whole neuron's weighted sum as one node: linear(w_1..w_n, x_1..x_n, b) = b + Σ w_i x_i.
# ∂/∂w_i = x_i, ∂/∂x_i = w_i, ∂/∂b = 1. One node instead of 2n, which is what makes fused networks fast.
def _linear_forward(m: Any, *operands: Any) -> Any:
    n = len(operands) // 2
    return sum(map(operator.mul, operands[:n], operands[n : 2 * n]), operands[-1])


def _linear_derivative(m: Any, out: Any, *operands: Any) -> tuple[Any, ...]:
    n = len(operands) // 2
    return (*operands[n : 2 * n], *operands[:n], 1.0)


LINEAR = Op("linear", _linear_forward, _linear_derivative, symbol="Σ w·x + b")


# ----------------------------------------------------------------------------------------------------
# 3. Value


class Value:
    """A scalar that remembers how it was computed.

    Attributes:
        data: the number (a finite float).
        grad: ∂root/∂self after ``root.backward()``; 0.0 until then.
        op: the ``Op`` that produced this Value, or ``None`` for a leaf (an input or a parameter).
        children: the op's inputs in call order: Values, or floats for constants. A Value used twice
            (``a * a``) appears twice.
        label: a name for drawings and messages ("w0", "L1.N2.b").
    """

    __slots__ = ("data", "grad", "op", "children", "label")
    # numpy scalars then defer to our reflected operators, so np.float64(2) * v is a Value.
    __array_ufunc__ = None

    data: float
    grad: float
    op: Op | None
    children: tuple[Value | float, ...]
    label: str

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise OperandTypeError(f"Value: label must be a str, got {type(label).__name__} {label!r}")
        self.data = _real(data, "Value")
        self.grad = 0.0
        self.op = None
        self.children = ()
        self.label = label

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"

    def __float__(self) -> float:
        return self.data

    # Arithmetic. A number on either side becomes a constant input of the node.
    def __add__(self, other: Value | float) -> Value:
        return _apply(ADD, (self, other if isinstance(other, Value) else _real(other, "add")))

    def __radd__(self, other: float) -> Value:
        return _apply(ADD, (other if isinstance(other, Value) else _real(other, "add"), self))

    def __sub__(self, other: Value | float) -> Value:
        return _apply(SUB, (self, other if isinstance(other, Value) else _real(other, "sub")))

    def __rsub__(self, other: float) -> Value:
        return _apply(SUB, (other if isinstance(other, Value) else _real(other, "sub"), self))

    def __mul__(self, other: Value | float) -> Value:
        return _apply(MUL, (self, other if isinstance(other, Value) else _real(other, "mul")))

    def __rmul__(self, other: float) -> Value:
        return _apply(MUL, (other if isinstance(other, Value) else _real(other, "mul"), self))

    def __truediv__(self, other: Value | float) -> Value:
        return _apply(DIV, (self, other if isinstance(other, Value) else _real(other, "div")))

    def __rtruediv__(self, other: float) -> Value:
        return _apply(DIV, (other if isinstance(other, Value) else _real(other, "div"), self))

    def __pow__(self, exponent: Value | float) -> Value:
        return _power(self, _operand(exponent, "pow"))

    def __rpow__(self, base: float) -> Value:
        return _power(_operand(base, "pow"), self)

    def __neg__(self) -> Value:
        return _apply(NEG, (self,))

    def __abs__(self) -> Value:
        return _apply(ABS, (self,))

    # Functions.
    def exp(self) -> Value:
        """e^x; derivative e^x."""
        return _apply(EXP, (self,))

    def log(self) -> Value:
        """Natural logarithm, x > 0; derivative 1/x."""
        return _apply(LOG, (self,))

    def sqrt(self) -> Value:
        """√x, x >= 0; derivative 1/(2√x), which needs x > 0."""
        return _apply(SQRT, (self,))

    def tanh(self) -> Value:
        """tanh x; derivative 1 - tanh² x."""
        return _apply(TANH, (self,))

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e^-x); derivative σ(x)(1 - σ(x))."""
        return _apply(SIGMOID, (self,))

    def relu(self) -> Value:
        """max(x, 0); derivative 1 for x > 0, else 0 (including at the kink x = 0)."""
        return _apply(RELU, (self,))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, slope·x otherwise; derivative 1 for x > 0, else slope."""
        return _apply(LEAKY_RELU, (self, _real(slope, "leaky_relu")))

    def abs(self) -> Value:
        """|x|; derivative sign(x), with abs'(0) = 0."""
        return _apply(ABS, (self,))

    def softplus(self) -> Value:
        """ln(1 + e^x); derivative σ(x)."""
        return _apply(SOFTPLUS, (self,))

    def backward(self) -> None:
        """Fill ``.grad`` of every node this Value depends on with ∂self/∂node.

        Leaves (inputs and parameters) accumulate, as in PyTorch: calling backward twice doubles their
        gradients, so zero them between training steps. Intermediate nodes are reset first, so they
        always show this call's gradient. If a derivative fails (sqrt'(0) is infinite), every ``.grad``
        is put back as it was and a typed error names the op.
        """
        order = topological_order(self)
        saved = [node.grad for node in order]
        node = self
        try:
            for node in order:
                if node.op is not None:
                    node.grad = 0.0
            self.grad += 1.0
            for node in reversed(order):
                upstream = node.grad
                op = node.op
                if op is None or upstream == 0.0:
                    continue  # a leaf, or a node that passes nothing back (a relu that was off)
                children = node.children
                if len(children) == 2:  # the common case, unrolled (same rule as the loop below)
                    a, b = children
                    a_data = a.data if isinstance(a, Value) else a
                    b_data = b.data if isinstance(b, Value) else b
                    partials = op.derivative(FloatMath, node.data, a_data, b_data)
                    if isinstance(a, Value):
                        a.grad += partials[0] * upstream  # the chain rule, one edge at a time
                    if isinstance(b, Value):
                        b.grad += partials[1] * upstream
                    continue
                if len(children) == 1:
                    (a,) = children
                    if isinstance(a, Value):
                        a.grad += op.derivative(FloatMath, node.data, a.data)[0] * upstream
                    continue
                for child, local in zip(children, _float_partials(node)):
                    if isinstance(child, Value):
                        child.grad += local * upstream
        except (ArithmeticError, ValueError) as exc:
            for restored, grad_before in zip(order, saved):
                restored.grad = grad_before
            raise _backward_error(node, exc) from None


# ----------------------------------------------------------------------------------------------------
# Applying an op


def _real(x: object, where: str) -> float:
    """x as a finite float, or a typed error naming ``where``."""
    if type(x) is float and x - x == 0.0:  # the common case first: already a finite float
        return x
    if type(x) is not float:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            got = f"{type(x).__name__} {x!r}"
            raise OperandTypeError(f"{where}: expected a real number or a Value, got {got}")
        try:
            x = float(x)
        except OverflowError:
            raise NonFiniteError(f"{where}: {x!r} is too large for a float") from None
    if not math.isfinite(x):
        raise NonFiniteError(f"{where}: got {x!r}; values must be finite")
    return x


def _operand(x: object, where: str) -> Value | float:
    return x if isinstance(x, Value) else _real(x, where)


def _apply(op: Op, operands: tuple[Value | float, ...]) -> Value:
    """Compute ``op`` on the operands' data and record the result as a new node."""
    try:
        # This runs once per node: the one- and two-operand cases read the data inline.
        if len(operands) == 2:
            a, b = operands
            out = op.forward(
                FloatMath, a.data if isinstance(a, Value) else a, b.data if isinstance(b, Value) else b
            )
        elif len(operands) == 1:
            a = operands[0]
            out = op.forward(FloatMath, a.data if isinstance(a, Value) else a)
        else:
            out = op.forward(FloatMath, *_data_of(operands))
        if type(out) is not float:
            out = float(out)  # a user's op may return an int or a numpy scalar
    except (ArithmeticError, ValueError) as exc:
        raise _operation_error(op, _data_of(operands), exc) from None
    if out - out != 0.0:  # x - x is NaN exactly when x is ±inf or NaN: a cheaper math.isfinite
        args = _data_of(operands)
        raise OperationOverflowError(
            f"{op.name}{_show(args)}: the result {out!r} is not a finite float", op.name, tuple(args)
        )
    node = _new_value(Value)
    node.data = out
    node.grad = 0.0
    node.op = op
    node.children = operands
    node.label = ""
    return node


_new_value = object.__new__  # a bare Value, its fields set by _apply: skips __init__'s checks


def _data_of(operands: tuple[Value | float, ...]) -> tuple[float, ...]:
    """The numbers inside the operands (unrolled for one and two operands: this runs once per node)."""
    if len(operands) == 2:
        a, b = operands
        return (a.data if isinstance(a, Value) else a, b.data if isinstance(b, Value) else b)
    if len(operands) == 1:
        a = operands[0]
        return (a.data if isinstance(a, Value) else a,)
    return tuple([x.data if isinstance(x, Value) else x for x in operands])


def linear(weights: Sequence[Value | float], inputs: Sequence[Value | float], bias: Value | float) -> Value:
    """b + Σ w_i x_i as a single node (a fused neuron), same value as the chain of * and + it replaces."""
    if len(weights) != len(inputs):
        raise ShapeError(f"linear: {len(weights)} weights but {len(inputs)} inputs")
    operands = [x if isinstance(x, Value) else _real(x, "linear") for x in (*weights, *inputs, bias)]
    return _apply(LINEAR, tuple(operands))


def _power(base: Value | float, exponent: Value | float) -> Value:
    """x ** k with a constant exponent is POW; a Value exponent needs VPOW (it gets a gradient too)."""
    if isinstance(exponent, Value):
        return _apply(VPOW, (base, exponent))
    return _apply(POW, (base, exponent))


def _show(args: Sequence[object]) -> str:
    return "(" + ", ".join(repr(a) for a in args) + ")"


def _operation_error(op: Op, args: Sequence[float], exc: BaseException, during: str = "") -> OperationError:
    """Turn Python's arithmetic exception into our typed error naming the op and its inputs."""
    where = f"{during}{op.name}{_show(args)}"
    needs = f"; {op.name} needs {op.domain}" if op.domain else ""
    inputs = tuple(args)
    if isinstance(exc, ZeroDivisionError):
        return OperationZeroDivisionError(f"{where}: division by zero{needs}", op.name, inputs)
    if isinstance(exc, OverflowError):
        return OperationOverflowError(f"{where}: result too large for a float{needs}", op.name, inputs)
    return DomainError(f"{where}: outside the domain{needs}", op.name, inputs)


def _backward_error(node: Value, exc: BaseException) -> OperationError:
    assert node.op is not None
    args = [x.data if isinstance(x, Value) else x for x in node.children]
    return _operation_error(node.op, args, exc, during="derivative of ")


# ----------------------------------------------------------------------------------------------------
# 4. Reverse mode


def topological_order(*roots: Value) -> list[Value]:
    """Every node the roots depend on, each after all of its inputs (iterative: no recursion limit).

    The order is deterministic: a depth-first walk that follows each node's inputs in call order; a leaf
    is listed when first met, an op node once all its inputs are listed.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    # The walk makes no reference cycles, but on a deep graph its stack of (node, iterator) pairs would
    # wake the cycle collector again and again to scan the whole graph: pause it (3x faster on a chain).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for root in roots:
            if root in visited:
                continue
            visited.add(root)
            stack = [(root, iter(root.children))]
            while stack:
                node, pending = stack[-1]
                for child in pending:
                    if isinstance(child, Value) and child not in visited:
                        visited.add(child)
                        if child.op is None:
                            order.append(child)  # a leaf has nothing to wait for
                        else:
                            stack.append((child, iter(child.children)))
                            break
                else:
                    stack.pop()
                    order.append(node)
    finally:
        if collecting:
            gc.enable()
    return order


def _float_partials(node: Value) -> Sequence[float]:
    assert node.op is not None
    return node.op.derivative(FloatMath, node.data, *_data_of(node.children))


class ValueMath:
    """The primitives of :mod:`tinygrad_w.mathlib` on Values: each builds graph nodes, so a derivative
    rule evaluated with this namespace is itself differentiable (higher-order gradients)."""

    @staticmethod
    def exp(x: Value | float) -> Value:
        return _apply(EXP, (x,))

    @staticmethod
    def log(x: Value | float) -> Value:
        return _apply(LOG, (x,))

    @staticmethod
    def log1p(x: Value | float) -> Value:
        return _apply(LOG, (_apply(ADD, (1.0, x)),))

    @staticmethod
    def tanh(x: Value | float) -> Value:
        return _apply(TANH, (x,))

    @staticmethod
    def sqrt(x: Value | float) -> Value:
        return _apply(SQRT, (x,))

    @staticmethod
    def pow(x: Value | float, k: Value | float) -> Value:
        return _power(x, k)

    @staticmethod
    def sigmoid(x: Value | float) -> Value:
        return _apply(SIGMOID, (x,))

    @staticmethod
    def relu(x: Value | float) -> Value:
        return _apply(RELU, (x,))

    # step and sign are piecewise constant: their derivative is 0 wherever it exists, so a constant will do.
    @staticmethod
    def step(x: Value | float) -> float:
        return FloatMath.step(x.data if isinstance(x, Value) else x)

    @staticmethod
    def sign(x: Value | float) -> float:
        return FloatMath.sign(x.data if isinstance(x, Value) else x)


@overload
def grad(
    outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: Literal[False] = False
) -> list[float]: ...
@overload
def grad(
    outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: Literal[True]
) -> list[Value]: ...
def grad(outputs: Value | Iterable[Value], inputs: Iterable[Value], create_graph: bool = False) -> list[Any]:
    """∂(sum of outputs)/∂input for each input, returned as a list; no ``.grad`` is touched.

    With ``create_graph=True`` the gradients are Values built from the derivative rules themselves, so
    ``grad`` of a gradient gives second (and higher) derivatives. An input the outputs do not depend on
    gets 0.
    """
    roots = [outputs] if isinstance(outputs, Value) else list(outputs)
    targets = list(inputs)
    for x in [*roots, *targets]:
        if not isinstance(x, Value):
            raise OperandTypeError(f"grad: expected Values, got {type(x).__name__} {x!r}")
    grads: dict[Value, Any] = {}
    for root in roots:
        grads[root] = grads.get(root, 0.0) + 1.0
    node = roots[0] if roots else None
    try:
        for node in reversed(topological_order(*roots)):
            upstream = grads.get(node)
            if node.op is None or upstream is None:
                continue
            if create_graph:
                partials = node.op.derivative(ValueMath, node, *node.children)
            else:
                partials = _float_partials(node)
            for child, local in zip(node.children, partials):
                if isinstance(child, Value):
                    contribution = local * upstream
                    grads[child] = grads[child] + contribution if child in grads else contribution
    except (ArithmeticError, ValueError) as exc:
        if isinstance(exc, OperationError) or node is None:
            raise
        raise _backward_error(node, exc) from None
    result = [grads.get(x, 0.0) for x in targets]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return result
