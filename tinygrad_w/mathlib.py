"""Elementwise primitives in two flavours that share their names: Python floats and numpy arrays.

Every operation in :mod:`tinygrad_w.engine` writes its forward pass and its derivative once, in terms
of a namespace ``m`` of these primitives plus the arithmetic operators. Evaluating the same rule with

- ``m = FloatMath``  computes on Python floats (the scalar graph),
- ``m = ArrayMath``  computes on numpy arrays, one entry per sample (the batched path),
- ``m = engine.ValueMath`` builds new Values, which is how higher-order derivatives come for free.

Float primitives raise Python's own exceptions on bad input (``ValueError`` for a domain error,
``ZeroDivisionError``, ``OverflowError``); the engine turns them into typed errors naming the operation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


class FloatMath:
    """Primitives on Python floats."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    log1p = staticmethod(math.log1p)
    tanh = staticmethod(math.tanh)
    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def pow(x: float, k: float) -> float:
        """x**k on the reals: a negative base needs an integer k; 0 to a negative power divides by 0."""
        if x == 0.0 and k < 0.0:
            raise ZeroDivisionError("zero to a negative power")
        return math.pow(x, k)  # math.pow raises ValueError where the result is not real

    @staticmethod
    def sigmoid(x: float) -> float:
        """1 / (1 + e^-x), written so that e^|x| is never formed (no overflow for large |x|)."""
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0.0 else 0.0

    @staticmethod
    def step(x: float) -> float:
        """Heaviside step with step(0) = 0: the subgradient we use for relu at its kink."""
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def sign(x: float) -> float:
        """sign(0) = 0: the subgradient we use for abs at its kink."""
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


class ArrayMath:
    """The same primitives on numpy float64 arrays (elementwise, no domain checks: callers check results)."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    pow = staticmethod(np.power)

    @staticmethod
    def sigmoid(x: Array) -> Array:
        # 1 / (1 + e^-x) = exp(-log(1 + e^-x)); logaddexp(0, -x) never overflows.
        result: Array = np.exp(-np.logaddexp(0.0, -x))
        return result

    @staticmethod
    def relu(x: Array) -> Array:
        return np.maximum(x, 0.0)

    @staticmethod
    def step(x: Array) -> Array:
        return np.greater(x, 0.0).astype(np.float64)

    @staticmethod
    def sign(x: Array) -> Array:
        return np.sign(x)
