"""Value: a scalar that remembers the operation and the inputs that made it. Each operator below is
``apply(op, operands)``: compute the op's forward and record a node; ``backward`` walks them back."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from contextlib import suppress

from . import ops
from .errors import NonFiniteError, OperandTypeError, OperationOverflowError, operation_error, show, show_call
from .ops import FloatMath
from .reverse import backpropagate, topological_order


class Value:
    """A scalar node: ``data`` (a finite float); ``grad`` (∂root/∂self after ``root.backward()``); ``op`` (the
    Op that made it; None for a leaf); ``children`` (its inputs in call order, floats for constants); ``label``."""

    __slots__ = ("children", "data", "grad", "label", "op")
    __array_ufunc__ = None  # numpy scalars defer to our reflected operators: np.float64(2) * v is a Value

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise OperandTypeError(f"Value: label must be a str, got {type(label).__name__} {show(label)}")
        self.data, self.grad, self.label = as_real(data, "Value"), 0.0, label
        self.op: ops.Op | None = None
        self.children: tuple[Value | float, ...] = ()

    # fmt: off
    def __repr__(self) -> str: return f"Value({f'label={self.label!r}, ' if self.label else ''}data={self.data!r}, grad={self.grad!r})"
    def __float__(self) -> float: return self.data
    def __bool__(self) -> bool: return self.data != 0.0  # as for a float: Value(0.0) is false
    # micrograd's names for the graph, read-only, so that code written for its graphs walks ours.
    _prev = property(lambda self: {x if isinstance(x, Value) else Value(x) for x in self.children})
    _op = property(lambda self: self.op.symbol if self.op else "")
    # A number on either side of an operator becomes a constant input of the node.
    def __add__(self, other: Value | float) -> Value: return apply(ops.ADD, (self, operand(other, "add")))
    def __radd__(self, other: float) -> Value: return apply(ops.ADD, (operand(other, "add"), self))
    def __sub__(self, other: Value | float) -> Value: return apply(ops.SUB, (self, operand(other, "sub")))
    def __rsub__(self, other: float) -> Value: return apply(ops.SUB, (operand(other, "sub"), self))
    def __mul__(self, other: Value | float) -> Value: return apply(ops.MUL, (self, operand(other, "mul")))
    def __rmul__(self, other: float) -> Value: return apply(ops.MUL, (operand(other, "mul"), self))
    def __truediv__(self, other: Value | float) -> Value: return apply(ops.DIV, (self, operand(other, "div")))
    def __rtruediv__(self, other: float) -> Value: return apply(ops.DIV, (operand(other, "div"), self))
    def __pow__(self, exponent: Value | float) -> Value: return power(self, operand(exponent, "pow"))
    def __rpow__(self, base: float) -> Value: return power(operand(base, "pow"), self)
    def __neg__(self) -> Value: return apply(ops.NEG, (self,))
    def __abs__(self) -> Value: return apply(ops.ABS, (self,))
    def abs(self) -> Value: return apply(ops.ABS, (self,))
    def exp(self) -> Value: return apply(ops.EXP, (self,))
    def log(self) -> Value: return apply(ops.LOG, (self,))
    def sqrt(self) -> Value: return apply(ops.SQRT, (self,))
    def tanh(self) -> Value: return apply(ops.TANH, (self,))
    def sigmoid(self) -> Value: return apply(ops.SIGMOID, (self,))
    def relu(self) -> Value: return apply(ops.RELU, (self,))
    def softplus(self) -> Value: return apply(ops.SOFTPLUS, (self,))
    def leaky_relu(self, slope: float = 0.01) -> Value: return apply(ops.LEAKY_RELU, (self, as_real(slope, "leaky_relu")))
    # fmt: on

    def backward(self) -> None:
        """Set every ``.grad`` below this Value to ∂self/∂node; leaves (inputs, parameters) accumulate, as
        in PyTorch: zero them between steps. Nothing is written until every gradient is known and finite:
        on an error every ``.grad`` stays as it was and a typed error names the op."""
        order = topological_order(self)
        for check in backward_checks: check(order)  # opt-in checks, such as detect_anomaly()  # fmt: skip
        grads = backpropagate(order, {self: 1.0}, float_pullback)
        check_finite(order, grads)
        for node in order:  # intermediates show this call's gradient; leaves accumulate
            node.grad = grads.get(node, 0.0) + (node.grad if node.op is None else 0.0)


backward_checks: list[Callable[[list[Value]], None]] = []


def as_real(x: object, where: str) -> float:
    """``x`` as a finite float, or a typed error naming ``where`` and ``x``."""
    if type(x) is float and math.isfinite(x):
        return x  # speed: a float skips the slow numbers.Real check (1.5x faster x * 2.0)
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise OperandTypeError(f"{where}: expected a real number, got {type(x).__name__} {show(x)}")
    try:
        number = float(x)
    except OverflowError:
        raise NonFiniteError(f"{where}: {show(x)} is too large for a float") from None
    if not math.isfinite(number):
        raise NonFiniteError(f"{where}: got {number!r}; numbers must be finite")
    return number


def operand(x: object, where: str) -> Value | float:  # a Value, or a number as a finite float constant
    return x if type(x) is Value else as_real(x, where)


def numbers_in(operands: tuple[Value | float, ...]) -> list[float]:  # each Value's data, each constant
    return [x if type(x) is float else x.data for x in operands]  # type: ignore[union-attr]


def apply(op: ops.Op, operands: tuple[Value | float, ...]) -> Value:
    """Compute ``op`` on the operands (Values, or finite floats for constants); record a new node."""
    try:
        if len(operands) == 2:  # speed: two inputs, then one, read inline (1.2x faster a * b)
            a, b = operands
            out = op.forward(
                FloatMath, a.data if isinstance(a, Value) else a, b.data if isinstance(b, Value) else b
            )
        elif len(operands) == 1:
            out = op.forward(FloatMath, a.data if isinstance(a := operands[0], Value) else a)
        else:
            out = op.forward(FloatMath, *numbers_in(operands))
        out = out if type(out) is float else float(out)  # a user's op may return an int
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise operation_error(op, numbers_in(operands), exc) from None
    if not math.isfinite(out):
        raise operation_error(op, numbers_in(operands), OverflowError())
    node = object.__new__(Value)  # speed: skips __init__'s checks, out is a finite float (1.3x faster a * b)
    node.data = out
    node.grad = 0.0
    node.op = op
    node.children = operands
    node.label = ""
    return node


def power(base: Value | float, exponent: Value | float) -> Value:  # a Value exponent gets a gradient: VPOW
    return apply(ops.VPOW if isinstance(exponent, Value) else ops.POW, (base, exponent))


def float_pullback(node: Value, upstream: float) -> Iterable[tuple[Value | float, float]]:
    """The chain rule at one node, on floats: each input gets upstream · ∂node/∂input."""
    op, children = node.op, node.children
    if op is None or upstream == 0.0:
        return ()  # a leaf, or a node that passes nothing back (a relu that was off)
    try:
        if len(children) == 2:  # speed: one or two inputs read inline, as in apply (1.5x faster backward)
            a, b = children
            a_data, b_data = a.data if isinstance(a, Value) else a, b.data if isinstance(b, Value) else b
            da, db = op.derivative(FloatMath, node.data, a_data, b_data)
            return ((a, da * upstream), (b, db * upstream))
        if len(children) == 1:
            (da,) = op.derivative(FloatMath, node.data, a.data if isinstance(a := children[0], Value) else a)
            return ((a, da * upstream),)
        partials = op.derivative(FloatMath, node.data, *numbers_in(children))
        if len(partials) != len(children):
            raise TypeError(f"{len(partials)} partial derivatives for {len(children)} inputs")
        return zip(children, [d * upstream for d in partials])
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise operation_error(op, numbers_in(children), exc, "derivative of ") from None


def check_finite(order: list[Value], grads: dict[Value, float]) -> None:
    """A typed error naming the first node, from the output down, whose gradient is not a finite float."""
    with suppress(TypeError, ValueError):  # a .data set to a complex or an array makes the sum fail
        if math.isfinite(sum(grads.values())):
            return  # the usual case, in one pass in C: a NaN or an infinity would make the sum one too
    for bad in reversed(order):
        if not (isinstance(g := grads.get(bad, 0.0), float) and math.isfinite(g)):
            user = next(node for node in reversed(order) if any(x is bad for x in node.children))
            name, args = user.op.name if user.op else "", numbers_in(user.children)
            why = f"∂/∂{show(bad)} is {show(g)}, from the derivative of {show_call(name, args)}"
            raise OperationOverflowError(f"backward: {why}", name, tuple(args))
