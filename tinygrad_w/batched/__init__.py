"""The batched path: trace a per-sample loss once as a Value graph, then replay it on whole batches
with numpy (compiler.py), using the op table's own rules on arrays (arraymath.py)."""

from tinygrad_w.batched.arraymath import ArrayMath
from tinygrad_w.batched.compiler import BatchedLoss, compile

__all__ = ["ArrayMath", "BatchedLoss", "compile"]
