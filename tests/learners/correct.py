"""A learner's engine with every exercise of docs/learn/exercises/engine.py done right (the grader's
tests grade it and three broken copies). The given code is the template's, word for word."""

from __future__ import annotations

import math
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

FORWARD = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda x, k: x**k,
    "exp": lambda x: math.exp(x),
    "log": lambda x: math.log(x),
    "tanh": lambda x: math.tanh(x),
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
    "relu": lambda x: x if x > 0 else 0.0,
}


def lift(x: Value | float) -> Value:
    """A Value as it is; a number as a leaf Value (a constant)."""
    return x if isinstance(x, Value) else Value(x)


def apply(op: str, *inputs: Value | float) -> Value:
    children = tuple(lift(x) for x in inputs)
    return Value(FORWARD[op](*(c.data for c in children)), children, op)


# ----------------------------------------------------------------------------------------------------
# Chapter 2: the op table and the chain rule

DERIVATIVE = {
    "add": lambda out, a, b: (1.0, 1.0),
    "sub": lambda out, a, b: (1.0, -1.0),
    "mul": lambda out, a, b: (b, a),
    "div": lambda out, a, b: (1.0 / b, -out / b),
    "neg": lambda out, a: (-1.0,),
    "pow": lambda out, x, k: (float(k) * x ** (float(k) - 1.0), 0.0),
    "exp": lambda out, x: (out,),
    "log": lambda out, x: (1.0 / x,),
    "tanh": lambda out, x: (1.0 - out * out,),
    "sigmoid": lambda out, x: (out * (1.0 - out),),
    "relu": lambda out, x: (1.0 if float(x) > 0 else 0.0,),
}


def pullback(node: Value, upstream: float) -> list[tuple[Value, float]]:
    local = DERIVATIVE[node.op](node.data, *(c.data for c in node.children))
    return [(child, upstream * d) for child, d in zip(node.children, local)]


# ----------------------------------------------------------------------------------------------------
# Chapter 3: topological order and backward


def topological_order(root: Value) -> list[Value]:
    order: list[Value] = []
    seen = {id(root)}
    stack = [(root, iter(root.children))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child.children)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backward(root: Value) -> None:
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        if node.op:
            for child, contribution in pullback(node, node.grad):
                child.grad += contribution


# ----------------------------------------------------------------------------------------------------
# Chapter 4: gradients of gradients


def grad(output: Value, inputs: list[Value]) -> list[Value]:
    grads: dict[Value, Value] = {output: Value(1.0)}
    for node in reversed(topological_order(output)):
        if not node.op or node not in grads:
            continue
        local = DERIVATIVE[node.op](node, *node.children)
        for child, d in zip(node.children, local):
            contribution = d * grads[node]
            grads[child] = grads[child] + contribution if child in grads else lift(contribution)
    return [grads.get(x, Value(0.0)) for x in inputs]


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
        total = self.b
        for w, x in zip(self.w, xs):
            total = total + w * x
        return ACTIVATIONS[self.activation](total)

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    """``nout`` neurons, each fed by the same ``nin`` inputs."""

    def __init__(
        self, nin: int, nout: int, activation: str = "tanh", rng: random.Random | None = None
    ) -> None:
        rng = rng or random.Random(0)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, xs: list[Value | float]) -> list[Value]:
        return [neuron(xs) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]


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
        values: list[Value | float] = list(xs)
        for layer in self.layers:
            values = list(layer(values))
        return values[0] if len(values) == 1 else values

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


# ----------------------------------------------------------------------------------------------------
# Chapter 6: training


def mse(predictions: list[Value], targets: list[float]) -> Value:
    total = Value(0.0)
    for p, t in zip(predictions, targets):
        total = total + (p - t) ** 2
    return total / len(predictions)


def zero_grad(params: list[Value]) -> None:
    for p in params:
        p.grad = 0.0


def sgd_step(params: list[Value], lr: float) -> None:
    for p in params:
        p.data -= lr * p.grad


def train(model: MLP, xs: list[list[float]], ys: list[float], steps: int, lr: float) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = mse([model(x) for x in xs], ys)
        zero_grad(model.parameters())
        loss.backward()
        sgd_step(model.parameters(), lr)
        losses.append(loss.data)
    return losses


# ----------------------------------------------------------------------------------------------------
# Chapter 7: drawing


def to_dot(root: Value) -> str:
    order = topological_order(root)
    name = {id(v): f"n{i}" for i, v in enumerate(order)}
    lines = ["digraph {", "  rankdir=LR"]
    for v in order:
        op = f"{v.op} | " if v.op else ""
        lines.append(f'  {name[id(v)]} [shape=record label="{op}data {v.data:.4f} | grad {v.grad:.4f}"]')
    for v in order:
        lines += [f"  {name[id(c)]} -> {name[id(v)]}" for c in v.children]
    return "\n".join([*lines, "}"])


# ----------------------------------------------------------------------------------------------------
# Chapter 8: checking gradients


def numeric_gradient(f: Any, xs: list[float], eps: float = 1e-6) -> list[float]:
    slopes = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += eps
        down[i] -= eps
        slopes.append((f(*up) - f(*down)) / (2 * eps))
    return slopes


def gradcheck(f: Any, xs: list[float], atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    leaves = [Value(x) for x in xs]
    f(*leaves).backward()
    numeric = numeric_gradient(lambda *moved: f(*(Value(m) for m in moved)).data, xs)
    return all(abs(v.grad - n) <= atol + rtol * abs(n) for v, n in zip(leaves, numeric))
