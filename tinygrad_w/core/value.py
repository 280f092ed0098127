"""Value: a scalar that remembers the operation and the inputs that made it. Each operator below is
``apply(op, operands)``: compute the op's forward and record a node; ``backward`` walks them back."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from . import ops
from .errors import NonFiniteError, OperandTypeError, OperationOverflowError, operation_error, show, show_call
from .reverse import backpropagate, topological_order


class Value:
    """A scalar node: ``data`` (a finite float); ``grad``, ∂root/∂self after ``root.backward()``; ``op``,
    the Op that made it (None for a leaf: an input or a parameter); ``children``, the op's inputs in call
    order (Values, or floats for constants; ``a * a`` lists ``a`` twice); ``label``, a name for drawings."""

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
        grads = backpropagate(order, {self: 1.0}, float_pullback)
        check_finite(order, grads)
        for node in order:
            node.grad = grads.get(node, 0.0) + (node.grad if node.op is None else 0.0)


def as_real(x: object, where: str) -> float:
    """``x`` as a finite float, or a typed error naming ``where`` and ``x``."""
    if type(x) is float and math.isfinite(x):
        return x  # speed: floats skip the slow numbers.Real check (1.3x faster apply)
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise OperandTypeError(
            f"{where}: expected a real number or a Value, got {type(x).__name__} {show(x)}"
        )
    try:
        number = float(x)
    except OverflowError:
        raise NonFiniteError(f"{where}: {show(x)} is too large for a float") from None
    if not math.isfinite(number):
        raise NonFiniteError(f"{where}: got {number!r}; numbers must be finite")
    return number


def operand(x: object, where: str) -> Value | float:
    """A Value as it is; a number as a finite float (a constant input); else a typed error."""
    return x if type(x) is Value else as_real(x, where)


def numbers_in(operands: tuple[Value | float, ...]) -> list[float]:
    if len(operands) == 2:  # speed: two inputs unrolled (1.6x faster apply and backward than the loop)
        a, b = operands
        return [a if type(a) is float else a.data, b if type(b) is float else b.data]  # type: ignore[union-attr]
    return [x if type(x) is float else x.data for x in operands]  # type: ignore[union-attr]


def apply(op: ops.Op, operands: tuple[Value | float, ...]) -> Value:
    """Compute ``op`` on the operands (Values, or finite floats for constants); record a new node."""
    args = numbers_in(operands)
    try:
        out = op.forward(ops.FloatMath, *args)
        out = out if type(out) is float else float(out)  # a user's op may return an int
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise operation_error(op, args, exc) from None
    if not math.isfinite(out):
        raise operation_error(op, args, OverflowError())
    node = new_value(Value)  # speed: skips __init__'s checks, out is a finite float (1.2x faster apply)
    node.data, node.grad, node.op, node.children, node.label = out, 0.0, op, operands, ""
    return node


new_value = object.__new__


def power(base: Value | float, exponent: Value | float) -> Value:
    """x ** k with a constant k is POW; a Value exponent needs VPOW, which gives it a gradient too."""
    return apply(ops.VPOW if isinstance(exponent, Value) else ops.POW, (base, exponent))


def float_pullback(node: Value, upstream: float) -> Iterable[tuple[Value | float, float]]:
    """The chain rule at one node, on floats: each input gets upstream · ∂node/∂input."""
    if node.op is None or upstream == 0.0:
        return ()  # a leaf, or a node that passes nothing back (a relu that was off)
    args = numbers_in(node.children)
    try:
        return zip(node.children, [d * upstream for d in node.op.derivative(ops.FloatMath, node.data, *args)])
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise operation_error(node.op, args, exc, "derivative of ") from None


def check_finite(order: list[Value], grads: dict[Value, float]) -> None:
    """A typed error naming the first node, from the output down, whose gradient is not finite."""
    if math.isfinite(sum(grads.values())):
        return  # the usual case, in one pass in C: a NaN or an infinity would make the sum one too
    bad = next((node for node in reversed(order) if not math.isfinite(grads.get(node, 0.0))), None)
    if bad is not None:  # None: only the sum overflowed
        user = next(node for node in reversed(order) if any(x is bad for x in node.children))
        name, args = user.op.name if user.op else "", tuple(float(x) for x in user.children)
        message = f"backward: ∂/∂{bad!r} is {grads[bad]!r}, from the derivative of {show_call(name, args)}"
        raise OperationOverflowError(message, name, args)
