"""Code written for micrograd runs on tinygrad_w with only the import switched, and gives the same numbers.

The cells below are our own code, written the way micrograd's demo notebook (train an MLP on the moons
with a hinge loss and SGD) and trace_graph notebook (walk ``_prev`` and ``_op`` to draw the graph) are
written. Each cell is a piece of source text with its import lines left open; it runs once with
tinygrad_w's imports and, when micrograd 0.1.0 is installed (``pip install micrograd==0.1.0``, part of
the ``bench`` extra), once with micrograd's, and the two runs must print the same numbers. Without
micrograd the comparisons skip, and the checks that need only tinygrad_w still run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import random
import re
from typing import Any

import numpy as np
import pytest

from tinygrad_w import Value
from tinygrad_w.train import data

HAVE_MICROGRAD = importlib.util.find_spec("micrograd") is not None
needs_micrograd = pytest.mark.skipif(not HAVE_MICROGRAD, reason="micrograd 0.1.0 is not installed")

IMPORTS = {
    "tinygrad_w": "from tinygrad_w import Value\nfrom tinygrad_w import nn\nfrom tinygrad_w.nn import MLP\n",
    "micrograd": "from micrograd.engine import Value\nfrom micrograd import nn\nfrom micrograd.nn import MLP\n",
}
ENGINES = ["tinygrad_w", pytest.param("micrograd", marks=needs_micrograd)]


def run_cell(cell: str, engine: str, **given: Any) -> tuple[str, dict[str, Any]]:
    """Run a cell after ``engine``'s imports, with ``given`` as global names; return what it printed and
    its namespace."""
    namespace: dict[str, Any] = {"__name__": f"cell_{engine}", **given}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(IMPORTS[engine] + cell, namespace)  # our own test code, fixed text
    return printed.getvalue(), namespace


# ----------------------------------------------------------------------------------------------------
# The demo notebook: an MLP on the moons, hinge loss, L2 penalty, SGD with a decaying step.

TRAINING_CELL = """
import random
import numpy as np

np.random.seed(1337)
random.seed(1337)

model = MLP(2, [16, 16, 1])
print("number of parameters", len(model.parameters()))
first_weights = [p.data for p in model.parameters()]

def loss(batch_size=None):
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

for k in range(steps):
    total_loss, acc = loss(batch_size)
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
"""


def moons_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's X (n x 2 floats) and y (n ints, -1 or +1) as numpy arrays, as make_moons gives."""
    points, labels = data.moons(n, noise=0.1, seed=1337)
    return np.array(points), np.array(labels)


def train_like_the_notebook(
    engine: str, samples: int, steps: int, batch_size: int | None
) -> tuple[str, dict[str, Any]]:
    X, y = moons_arrays(samples)
    return run_cell(TRAINING_CELL, engine, X=X, y=y, steps=steps, batch_size=batch_size)


STEP_LINE = re.compile(r"step (\d+) loss ([-+.e\d]+), accuracy ([.\d]+)%")


def step_numbers(printed: str) -> list[tuple[int, float, float]]:
    return [(int(k), float(loss), float(acc)) for k, loss, acc in STEP_LINE.findall(printed)]


def test_the_demo_notebook_trains_on_tinygrad_w() -> None:
    printed, namespace = train_like_the_notebook("tinygrad_w", samples=40, steps=15, batch_size=None)
    assert "number of parameters 337" in printed
    steps = step_numbers(printed)
    assert [k for k, _, _ in steps] == list(range(15))
    assert steps[-1][1] < 0.6 * steps[0][1]  # the loss went down
    assert steps[-1][2] >= 80.0  # and the accuracy up, in percent as the notebook prints it
    assert all(isinstance(p, Value) for p in namespace["model"].parameters())


@needs_micrograd
@pytest.mark.parametrize("batch_size", [None, 8])
def test_the_demo_notebook_prints_the_same_numbers_as_micrograd(batch_size: int | None) -> None:
    # small, because micrograd is slow: 20 samples, 6 steps
    ours, our_cell = train_like_the_notebook("tinygrad_w", samples=20, steps=6, batch_size=batch_size)
    theirs, their_cell = train_like_the_notebook("micrograd", samples=20, steps=6, batch_size=batch_size)
    # random.seed(1337) then MLP(2, [16, 16, 1]): the very same starting weights, bit for bit
    assert our_cell["first_weights"] == their_cell["first_weights"]
    assert ours.splitlines()[0] == theirs.splitlines()[0] == "number of parameters 337"
    our_steps, their_steps = step_numbers(ours), step_numbers(theirs)
    assert len(our_steps) == len(their_steps) == 6
    for (k, our_loss, our_acc), (_, their_loss, their_acc) in zip(our_steps, their_steps):
        assert our_acc == their_acc, f"step {k}"
        # A parameter's gradient is a sum over samples; the engines add its terms in different orders
        # (micrograd's order follows set iteration), so the last bits may differ.
        assert math.isclose(our_loss, their_loss, rel_tol=1e-12), f"step {k}: {our_loss} vs {their_loss}"
    our_final = [p.data for p in our_cell["model"].parameters()]
    their_final = [p.data for p in their_cell["model"].parameters()]
    np.testing.assert_allclose(our_final, their_final, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------------------
# Expressions in micrograd's style: operators, numbers on either side, relu, powers; value and gradient.

EXPRESSION_CELL = """
a = Value(-3.0)
b = Value(2.5)
c = a * b + b ** 2
c = c + (c * 3 + 1).relu()
d = (a + b).relu() + 2 * a * b + (b - a).relu() * 0.5
e = (c - d) ** 2
f = e / 4.0 + 7.0 / (d * d + 1)
g = -f + (a * a * a).relu() - b
g.backward()
print(f"g {g.data!r} a.grad {a.grad!r} b.grad {b.grad!r}")
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_expressions_give_the_values_and_gradients_worked_out_by_hand(engine: str) -> None:
    _, cell = run_cell(EXPRESSION_CELL, engine)
    a, b = -3.0, 2.5  # the same expression on floats, differentiated by central differences
    assert cell["g"].data == pytest.approx(expression_on_floats(a, b), rel=1e-12)
    h = 1e-6
    da = (expression_on_floats(a + h, b) - expression_on_floats(a - h, b)) / (2 * h)
    db = (expression_on_floats(a, b + h) - expression_on_floats(a, b - h)) / (2 * h)
    assert cell["a"].grad == pytest.approx(da, rel=1e-6)
    assert cell["b"].grad == pytest.approx(db, rel=1e-6)


def expression_on_floats(a: float, b: float) -> float:
    def relu(x: float) -> float:
        return max(x, 0.0)

    c = a * b + b**2
    c = c + relu(c * 3 + 1)
    d = relu(a + b) + 2 * a * b + relu(b - a) * 0.5
    e = (c - d) ** 2
    f = e / 4.0 + 7.0 / (d * d + 1)
    return -f + relu(a * a * a) - b


@needs_micrograd
def test_expressions_print_the_same_numbers_as_micrograd() -> None:
    ours = run_cell(EXPRESSION_CELL, "tinygrad_w")[1]
    theirs = run_cell(EXPRESSION_CELL, "micrograd")[1]
    # micrograd divides by multiplying with x ** -1: the last bit may differ, nothing more
    for name in ("g", "a", "b"):
        assert ours[name].data == pytest.approx(theirs[name].data, rel=1e-14)
    assert ours["a"].grad == pytest.approx(theirs["a"].grad, rel=1e-13)
    assert ours["b"].grad == pytest.approx(theirs["b"].grad, rel=1e-13)


# ----------------------------------------------------------------------------------------------------
# The trace_graph notebook: walk _prev and _op from the output, draw nodes and edges with graphviz.

TRACE_CELL = """
from graphviz import Digraph

def trace(root):
    nodes, edges = set(), set()
    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges

def draw_dot(root, format="svg", rankdir="LR"):
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in nodes:
        dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape="record")
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot

x = Value(1.0)
y = (x * 2 + 1).relu()
y.backward()
small = draw_dot(y)

random.seed(1337)
n = nn.Neuron(2)
inputs = [Value(1.0), Value(-2.0)]
out = n(inputs)
out.backward()
neuron = draw_dot(out)
"""

# micrograd's names for the ops where ours differ (ours: the Op's symbol)
OP_NAMES = {"ReLU": "relu"}


def graph_shape(root: Any, leaves: list[Any]) -> tuple[list[Any], list[Any]]:
    """The nodes and edges that micrograd's trace finds, each node described by its op, its data and,
    for an op node or one of ``leaves`` (the Values the cell made), its gradient; a constant's gradient
    is left out (micrograd computes one, tinygrad_w does not differentiate constants)."""
    nodes: dict[int, Any] = {}

    def describe(v: Any) -> Any:
        if id(v) not in nodes:
            known = v._op or any(v is leaf for leaf in leaves)
            grad = float(v.grad) if known else None  # micrograd keeps ints where it was given ints
            nodes[id(v)] = (OP_NAMES.get(v._op, v._op), float(v.data), grad)
        return nodes[id(v)]

    edges, stack, seen = [], [root], set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        for child in v._prev:
            edges.append((describe(child), describe(v)))
            stack.append(child)
    describe(root)
    return sorted(nodes.values(), key=repr), sorted(edges, key=repr)


def dot_counts(dot: Any) -> tuple[int, int]:
    """How many nodes and edges a drawing has (from its DOT source)."""
    lines = dot.source.splitlines()
    return sum("[label=" in line for line in lines), sum("->" in line for line in lines)


def test_the_trace_notebook_draws_our_graph_node_for_node() -> None:
    _, cell = run_cell(TRACE_CELL, "tinygrad_w", random=random)
    nodes, edges = graph_shape(cell["y"], [cell["x"]])
    # y = relu(x * 2 + 1) at x = 1: x and the constants 2 and 1 are leaves; dy/dx = 2
    assert nodes == sorted(
        [
            ("", 1.0, 2.0),
            ("", 2.0, None),
            ("*", 2.0, 1.0),
            ("", 1.0, None),
            ("+", 3.0, 1.0),
            ("relu", 3.0, 1.0),
        ],
        key=repr,
    )
    assert edges == sorted(
        [
            (("", 1.0, 2.0), ("*", 2.0, 1.0)),
            (("", 2.0, None), ("*", 2.0, 1.0)),
            (("*", 2.0, 1.0), ("+", 3.0, 1.0)),
            (("", 1.0, None), ("+", 3.0, 1.0)),
            (("+", 3.0, 1.0), ("relu", 3.0, 1.0)),
        ],
        key=repr,
    )
    assert dot_counts(cell["small"]) == (6 + 3, 5 + 3)  # a record per Value, a node per op; edges likewise
    with pytest.raises(AttributeError):
        cell["y"]._prev = set()  # read-only, like the rest of the graph's structure


def test_prev_is_the_set_of_inputs_and_op_the_symbol() -> None:
    a = Value(3.0)
    square = a * a
    assert square._prev == {a} and square._op == "*"  # a set: a Value used twice is there once
    assert a._prev == set() and a._op == ""
    shifted = a + 1.5
    constant = next(v for v in shifted._prev if v is not a)
    assert isinstance(constant, Value) and constant.data == 1.5 and constant._prev == set()
    assert constant._op == ""


@needs_micrograd
def test_the_trace_notebook_draws_the_same_nodes_and_edges_as_micrograd() -> None:
    _, ours = run_cell(TRACE_CELL, "tinygrad_w", random=random)
    _, theirs = run_cell(TRACE_CELL, "micrograd", random=random)
    for root, leaves in (("y", lambda c: [c["x"]]), ("out", lambda c: [*c["inputs"], *c["n"].parameters()])):
        assert graph_shape(ours[root], leaves(ours)) == graph_shape(theirs[root], leaves(theirs)), root
    for drawing in ("small", "neuron"):
        assert dot_counts(ours[drawing]) == dot_counts(theirs[drawing]), drawing
