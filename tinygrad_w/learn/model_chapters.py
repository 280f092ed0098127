"""Chapters 5 and 6: neurons, layers and MLPs built from the learner's Values, and training them. Each
piece is checked against the same computation on plain floats, and gradients against central
differences (:func:`tinygrad_w.testing.numeric_gradient`)."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from tinygrad_w.learn.loading import LearnerBug, NotWritten, attempt, piece
from tinygrad_w.learn.report import ChapterGrade
from tinygrad_w.testing.gradcheck import is_close, numeric_gradient

FLOAT_ACTIVATIONS: dict[str, Callable[[float], float]] = {
    "linear": lambda s: s,
    "tanh": math.tanh,
    "relu": lambda s: max(s, 0.0),
    "sigmoid": lambda s: 1.0 / (1.0 + math.exp(-s)),
}
INPUTS = [0.5, -1.2, 2.0]


def run_pieces(
    grade: ChapterGrade, checks: Sequence[tuple[str, Callable[[], None]]], summary: str
) -> ChapterGrade:
    """Run each (piece name, check) up to the first wrong one; record what is missing or wrong, or else
    the ``summary`` of what was checked."""
    for name, check in checks:
        try:
            check()
        except NotWritten:
            grade.missing.append(name)
        except (LearnerBug, AttributeError, TypeError, IndexError, ValueError) as bug:
            grade.fail(name, f"{name}: {bug}")
            break  # the later pieces build on this one
    if not grade.wrong and not grade.missing:
        grade.lines.append(summary)
    return grade.settle()


def neuron_by_hand(neuron: Any, xs: Sequence[float]) -> float:
    """activation(b + Σ w_i x_i) on floats, from the neuron's own parameters."""
    total = float(neuron.b.data) + sum(float(w.data) * x for w, x in zip(neuron.w, xs))
    return FLOAT_ACTIVATIONS[neuron.activation](total)


def with_biases(neurons: Sequence[Any]) -> None:
    """Give every neuron a bias other than its initial 0, so that a forgotten bias shows."""
    for k, neuron in enumerate(neurons):
        neuron.b.data = 0.3 - 0.2 * k


def check_gradients(what: str, output: Callable[[], Any], params: list[Any]) -> None:
    """backward's ∂output/∂p for every parameter p against a central difference (moving p.data)."""
    for p in params:
        p.grad = 0.0
    attempt(f"{what}.backward()", output().backward)
    analytic = [float(p.grad) for p in params]
    start = [float(p.data) for p in params]

    def moved(values: Sequence[float]) -> float:
        for p, v in zip(params, values):
            p.data = v
        return float(output().data)

    numeric = numeric_gradient(moved, start)
    moved(start)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if not is_close(a, n):
            raise LearnerBug(
                f"∂{what}/∂(parameter {i}) is {a:.6g} by backward, {n:.6g} by central differences"
            )


def check_value(what: str, got: Any, right: float) -> None:
    if not math.isclose(float(got.data), right, rel_tol=1e-9, abs_tol=1e-12):
        raise LearnerBug(f"{what} is {float(got.data)!r}; from its parameters by hand it is {right!r}")


def chapter5(module: ModuleType, settings: object) -> ChapterGrade:
    grade = ChapterGrade(5, "neurons and MLPs")
    neuron_class, layer_class, mlp_class = (piece(module, n) for n in ("Neuron", "Layer", "MLP"))

    def neuron_call() -> None:
        for activation in FLOAT_ACTIVATIONS:
            neuron = neuron_class(3, activation, random.Random(7))
            with_biases([neuron])
            out = attempt("Neuron.__call__", neuron, INPUTS)
            check_value(f"a {activation} Neuron's output", out, neuron_by_hand(neuron, INPUTS))
        neuron = neuron_class(3, "tanh", random.Random(7))
        with_biases([neuron])
        params = [*neuron.w, neuron.b]
        check_gradients("neuron", lambda: neuron(INPUTS), params)

    def neuron_parameters() -> None:
        neuron = neuron_class(3, "tanh", random.Random(7))
        params = list(attempt("Neuron.parameters", neuron.parameters))
        if len(params) != 4 or any(p is not q for p, q in zip(params, [*neuron.w, neuron.b])):
            raise LearnerBug(
                "Neuron.parameters() must list the weights w, then the bias b (the Values themselves)"
            )

    def layer() -> None:
        built = layer_class(3, 2, "tanh", random.Random(7))
        with_biases(built.neurons)
        outs = list(attempt("Layer.__call__", built, INPUTS))
        if len(outs) != 2:
            raise LearnerBug(f"Layer(3, 2)(xs) must give 2 outputs, one per neuron; got {len(outs)}")
        for out, neuron in zip(outs, built.neurons):
            check_value("a Layer's output", out, neuron_by_hand(neuron, INPUTS))
        params = list(attempt("Layer.parameters", built.parameters))
        expected = [p for neuron in built.neurons for p in (*neuron.w, neuron.b)]
        if len(params) != len(expected) or any(p is not q for p, q in zip(params, expected)):
            raise LearnerBug("Layer.parameters() must list each neuron's parameters, neuron by neuron")

    return run_pieces(
        grade,
        [("Neuron.__call__", neuron_call), ("Neuron.parameters", neuron_parameters), ("Layer", layer),
         ("MLP", lambda: check_mlp(mlp_class))],
        "Neuron, Layer and MLP give the outputs their parameters make by hand, list their parameters in "
        "order, and backward's gradients agree with central differences",
    )  # fmt: skip


def check_mlp(mlp_class: Any) -> None:
    model = mlp_class(2, [3, 3, 1], seed=0)
    with_biases([neuron for layer in model.layers for neuron in layer.neurons])
    xs = [0.3, -0.8]
    out = attempt("MLP.__call__", model, xs)
    if isinstance(out, (list, tuple)):
        raise LearnerBug("MLP(2, [3, 3, 1])(xs) must be a single Value when the last layer has one neuron")
    values = list(xs)
    for layer in model.layers:
        values = [neuron_by_hand(neuron, values) for neuron in layer.neurons]
    check_value("MLP(2, [3, 3, 1])'s output", out, values[0])
    params = list(attempt("MLP.parameters", model.parameters))
    expected = [p for layer in model.layers for neuron in layer.neurons for p in (*neuron.w, neuron.b)]
    if len(params) != len(expected) or any(p is not q for p, q in zip(params, expected)):
        raise LearnerBug(f"MLP.parameters() must list the {len(expected)} parameters layer by layer")
    check_gradients("MLP output", lambda: model(xs), params)


# ----------------------------------------------------------------------------------------------------
# Chapter 6: training

XS = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [-0.5, 0.5]]
YS = [1.0, -1.0, 0.5, 0.0]
STEPS, LR = 12, 0.1


def chapter6(module: ModuleType, settings: object) -> ChapterGrade:
    grade = ChapterGrade(6, "training")
    mse, zero_grad, sgd_step, train = (piece(module, n) for n in ("mse", "zero_grad", "sgd_step", "train"))
    value_class, mlp_class = module.Value, module.MLP

    def check_mse() -> None:
        predictions = [value_class(1.0), value_class(-0.5), value_class(2.0)]
        loss = attempt("mse", mse, predictions, [0.5, 0.5, 1.0])
        check_value("mse([1, -0.5, 2], [0.5, 0.5, 1])", loss, 0.75)
        attempt("mse(...).backward()", loss.backward)
        for p, right in zip(predictions, [1.0 / 3.0, -2.0 / 3.0, 2.0 / 3.0]):
            if not math.isclose(float(p.grad), right, rel_tol=1e-9):
                raise LearnerBug(f"∂mse/∂prediction is {float(p.grad):.6g}, right 2(p - t)/n = {right:.6g}")

    def check_zero_grad() -> None:
        params = [value_class(1.0), value_class(2.0)]
        params[0].grad, params[1].grad = 0.5, -3.0
        attempt("zero_grad", zero_grad, params)
        if any(float(p.grad) != 0.0 for p in params):
            raise LearnerBug("zero_grad(params) must set every .grad to 0")

    def check_sgd_step() -> None:
        p = value_class(1.0)
        p.grad = 0.5
        attempt("sgd_step", sgd_step, [p], 0.1)
        if not math.isclose(float(p.data), 0.95):
            raise LearnerBug(
                f"sgd_step moved p from 1.0 with grad 0.5 and lr 0.1 to {float(p.data)!r}, not 0.95 (p - lr·grad)"
            )

    return run_pieces(
        grade,
        [("mse", check_mse), ("zero_grad", check_zero_grad), ("sgd_step", check_sgd_step),
         ("train", lambda: check_train(train, mlp_class, mse))],
        f"mse, zero_grad and sgd_step are right; train's {STEPS} losses are those of the loop done right",
    )  # fmt: skip


def reference_losses(model: Any, mse: Any) -> list[float]:
    """The training loop done right, with the learner's own MLP, Values and mse: forward, loss, zero the
    gradients, backward, step; the loss recorded before each step's update."""
    losses = []
    for _ in range(STEPS):
        loss = mse([model(x) for x in XS], YS)
        params = model.parameters()
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        losses.append(float(loss.data))
    return losses


def check_train(train: Any, mlp_class: Any, mse: Any) -> None:
    model = mlp_class(2, [4, 1], seed=3)
    right = reference_losses(copy.deepcopy(model), mse)
    yours = [float(x) for x in attempt("train", train, model, XS, YS, STEPS, LR)]
    if len(yours) != STEPS:
        raise LearnerBug(
            f"train(..., steps={STEPS}) must return {STEPS} losses, one per step; got {len(yours)}"
        )
    for step, (a, b) in enumerate(zip(yours, right)):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            raise LearnerBug(
                f"step {step}: loss {a:.6g}, right {b:.6g} (is every .grad zeroed before backward, the step "
                "p.data -= lr·p.grad, and the loss recorded before the update?)"
            )
    if not right[-1] < right[0]:
        raise LearnerBug("training did not lower the loss")  # a sign that the learner's engine is wrong
