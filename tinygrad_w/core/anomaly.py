"""Anomaly mode: catch a graph whose numbers were changed after it was built.

``backward`` trusts that every node's inputs still hold the numbers the node was computed from. Change
one in between (``a = Value(2.0); y = a * a; a.data = 10.0; y.backward()``) and the gradients are
silently those of another function (here a.grad = 20, not 4). Inside ``with detect_anomaly():`` every
``backward`` and ``grad`` first computes each node again from its inputs' current numbers and raises
GraphChangedError naming the first node that disagrees. It costs one forward pass per backward.
An input changed to a number that gives the same result (x to -x under abs) is not caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import GraphChangedError, show_call
from .ops import FloatMath
from .value import Value, backward_checks, numbers_in


def check_unchanged(order: list[Value]) -> None:
    """Raise GraphChangedError for the first node whose forward, on its inputs now, differs from its data."""
    for node in order:
        if node.op is not None:
            now = float(node.op.forward(FloatMath, *numbers_in(node.children)))
            if now != node.data:
                inputs = show_call(node.op.name, numbers_in(node.children))
                raise GraphChangedError(
                    f"backward: {node!r} was computed as {node.data!r}, but {inputs} is now {now!r}: "
                    "an input was changed after the graph was built"
                )


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Within this block, backward and grad check that no input changed since the graph was built."""
    backward_checks.append(check_unchanged)
    try:
        yield
    finally:
        backward_checks.remove(check_unchanged)
