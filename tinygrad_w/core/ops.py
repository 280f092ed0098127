"""Operations: each is a forward function and its derivative, written side by side, once, with the
primitives of a namespace ``m``: FloatMath on floats (below), ValueMath on Values, ArrayMath on arrays."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal


class Op:
    """One differentiable operation, and the facts about it that the rest of the package needs.

    ``forward(m, *inputs)`` returns the output; ``derivative(m, out, *inputs)`` returns ∂out/∂input for
    each input, in order (``out`` is passed so that tanh' = 1 - tanh² can reuse it). Facts: ``domain``
    says where it is defined; ``kinks`` lists (input, point) where its derivative jumps or is undefined;
    ``linear_in``, the inputs it is linear in (x·y is linear in each, "every" for any number of inputs);
    ``activation`` marks a neuron's nonlinearity. Calling an Op applies it: ``CUBE(x)``.
    """

    def __init__(self, name: str, forward: Callable[..., Any], derivative: Callable[..., Sequence[Any]],
                 *, domain: str = "", symbol: str = "", kinks: tuple[tuple[int, float], ...] = (),
                 linear_in: tuple[int, ...] | Literal["every"] = (), activation: bool = False) -> None:  # fmt: skip
        self.name, self.forward, self.derivative, self.domain = name, forward, derivative, domain
        self.symbol, self.kinks, self.linear_in = symbol or name, kinks, linear_in
        self.activation = activation

    def __call__(self, *operands: Any) -> Any:
        from .value import apply, operand  # value.py builds on this module: import it when needed

        return apply(self, tuple([operand(x, self.name) for x in operands]))

    def __repr__(self) -> str: return f"Op({self.name!r})"  # fmt: skip


class FloatMath:
    """The primitives on floats. Bad input raises Python's own exception; apply() names the op."""

    exp, log, log1p, tanh, sqrt = math.exp, math.log, math.log1p, math.tanh, math.sqrt
    # 0 ** -1 raises ZeroDivisionError (math.pow would say ValueError); math.pow itself refuses (-8) ** 0.5.
    pow = staticmethod(lambda x, k: 1.0 / x if x == 0.0 and k < 0.0 else math.pow(x, k))
    # 1 / (1 + e^-x), written so that e^|x| is never formed (it would overflow).
    sigmoid = staticmethod(
        lambda x: 1.0 / (1.0 + math.exp(-x)) if x >= 0.0 else math.exp(x) / (1.0 + math.exp(x))
    )
    relu = staticmethod(lambda x: x if x > 0.0 else 0.0)
    step = staticmethod(lambda x: 1.0 if x > 0.0 else 0.0)  # step(0) = 0: relu'(0) = 0, as in PyTorch
    sign = staticmethod(lambda x: 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0)  # abs'(0) = 0


# The table. Each entry: the forward, then ∂/∂ each input, then the facts.
ADD = Op("add", lambda m, a, b: a + b,
         lambda m, out, a, b: (1.0, 1.0), symbol="+", linear_in=(0, 1))  # fmt: skip
SUB = Op("sub", lambda m, a, b: a - b,
         lambda m, out, a, b: (1.0, -1.0), symbol="-", linear_in=(0, 1))  # fmt: skip
MUL = Op("mul", lambda m, a, b: a * b,
         lambda m, out, a, b: (b, a), symbol="*", linear_in=(0, 1))  # fmt: skip
DIV = Op("div", lambda m, a, b: a / b,
         lambda m, out, a, b: (1.0 / b, -out / b), symbol="/", domain="b != 0", kinks=((1, 0.0),), linear_in=(0,))  # fmt: skip
NEG = Op("neg", lambda m, a: -a,
         lambda m, out, a: (-1.0,), symbol="-", linear_in=(0,))  # fmt: skip
# x ** k with a constant k (which gets no gradient), and a ** b with a Value exponent.
POW = Op("pow", lambda m, x, k: m.pow(x, k),
         lambda m, out, x, k: (k * m.pow(x, k - 1.0), 0.0), symbol="**", kinks=((0, 0.0),),
         domain="x > 0, an integer k when x < 0, and k >= 0 when x = 0")  # fmt: skip
VPOW = Op("vpow", lambda m, a, b: m.pow(a, b),
          lambda m, out, a, b: (b * m.pow(a, b - 1.0), out * m.log(a)), symbol="**", kinks=((0, 0.0),),
          domain="a > 0 for the derivative with respect to the exponent")  # fmt: skip
EXP = Op("exp", lambda m, x: m.exp(x),
         lambda m, out, x: (out,), domain="x <= 709.78 (beyond, e^x overflows)")  # fmt: skip
LOG = Op("log", lambda m, x: m.log(x),
         lambda m, out, x: (1.0 / x,), domain="x > 0", kinks=((0, 0.0),))  # fmt: skip
SQRT = Op("sqrt", lambda m, x: m.sqrt(x),
          lambda m, out, x: (0.5 / out,), domain="x >= 0, and x > 0 for its derivative", kinks=((0, 0.0),))  # fmt: skip
TANH = Op("tanh", lambda m, x: m.tanh(x),
          lambda m, out, x: (1.0 - out * out,), activation=True)  # fmt: skip
SIGMOID = Op("sigmoid", lambda m, x: m.sigmoid(x),
             lambda m, out, x: (out * (1.0 - out),), activation=True)  # fmt: skip
RELU = Op("relu", lambda m, x: m.relu(x),
          lambda m, out, x: (m.step(x),), kinks=((0, 0.0),), activation=True)  # fmt: skip
ABS = Op("abs", lambda m, x: abs(x),
         lambda m, out, x: (m.sign(x),), kinks=((0, 0.0),))  # fmt: skip
# leaky_relu(x) = x for x > 0, slope·x otherwise; the slope is a constant input.
LEAKY_RELU = Op("leaky_relu", lambda m, x, slope: m.relu(x) - slope * m.relu(-x),
                lambda m, out, x, slope: (slope + (1.0 - slope) * m.step(x), 0.0), kinks=((0, 0.0),), activation=True)  # fmt: skip
# softplus(x) = ln(1 + e^x), written as ln(1 + e^-|x|) + max(x, 0) so that e^x never overflows.
SOFTPLUS = Op("softplus", lambda m, x: m.log1p(m.exp(-abs(x))) + m.relu(x),
              lambda m, out, x: (m.sigmoid(x),), activation=True)  # fmt: skip
