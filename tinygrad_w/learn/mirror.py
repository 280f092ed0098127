"""A learner's graph redrawn with tinygrad_w Values, next to the right numbers.

The learner's nodes have ``data``, ``grad``, ``children`` and ``op`` (an op's name), as the template
asks. :func:`mirror` copies the graph node for node into our Values (their numbers), computes every
node again with our op table from the same leaves (the right numbers), and :func:`blame` finds where the
two first part: the first value, in topological order, whose inputs are right and whose output is not
(that op's forward is wrong), or the first gradient, walking back from the output, that is wrong (it
came from the ops that use that node).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygrad_w.core import ops
from tinygrad_w.core.gradients import grad
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value, apply
from tinygrad_w.errors import TinygradError, show

OPS_BY_NAME: dict[str, ops.Op] = {op.name: op for op in vars(ops).values() if isinstance(op, ops.Op)}


def close(a: float, b: float) -> bool:
    """Agreement between two exact computations (no finite differences involved)."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@dataclass
class Mirror:
    """``theirs``: our Values in topological order holding the learner's data and gradients;
    ``right_data`` and ``right_grad``: what they should be (None where it cannot be computed)."""

    theirs: list[Value]
    right_data: list[float | None]
    right_grad: list[float | None]

    def wrong_value(self, i: int) -> bool:
        right = self.right_data[i]
        return right is not None and not close(self.theirs[i].data, right)

    def wrong_grad(self, i: int) -> bool:
        right = self.right_grad[i]
        return right is not None and not close(self.theirs[i].grad, right)

    def disagrees(self) -> bool:
        return any(self.wrong_value(i) or self.wrong_grad(i) for i in range(len(self.theirs)))


def mirror(root: Any, names: Mapping[int, str], *, gradients: bool = True) -> Mirror:
    """The learner's graph under ``root`` as our Values (leaves labelled by ``names``, keyed by id()),
    holding the learner's ``data`` and ``.grad``; ``gradients=False`` leaves gradients out of the
    comparison (before the learner has a backward)."""
    order = topological_order(root)
    index = {id(node): i for i, node in enumerate(order)}
    theirs: list[Value] = []
    for node in order:
        copy = Value(float(node.data), names.get(id(node), ""))
        if node.op:
            if node.op not in OPS_BY_NAME:
                raise TinygradError(f"mirror: op {show(node.op)} is not one of tinygrad_w's")
            copy.op = OPS_BY_NAME[node.op]
            copy.children = tuple(theirs[index[id(child)]] for child in node.children)
        copy.grad = float(node.grad)
        theirs.append(copy)
    right_data, right_grad = _right_numbers(theirs)
    return Mirror(theirs, right_data, right_grad if gradients else [None] * len(theirs))


def _right_numbers(theirs: list[Value]) -> tuple[list[float | None], list[float | None]]:
    """Every node computed again with our ops from the same leaves, and its gradient by our backward."""
    index = {node: i for i, node in enumerate(theirs)}
    right: list[Value | None] = []
    for node in theirs:
        inputs = [right[index[child]] for child in node.children if isinstance(child, Value)]
        if node.op is None:
            right.append(Value(node.data))
        elif any(x is None for x in inputs):
            right.append(None)
        else:
            try:
                right.append(apply(node.op, tuple(inputs)))  # type: ignore[arg-type]
            except TinygradError:
                right.append(None)
    data = [None if v is None else v.data for v in right]
    root = right[-1]
    if root is None:
        return data, [None] * len(right)
    known = [v for v in right if v is not None]
    try:
        gradients = dict(zip(map(id, known), grad(root, known)))
    except TinygradError:
        return data, [None] * len(right)
    return data, [None if v is None else gradients[id(v)] for v in right]


def blame(m: Mirror) -> tuple[str, str]:
    """(op name, explanation) of the first place where the learner's numbers go wrong; ("", "") if none."""
    for i, node in enumerate(m.theirs):
        if m.wrong_value(i) and node.op is not None:
            inputs = ", ".join(f"{child.data:.6g}" for child in node.children if isinstance(child, Value))
            return node.op.name, (
                f"{node.op.name}({inputs}) is {node.data:.6g} in your engine; it should be {m.right_data[i]:.6g}"
            )
    for i in reversed(range(len(m.theirs))):
        if m.wrong_grad(i):
            return _blame_gradient(m, i)
    return "", ""


def _blame_gradient(m: Mirror, i: int) -> tuple[str, str]:
    node = m.theirs[i]
    users = [
        (j, k) for j, user in enumerate(m.theirs) for k, child in enumerate(user.children) if child is node
    ]
    shown = node.label or f"{node.data:.6g}"
    said = f"the gradient of {shown} is {node.grad:.6g} in your engine; it should be {m.right_grad[i]:.6g}"
    if not users:
        return "", f"{said} (the output's own gradient is 1)"
    if len(users) > 1:
        names = sorted({op.name for j, _ in users if (op := m.theirs[j].op) is not None})
        return "/".join(names), (
            f"{said}: it is used {len(users)} times, so its gradient is the sum of what each use passes back "
            "(accumulate with +=)"
        )
    j, k = users[0]
    user = m.theirs[j]
    assert user.op is not None  # a node with children was made by an op
    upstream, local = m.right_grad[j], _local_derivative(user, k)
    because = "" if upstream is None else f" = upstream {upstream:.6g} × local ∂/∂input {local:.6g}"
    return user.op.name, f"{said}{because}, passed back by {user.op.name}"


def _local_derivative(node: Value, k: int) -> float:
    assert node.op is not None
    numbers = [float(child) for child in node.children]
    right = node.op.forward(ops.FloatMath, *numbers)
    return float(node.op.derivative(ops.FloatMath, right, *numbers)[k])


def draw(m: Mirror, path: Path) -> Path:
    """Draw the learner's graph with their numbers; a wrong one's label says what it should be."""
    from tinygrad_w import viz

    for i, node in enumerate(m.theirs):
        notes = [node.label] if node.label else []
        if m.wrong_value(i):
            notes.append(f"✗ data should be {m.right_data[i]:.4f}")
        elif m.wrong_grad(i):
            notes.append(f"✗ grad should be {m.right_grad[i]:.4f}")
        node.label = " ".join(notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    return viz.render(viz.draw_graph(m.theirs[-1], legend=False), path)
