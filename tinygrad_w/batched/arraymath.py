"""The primitives of the op table on numpy float64 arrays, one entry per sample.

Every op in tinygrad_w.core.ops writes its forward and its derivative once, with a namespace ``m`` of
primitives; evaluated with ``m = ArrayMath`` the same rules compute a whole batch at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


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
