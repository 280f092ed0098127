"""Chapters 7 and 8: drawing a graph as DOT text, and checking gradients with central differences."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections import Counter
from types import ModuleType
from typing import Any

from tinygrad_w.learn.loading import LearnerBug, attempt, piece
from tinygrad_w.learn.model_chapters import run_pieces
from tinygrad_w.learn.report import ChapterGrade

DOT_SECONDS = 30  # Graphviz lays out a ten-node graph in milliseconds; this only stops a hang


def sample_graph(value_class: Any) -> Any:
    """tanh(x·x + x·y) + 2 after backward: x used by two nodes and twice by one, a constant, a unary op."""
    x, y = value_class(0.5), value_class(-1.5)
    root = (x * x + x * y).tanh() + 2.0
    root.backward()
    return root


def dot_json(text: str) -> dict[str, Any]:
    """Graphviz's reading of DOT text as JSON (its nodes and edges): a LearnerBug if it cannot read it."""
    program = shutil.which("dot")
    if program is None:
        raise LearnerBug(
            "cannot check to_dot: Graphviz's dot program is not installed (apt-get install graphviz)"
        )
    done = subprocess.run(
        [program, "-Tjson"], input=text, capture_output=True, text=True, timeout=DOT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise LearnerBug(f"Graphviz cannot read to_dot's text: {done.stderr.strip()[:300]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def check_to_dot(module: ModuleType) -> None:
    to_dot, order_of, value_class = piece(module, "to_dot"), module.topological_order, module.Value
    root = sample_graph(value_class)
    text = attempt("to_dot", to_dot, root)
    if not isinstance(text, str):
        raise LearnerBug(f"to_dot must return a str, got {type(text).__name__}")
    if attempt("to_dot", to_dot, sample_graph(value_class)) != text:
        raise LearnerBug(
            "to_dot gives different text for the same graph built twice: name nodes n0, n1, ... "
            "by their place in topological_order, never by id()"
        )
    read = dot_json(text)
    order = list(order_of(root))
    nodes = [obj for obj in read.get("objects", []) if "nodes" not in obj]  # subgraphs list their nodes
    by_gvid = {obj["_gvid"]: obj for obj in nodes}
    names = {obj["name"]: obj for obj in nodes}
    expected_names = {f"n{i}" for i in range(len(order))}
    if set(names) != expected_names:
        raise LearnerBug(
            f"to_dot's nodes are {sorted(names)}; there should be one per Value, n0 to n{len(order) - 1}"
        )
    for i, node in enumerate(order):
        label = str(names[f"n{i}"].get("label", ""))
        for what, number in (("data", node.data), ("grad", node.grad)):
            if f"{float(number):.4f}" not in label:
                raise LearnerBug(f"node n{i}'s label {label!r} does not show its {what} {float(number):.4f}")
    edges = Counter((by_gvid[e["tail"]]["name"], by_gvid[e["head"]]["name"]) for e in read.get("edges", []))
    place = {id(node): i for i, node in enumerate(order)}
    right = Counter((f"n{place[id(c)]}", f"n{i}") for i, node in enumerate(order) for c in node.children)
    if edges != right:
        raise LearnerBug(
            f"to_dot draws {sum(edges.values())} edges; there should be one per use of an input, "
            f"{sum(right.values())} (x·x: two)"
        )


def chapter7(module: ModuleType, settings: object) -> ChapterGrade:
    grade = ChapterGrade(7, "drawing")
    return run_pieces(
        grade,
        [("to_dot", lambda: check_to_dot(module))],
        "to_dot: Graphviz reads it; one node per Value with its data and grad, one edge per use; the same "
        "text every time",
    )


# ----------------------------------------------------------------------------------------------------
# Chapter 8: checking gradients


def check_numeric_gradient(module: ModuleType) -> None:
    numeric_gradient = piece(module, "numeric_gradient")
    xs = [0.3, -0.7]
    slopes = attempt("numeric_gradient", numeric_gradient, lambda a, b: math.sin(a) * b + a**3, xs)
    right = [math.cos(0.3) * -0.7 + 3 * 0.3**2, math.sin(0.3)]
    if xs != [0.3, -0.7]:
        raise LearnerBug("numeric_gradient changed the list xs it was given: move copies")
    if len(slopes) != 2 or any(not math.isclose(s, r, abs_tol=1e-6) for s, r in zip(slopes, right)):
        raise LearnerBug(f"numeric_gradient of sin(a)·b + a³ at (0.3, -0.7) is {slopes}, right {right}")
    (coarse,) = attempt("numeric_gradient", numeric_gradient, math.exp, [1.0], 1e-3)
    if abs(coarse - math.e) > 1e-5:
        raise LearnerBug(
            f"numeric_gradient(exp, [1.0], eps=1e-3) is {coarse:.9f}, off e by {abs(coarse - math.e):.1e}: "
            "a central difference (f(x+ε) - f(x-ε)) / 2ε is off by about ε²/6·e = 5e-7, "
            "a one-sided one by ε/2·e = 1e-3"
        )


def check_gradcheck(module: ModuleType) -> None:
    gradcheck, rules = piece(module, "gradcheck"), piece(module, "DERIVATIVE")

    def f(a: Any, b: Any) -> Any:
        return (a * b).tanh() + a / b

    if attempt("gradcheck", gradcheck, f, [0.4, -1.3]) is not True:
        raise LearnerBug("gradcheck(f, xs) must return True when backward is right (it is, after chapter 3)")
    right = rules["tanh"]
    rules["tanh"] = lambda out, x: (1.0 - out,)  # break tanh on purpose: gradcheck must see it
    try:
        verdict = attempt("gradcheck", gradcheck, f, [0.4, -1.3])
    finally:
        rules["tanh"] = right
    if verdict is not False:
        raise LearnerBug(
            "gradcheck must return False when a derivative is wrong (tried with tanh' = 1 - tanh)"
        )


def chapter8(module: ModuleType, settings: object) -> ChapterGrade:
    grade = ChapterGrade(8, "checking gradients")
    return run_pieces(
        grade,
        [
            ("numeric_gradient", lambda: check_numeric_gradient(module)),
            ("gradcheck", lambda: check_gradcheck(module)),
        ],
        "numeric_gradient is a central difference; gradcheck passes a right engine and catches a wrong tanh'",
    )
