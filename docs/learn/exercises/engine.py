"""Your own engine, written chapter by chapter while you read docs/learn.

Copy this file to a place of your own, then after each chapter replace the todo(...) calls of its
section and grade what you have:

    cp docs/learn/exercises/engine.py my_engine.py
    tinygrad-w learn check my_engine.py

The grader takes the chapters in order and stops at the first one that is not finished. When something
is wrong it names the op or the function, the smallest expression that shows it, and draws that
expression with your numbers. Leave the given code (everything that is not a todo) as it is: the
grader uses its names.
"""

from __future__ import annotations

import math  # noqa: F401 (for your forward rules)
import random
from typing import Any


def todo(what: str) -> Any:
    """A piece still to write: the grader reports it as "not written yet"."""
    raise NotImplementedError(what)


class Value:
    """A number that remembers the op and the inputs that made it."""

    def __init__(self, data: float, children: tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self.children = children  # the op's inputs, in call order (a * a lists a twice)
        self.op = op  # the op's name, a key of FORWARD; "" for a leaf

    def __repr__(self) -> str:
        return f"Value({self.data!r}, grad={self.grad!r})"

    def __float__(self) -> float:
        return self.data

    # Each operator is one call of apply() (chapter 1). A number on either side becomes a leaf Value.
    def __add__(self, other: Value | float) -> Value:
        return apply("add", self, other)

    def __radd__(self, other: float) -> Value:
        return apply("add", other, self)

    def __sub__(self, other: Value | float) -> Value:
        return apply("sub", self, other)

    def __rsub__(self, other: float) -> Value:
        return apply("sub", other, self)

    def __mul__(self, other: Value | float) -> Value:
        return apply("mul", self, other)

    def __rmul__(self, other: float) -> Value:
        return apply("mul", other, self)

    def __truediv__(self, other: Value | float) -> Value:
        return apply("div", self, other)

    def __rtruediv__(self, other: float) -> Value:
        return apply("div", other, self)

    def __neg__(self) -> Value:
        return apply("neg", self)

    def __pow__(self, k: float) -> Value:
        if isinstance(k, Value):
            raise TypeError("x ** k: the exponent must be a number in this engine")
        return apply("pow", self, k)

    def exp(self) -> Value:
        return apply("exp", self)

    def log(self) -> Value:
        return apply("log", self)

    def tanh(self) -> Value:
        return apply("tanh", self)

    def sigmoid(self) -> Value:
        return apply("sigmoid", self)

    def relu(self) -> Value:
        return apply("relu", self)

    def backward(self) -> None:
        backward(self)


# ----------------------------------------------------------------------------------------------------
# Chapter 1: a Value and its graph
#
# FORWARD[name](*numbers) is the op on plain floats. "add" is done as an example. pow's k is a number.

FORWARD = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: todo("sub's forward: a - b"),
    "mul": lambda a, b: todo("mul's forward"),
    "div": lambda a, b: todo("div's forward"),
    "neg": lambda a: todo("neg's forward"),
    "pow": lambda x, k: todo("pow's forward: x to the power k"),
    "exp": lambda x: todo("exp's forward (use the math module)"),
    "log": lambda x: todo("log's forward: the natural logarithm"),
    "tanh": lambda x: todo("tanh's forward"),
    "sigmoid": lambda x: todo("sigmoid's forward: 1 / (1 + e^-x)"),
    "relu": lambda x: todo("relu's forward: x if x > 0, else 0"),
}


def lift(x: Value | float) -> Value:
    """A Value as it is; a number as a leaf Value (a constant)."""
    return x if isinstance(x, Value) else Value(x)


def apply(op: str, *inputs: Value | float) -> Value:
    """The Value op(*inputs): lift the inputs to Values, compute FORWARD[op] on their data, and return a
    new Value whose children are those Values (in call order) and whose op is ``op``."""
    return todo("apply")


# ----------------------------------------------------------------------------------------------------
# Chapter 2: the op table and the chain rule
#
# DERIVATIVE[name](out, *inputs) is the tuple of local derivatives ∂out/∂input, one per input, where out
# is the op's result. Write each with + - * / ** and the inputs (not math.*): in chapter 4 the same rules
# run on Values. For relu, compare float(x). pow's exponent k is a constant: use float(k), and give it
# the derivative 0.0.

DERIVATIVE = {
    "add": lambda out, a, b: (1.0, 1.0),
    "sub": lambda out, a, b: todo("sub's derivatives"),
    "mul": lambda out, a, b: todo("mul's derivatives"),
    "div": lambda out, a, b: todo("div's derivatives"),
    "neg": lambda out, a: todo("neg's derivative"),
    "pow": lambda out, x, k: todo("pow's derivatives"),
    "exp": lambda out, x: todo("exp's derivative"),
    "log": lambda out, x: todo("log's derivative"),
    "tanh": lambda out, x: todo("tanh's derivative (out is tanh(x))"),
    "sigmoid": lambda out, x: todo("sigmoid's derivative (out is sigmoid(x))"),
    "relu": lambda out, x: todo("relu's derivative (0 at x = 0)"),
}


def pullback(node: Value, upstream: float) -> list[tuple[Value, float]]:
    """The chain rule at one node: for each input of ``node``, the pair (input, upstream · ∂node/∂input),
    the derivatives from DERIVATIVE at the node's numbers (node.data and its inputs' data)."""
    return todo("pullback")


# ----------------------------------------------------------------------------------------------------
# Chapter 3: topological order and backward


def topological_order(root: Value) -> list[Value]:
    """Every Value that ``root`` depends on (root included), each once, each after all of its inputs.
    Follow the inputs in call order, and walk with a list as a stack rather than with recursion: a chain
    of 5,000 ops must work."""
    return todo("topological_order")


def backward(root: Value) -> None:
    """Set root.grad to 1, then visit topological_order(root) from the root back to the leaves, adding
    each pullback contribution to its input's .grad (add: a Value used twice gets two contributions)."""
    todo("backward")


# ----------------------------------------------------------------------------------------------------
# Chapter 4: gradients of gradients


def grad(output: Value, inputs: list[Value]) -> list[Value]:
    """∂output/∂x for each x in ``inputs``, as Values (Value(0.0) where output does not depend on x).

    The walk of backward, but the gradients live in a dict instead of .grad (touch no .grad), they are
    added up with Value arithmetic, and each rule is evaluated on the Values themselves,
    DERIVATIVE[node.op](node, *node.children): so the result is a graph, and
    grad(grad(f, [x])[0], [x])[0] is the second derivative."""
    return todo("grad")


# ----------------------------------------------------------------------------------------------------
# Chapter 5: neurons and MLPs

ACTIVATIONS = {
    "linear": lambda v: v,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "sigmoid": Value.sigmoid,
}


class Neuron:
    """activation(b + Σ_i w_i·x_i), weights drawn from U[-1, 1], bias 0."""

    def __init__(self, nin: int, activation: str = "tanh", rng: random.Random | None = None) -> None:
        rng = rng or random.Random(0)
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, xs: list[Value | float]) -> Value:
        """ACTIVATIONS[self.activation] of b + Σ_i w_i·x_i, as a Value."""
        return todo("Neuron.__call__")

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return todo("Neuron.parameters")


class Layer:
    """``nout`` neurons, each fed by the same ``nin`` inputs."""

    def __init__(
        self, nin: int, nout: int, activation: str = "tanh", rng: random.Random | None = None
    ) -> None:
        rng = rng or random.Random(0)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, xs: list[Value | float]) -> list[Value]:
        """Each neuron's output, in order."""
        return todo("Layer.__call__")

    def parameters(self) -> list[Value]:
        """Each neuron's parameters, neuron by neuron."""
        return todo("Layer.parameters")


class MLP:
    """Layers of sizes ``nouts`` fed by ``nin`` inputs: tanh on the hidden layers, linear at the end."""

    def __init__(self, nin: int, nouts: list[int], seed: int = 0) -> None:
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], "linear" if i == last else "tanh", rng) for i in range(len(nouts))
        ]

    def __call__(self, xs: list[Value | float]) -> Value | list[Value]:
        """Each layer's outputs feed the next; a single Value when the last layer has one neuron."""
        return todo("MLP.__call__")

    def parameters(self) -> list[Value]:
        """Each layer's parameters, layer by layer."""
        return todo("MLP.parameters")


# ----------------------------------------------------------------------------------------------------
# Chapter 6: training


def mse(predictions: list[Value], targets: list[float]) -> Value:
    """The mean of (prediction - target)², a Value."""
    return todo("mse")


def zero_grad(params: list[Value]) -> None:
    """Set every parameter's .grad to 0."""
    todo("zero_grad")


def sgd_step(params: list[Value], lr: float) -> None:
    """One step of gradient descent: p.data -= lr · p.grad for every parameter."""
    todo("sgd_step")


def train(model: MLP, xs: list[list[float]], ys: list[float], steps: int, lr: float) -> list[float]:
    """``steps`` steps of full-batch gradient descent on mse([model(x) for x in xs], ys); returns each
    step's loss (computed before that step's update)."""
    return todo("train")


# ----------------------------------------------------------------------------------------------------
# Chapter 7: drawing


def to_dot(root: Value) -> str:
    """Graphviz DOT text of the graph: a ``digraph`` with one node per Value of topological_order(root),
    named n0, n1, ... by its place in that order (never by id(): the same graph must give the same
    text), labelled with its data and grad to 4 decimals (``f"{v.data:.4f}"``), and one edge from each
    input to the Value it feeds (x * x: two edges)."""
    return todo("to_dot")


# ----------------------------------------------------------------------------------------------------
# Chapter 8: checking gradients


def numeric_gradient(f: Any, xs: list[float], eps: float = 1e-6) -> list[float]:
    """Central differences: for each i, (f(..., x_i + eps, ...) - f(..., x_i - eps, ...)) / (2·eps).
    ``f`` takes and returns plain floats; ``xs`` is not changed."""
    return todo("numeric_gradient")


def gradcheck(f: Any, xs: list[float], atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Whether backward's gradients of ``f`` (a function of Values) at ``xs`` agree with
    numeric_gradient, each within atol + rtol·|numeric|."""
    return todo("gradcheck")
