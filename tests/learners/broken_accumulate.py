"""A learner's engine with the classic bug of backward: each contribution overwrites the input's .grad
(=) instead of adding to it (+=), which is only wrong when a Value is used more than once."""

from pathlib import Path

exec(Path(__file__).with_name("correct.py").read_text(encoding="utf-8"), globals())


def backward(root):  # replaces the one of correct.py
    root.grad = 1.0
    for node in reversed(topological_order(root)):  # noqa: F821
        if node.op:
            for child, contribution in pullback(node, node.grad):  # noqa: F821
                child.grad = contribution  # the bug: = instead of +=
