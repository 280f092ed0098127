"""Chapters 1-4: the learner's engine (forward rules and apply, derivative rules and pullback,
topological order and backward, gradients as Values). Each op is checked alone first, so that the wrong
one is named; then Hypothesis looks for the smallest expression that shows the problem, and it is drawn
with the learner's numbers (:mod:`tinygrad_w.learn.mirror`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tinygrad_w.core import gradients as core_gradients
from tinygrad_w.core.ops import FloatMath
from tinygrad_w.core.reverse import backpropagate, topological_order
from tinygrad_w.core.value import Value as OurValue
from tinygrad_w.learn.loading import LearnerBug, NotWritten, attempt, piece
from tinygrad_w.learn.mirror import OPS_BY_NAME, close, draw, mirror
from tinygrad_w.learn.report import ChapterGrade
from tinygrad_w.learn.search import Examine, Finding, compared, leaf_names, smallest_failure
from tinygrad_w.testing.adapter import STANDARD_OPS, EngineAdapter, check_engine
from tinygrad_w.testing.strategies import BUILTIN_OPS, ExpressionCase

# The ops of the template, in its order.
OP_NAMES = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "relu")
# Inputs tried for every op, kept where the op is defined and away from its kinks.
CANDIDATES = ((0.7, 1.3), (-1.1, 0.6), (1.9, -0.45), (-0.35, -1.6), (2.5, 0.3))
DEEP = 5000  # the length of the chain that a recursive walk cannot handle


@dataclass
class Settings:
    """How hard to look: Hypothesis examples per search, its seed, and where drawings go."""

    examples: int = 200
    seed: int = 0
    drawings: Path = field(default_factory=lambda: Path("learn-check"))


def op_points(name: str, count: int = 5) -> list[tuple[float, ...]]:
    """Up to ``count`` argument tuples for the op (its constant parameter last, as ``pow(x, k)``)."""
    spec = BUILTIN_OPS[name]
    points: list[tuple[float, ...]] = []
    for pair in CANDIDATES:
        for parameter in spec.parameters or (None,):
            args = (*pair[: spec.arity], *(() if parameter is None else (parameter,)))
            try:
                fine = spec.allowed(*args) and math.isfinite(spec.evaluate(*args))
            except (ArithmeticError, ValueError):
                fine = False
            if fine:
                points.append(args)
    return points[:count]


def variables(name: str) -> tuple[str, ...]:
    """How the chapters call an op's variable inputs: x for one, a and b for two."""
    return ("x",) if BUILTIN_OPS[name].arity == 1 else ("a", "b")


def second_partial(a: str, b: str) -> str:
    """∂²/∂x² or ∂²/∂a∂b."""
    return f"∂²/∂{a}²" if a == b else f"∂²/∂{a}∂{b}"


def describe(name: str, args: tuple[float, ...]) -> str:
    """``tanh at x = 0.7``, ``pow at x = 0.7, k = 2.0``."""
    names = (*variables(name), "k") if name == "pow" else variables(name)
    return f"{name} at " + ", ".join(f"{n} = {v!r}" for n, v in zip(names, args))


def learner_leaves(value_class: Any, name: str, args: tuple[float, ...]) -> tuple[list[Any], tuple[Any, ...]]:
    """The op's variable inputs as learner leaves, and the arguments to apply (leaves, then the constant)."""
    arity = BUILTIN_OPS[name].arity
    leaves = [value_class(x) for x in args[:arity]]
    return leaves, (*leaves, *args[arity:])


def each_op(grade: ChapterGrade, table: dict[str, Any], what: str, check: Callable[[str], None]) -> None:
    """Run ``check(name)`` for every op of the template, recording missing and wrong ones."""
    for name in OP_NAMES:
        if name not in table:
            grade.fail(name, f"{name}: missing from {what}")
            continue
        try:
            check(name)
        except NotWritten:
            grade.missing.append(f"{name}'s {what.lower()}")
        except LearnerBug as bug:
            grade.fail(name, f"{name}: {bug}")


def diagnose(
    grade: ChapterGrade, module: ModuleType, examine: Examine, settings: Settings, ops: list[str]
) -> None:
    """Find, blame and draw the smallest failing expression of ``ops`` (when the chapter failed)."""
    found = smallest_failure(module.Value, ops, examine, examples=settings.examples, seed=settings.seed)
    if found is None:
        return
    case, finding = found
    grade.expression = str(case)
    if finding.op and finding.op not in grade.wrong:
        grade.wrong.append(finding.op)
    grade.lines.append(f"on it: {finding.problem}")
    if finding.mirror is not None:
        path = settings.drawings / f"chapter{grade.number}-failing-expression.svg"
        grade.drawing = draw(finding.mirror, path)


def written_ops(grade: ChapterGrade) -> list[str]:
    return [name for name in OP_NAMES if not any(m.startswith(f"{name}'s") for m in grade.missing)]


# ----------------------------------------------------------------------------------------------------
# Chapter 1: forward rules and apply


def chapter1(module: ModuleType, settings: Settings) -> ChapterGrade:
    grade = ChapterGrade(1, "a Value and its graph")
    try:
        forward, value_class = piece(module, "FORWARD"), piece(module, "Value")
        piece(module, "apply")
    except LearnerBug as bug:
        grade.fail("engine", str(bug))
        return grade.settle()

    def check(name: str) -> None:
        for args in op_points(name):
            yours = attempt(f"FORWARD[{name!r}]", lambda *xs: float(forward[name](*xs)), *args)
            right = BUILTIN_OPS[name].evaluate(*args)
            if not math.isclose(yours, right, rel_tol=1e-9, abs_tol=1e-12):
                raise LearnerBug(f"forward wrong: {describe(name, args)}: yours {yours!r}, right {right!r}")

    each_op(grade, forward, "FORWARD", check)
    check_apply(grade, module, value_class)
    if grade.wrong and "apply" not in grade.missing:

        def examine(case: ExpressionCase, root: Any, leaves: list[Any]) -> Finding:
            return compared(mirror(root, leaf_names(case, leaves), gradients=False))

        diagnose(grade, module, examine, settings, written_ops(grade))
    elif not grade.wrong and not grade.missing:
        grade.lines.append(
            f"{len(OP_NAMES)} forward rules right at up to {len(CANDIDATES)} points each; "
            "apply records each op and its inputs"
        )
    return grade.settle()


def check_apply(grade: ChapterGrade, module: ModuleType, value_class: Any) -> None:
    """apply(op, *inputs) returns a new Value remembering the op and its inputs (numbers lifted)."""
    try:
        for name in OP_NAMES:
            args = op_points(name)[0]
            leaves, inputs = learner_leaves(value_class, name, args)
            try:
                node = attempt(f"apply({name!r}, ...)", module.apply, name, *inputs)
            except NotWritten as missing:
                if str(missing) == "apply":
                    raise
                continue  # this op's forward is still a todo, reported already
            problem = apply_problem(node, name, args, leaves, value_class)
            if problem:
                grade.fail(name if "data" in problem else "apply", f"apply({name!r}, ...): {problem}")
        check_apply_inputs(grade, module, value_class)
    except NotWritten:
        grade.missing.append("apply")
    except (LearnerBug, AttributeError, TypeError, IndexError) as bug:
        grade.fail("apply", f"apply: {bug}")


def check_apply_inputs(grade: ChapterGrade, module: ModuleType, value_class: Any) -> None:
    """An input used twice is listed twice; a number becomes a leaf Value."""
    a = value_class(0.5)
    twice = attempt("apply('add', a, a)", module.apply, "add", a, a)
    if len(twice.children) != 2 or any(child is not a for child in twice.children):
        grade.fail("apply", "apply('add', a, a): children must list a twice, (a, a)")
    constant = attempt("apply('add', 2.0, a)", module.apply, "add", 2.0, a)
    first = constant.children[0]
    if not isinstance(first, value_class) or first.data != 2.0:
        grade.fail("apply", "apply('add', 2.0, a): the number 2.0 must become a leaf Value (its first child)")


def apply_problem(node: Any, name: str, args: tuple[float, ...], leaves: list[Any], value_class: Any) -> str:
    if not isinstance(node, value_class):
        return f"returned {type(node).__name__}, not a Value"
    right = BUILTIN_OPS[name].evaluate(*args)
    if not math.isclose(node.data, right, rel_tol=1e-9, abs_tol=1e-12):
        return f"data {node.data!r}, right {right!r} ({describe(name, args)})"
    if node.op != name:
        return f"op is {node.op!r}, should be {name!r}"
    children = tuple(node.children)
    if len(children) != len(args) or any(c is not leaf for c, leaf in zip(children, leaves)):
        return "children must be the inputs, in call order (numbers as leaf Values)"
    if any(
        not isinstance(c, value_class) or c.data != x
        for c, x in zip(children[len(leaves) :], args[len(leaves) :])
    ):
        return "a number among the inputs must become a leaf Value holding it"
    return ""


# ----------------------------------------------------------------------------------------------------
# Chapter 2: derivative rules and the chain rule at one node


def right_partials(name: str, args: tuple[float, ...]) -> list[float]:
    """Our op's ∂out/∂input for the op's variable inputs (not pow's constant exponent)."""
    out = BUILTIN_OPS[name].evaluate(*args)
    partials = OPS_BY_NAME[name].derivative(FloatMath, out, *args)
    return [float(d) for d in partials[: BUILTIN_OPS[name].arity]]


def chapter2(module: ModuleType, settings: Settings) -> ChapterGrade:
    grade = ChapterGrade(2, "the op table and the chain rule")
    try:
        rules, pullback = piece(module, "DERIVATIVE"), piece(module, "pullback")
    except LearnerBug as bug:
        grade.fail("engine", str(bug))
        return grade.settle()

    def check(name: str) -> None:
        for args in op_points(name):
            out = BUILTIN_OPS[name].evaluate(*args)
            yours = attempt(f"DERIVATIVE[{name!r}]", rules[name], out, *args)
            for k, right in enumerate(right_partials(name, args)):
                mine = float(yours[k])
                if not close(mine, right):
                    wrt = variables(name)[k]
                    raise LearnerBug(
                        f"derivative wrong: ∂/∂{wrt} of {describe(name, args)}: "
                        f"yours {mine:.6g}, right {right:.6g}"
                    )

    each_op(grade, rules, "DERIVATIVE", check)
    if not grade.missing:
        check_pullback(grade, module, pullback)
    if grade.wrong and "pullback" not in grade.missing:

        def examine(case: ExpressionCase, root: Any, leaves: list[Any]) -> Finding:
            order = topological_order(root)
            grads = backpropagate(order, {root: 1.0}, lambda node, g: pullback(node, g) if node.op else ())
            for node in order:
                node.grad = float(grads.get(node, 0.0))
            return compared(mirror(root, leaf_names(case, leaves)))

        diagnose(grade, module, examine, settings, written_ops(grade))
    elif not grade.wrong and not grade.missing:
        grade.lines.append(
            f"{len(OP_NAMES)} derivative rules right at up to {len(CANDIDATES)} points each; "
            "pullback multiplies them by the upstream gradient"
        )
    return grade.settle()


def check_pullback(grade: ChapterGrade, module: ModuleType, pullback: Any) -> None:
    """pullback(node, upstream) pairs each input with upstream · ∂node/∂input."""
    upstream = 2.5
    try:
        for name in OP_NAMES:
            args = op_points(name)[0]
            _, inputs = learner_leaves(module.Value, name, args)
            node = attempt(f"apply({name!r}, ...)", module.apply, name, *inputs)
            pairs = list(attempt(f"pullback(<{name} node>, {upstream})", pullback, node, upstream))
            if len(pairs) != len(node.children) or any(p[0] is not c for p, c in zip(pairs, node.children)):
                grade.fail(
                    "pullback",
                    f"pullback(<{name} node>, g): one pair (input, contribution) per input, in order",
                )
                return
            for k, right in enumerate(right_partials(name, args)):
                if not close(float(pairs[k][1]), upstream * right):
                    grade.fail(
                        name,
                        f"pullback(<{name} node>, {upstream}): input {k} gets {float(pairs[k][1]):.6g}, "
                        f"right {upstream} × {right:.6g}",
                    )
    except NotWritten:
        grade.missing.append("pullback")
    except (LearnerBug, TypeError, IndexError, ValueError) as bug:
        grade.fail("pullback", f"pullback: {bug}")


# ----------------------------------------------------------------------------------------------------
# Chapter 3: topological order and backward


def chapter3(module: ModuleType, settings: Settings) -> ChapterGrade:
    grade = ChapterGrade(3, "topological order and backward")
    try:
        order_of, value_class = piece(module, "topological_order"), piece(module, "Value")
        piece(module, "backward")
        check_order(grade, order_of, value_class)
        check_backward_written(grade, value_class)
    except NotWritten as missing:
        grade.missing.append(str(missing))
    except LearnerBug as bug:
        grade.fail("topological_order" if "topological" in str(bug) else "backward", str(bug))
    if grade.missing or grade.wrong:
        return grade.settle()
    check_against_differences(grade, value_class, settings)
    if grade.wrong:

        def examine(case: ExpressionCase, root: Any, leaves: list[Any]) -> Finding:
            root.backward()
            return compared(mirror(root, leaf_names(case, leaves)))

        diagnose(grade, module, examine, settings, list(OP_NAMES))
    return grade.settle()


def check_order(grade: ChapterGrade, order_of: Any, value_class: Any) -> None:
    """Every node once, each after its inputs, the same order every time, no recursion limit."""
    x, y = value_class(0.5), value_class(-1.5)
    a = x * y
    root = ((a + x) * a).tanh()
    order = list(attempt("topological_order(root)", order_of, root))
    reachable = {id(node) for node in topological_order(root)}
    place = {id(node): i for i, node in enumerate(order)}
    if len(order) != len(reachable) or set(place) != reachable:
        raise LearnerBug(
            f"topological_order of tanh((x·y + x)·(x·y)) lists {len(order)} nodes; "
            f"it should list each of the {len(reachable)} nodes once"
        )
    late = next((n for n in order for c in n.children if place[id(c)] > place[id(n)]), None)
    if late is not None:
        raise LearnerBug(f"topological_order lists a {late.op} node before one of its inputs")
    if [id(n) for n in attempt("topological_order(root)", order_of, root)] != [id(n) for n in order]:
        raise LearnerBug("topological_order gives another order the second time: follow inputs in call order")
    chain = value_class(0.5)
    for _ in range(DEEP):
        chain = chain + 1.0
    deep = attempt(f"topological_order of a chain of {DEEP} additions", order_of, chain)
    if len(deep) != 2 * DEEP + 1:
        raise LearnerBug(
            f"topological_order of a chain of {DEEP} additions lists {len(deep)} nodes, not {2 * DEEP + 1}"
        )
    grade.lines.append(
        f"topological_order: each node once, after its inputs, the same every time; a chain of {DEEP} ops works"
    )


def check_backward_written(grade: ChapterGrade, value_class: Any) -> None:
    x = value_class(0.5)
    chain = x
    for _ in range(DEEP):
        chain = chain + 1.0
    attempt(f"backward of a chain of {DEEP} additions", chain.backward)
    if not close(float(x.grad), 1.0):
        raise LearnerBug(
            f"backward of a chain of {DEEP} additions (x + 1 + 1 ...): ∂/∂x is {x.grad!r}, should be 1"
        )


def check_against_differences(grade: ChapterGrade, value_class: Any, settings: Settings) -> None:
    """The adapter's check (tinygrad_w.testing.adapter): each op alone (also x·x), then random expressions."""
    adapter = EngineAdapter.for_class(value_class, ops={name: STANDARD_OPS[name] for name in OP_NAMES})
    report = check_engine(adapter, examples=settings.examples, seed=settings.seed)
    for result in report.ops:
        if result.status not in ("ok", "not provided"):
            grade.fail(result.name, f"{result.name}: {result.status}: {result.detail}")
    if report.expression_failure:
        grade.fail(
            "expressions", "expressions of the ops that pass alone disagree:\n" + report.expression_failure
        )
    if report.ok:
        grade.lines.append(
            f"backward agrees with central differences: {len(OP_NAMES)} ops alone (and x·x), "
            f"{report.expressions_checked} random expressions"
        )


# ----------------------------------------------------------------------------------------------------
# Chapter 4: gradients of gradients


def our_hessian(name: str, args: tuple[float, ...]) -> tuple[list[float], list[list[float]]]:
    """First derivatives and the matrix of second derivatives of the op at args, by our engine."""
    arity = BUILTIN_OPS[name].arity
    leaves = [OurValue(x) for x in args[:arity]]
    out = BUILTIN_OPS[name].build(*leaves, *args[arity:])
    first = core_gradients.grad(out, leaves, create_graph=True)
    return [g.data for g in first], [core_gradients.grad(g, leaves) for g in first]


def their_hessian(
    grad_of: Any, value_class: Any, out: Any, leaves: list[Any]
) -> tuple[list[Any], list[list[float]]]:
    first = list(attempt("grad(out, inputs)", grad_of, out, leaves))
    if len(first) != len(leaves) or not all(isinstance(g, value_class) for g in first):
        raise LearnerBug("grad(out, inputs) must return one Value per input")
    second = [[float(h.data) for h in attempt("grad(g, inputs)", grad_of, g, leaves)] for g in first]
    return first, second


def chapter4(module: ModuleType, settings: Settings) -> ChapterGrade:
    grade = ChapterGrade(4, "gradients of gradients")
    try:
        grad_of, value_class = piece(module, "grad"), module.Value
        x = value_class(0.5)
        attempt("grad(x * x, [x])", grad_of, x * x, [x])
    except NotWritten as missing:
        grade.missing.append(str(missing))
        return grade.settle()
    except LearnerBug as bug:
        grade.fail("grad", str(bug))
        return grade.settle()
    for name in OP_NAMES:
        try:
            check_second_order(grade, name, grad_of, value_class)
        except LearnerBug as bug:
            grade.fail(name, f"{name}: {bug}")
    if grade.wrong:
        diagnose(grade, module, second_order_examiner(grad_of, value_class), settings, list(OP_NAMES))
    else:
        grade.lines.append(
            f"grad gives first and second derivatives of all {len(OP_NAMES)} ops, as Values, touching no .grad"
        )
    return grade.settle()


def check_second_order(grade: ChapterGrade, name: str, grad_of: Any, value_class: Any) -> None:
    for args in op_points(name, 2):
        leaves, inputs = learner_leaves(value_class, name, args)
        out = STANDARD_OPS[name](*inputs)
        first, second = their_hessian(grad_of, value_class, out, leaves)
        if any(float(leaf.grad) != 0.0 for leaf in leaves):
            grade.fail("grad", "grad changed a leaf's .grad: it must return gradients, not write them")
        right_first, right_second = our_hessian(name, args)
        names = variables(name)
        for i, (g, r) in enumerate(zip(first, right_first)):
            if not close(float(g.data), r):
                raise LearnerBug(
                    f"first derivative ∂/∂{names[i]} of {describe(name, args)}: "
                    f"yours {float(g.data):.6g}, right {r:.6g}"
                )
        for i, row in enumerate(second):
            for j, (h, r) in enumerate(zip(row, right_second[i])):
                if not close(h, r):
                    raise LearnerBug(
                        f"second derivative {second_partial(names[i], names[j])} of {describe(name, args)}: yours "
                        f"{h:.6g}, right {r:.6g}{left_the_graph(first[i], leaves[j], names[i], names[j])}"
                    )


def left_the_graph(gradient: Any, leaf: Any, gradient_of: str, leaf_name: str) -> str:
    """A hint when the learner's gradient graph does not contain the leaf it must depend on."""
    if any(node is leaf for node in topological_order(gradient)):
        return ""
    return (
        f": your graph of ∂f/∂{gradient_of} does not contain {leaf_name} at all, so a rule left the graph "
        "(math.* and float() turn a Value into a plain number)"
    )


def second_order_examiner(grad_of: Any, value_class: Any) -> Examine:
    def examine(case: ExpressionCase, root: Any, leaves: list[Any]) -> Finding:
        first, second = their_hessian(grad_of, value_class, root, leaves)
        ours = [OurValue(case.point[name]) for name in case.names]
        built = case.expression.build(dict(zip(case.names, ours)))
        right = (
            [core_gradients.grad(g, ours) for g in core_gradients.grad(built, ours, create_graph=True)]
            if isinstance(built, OurValue)
            else []
        )
        for i, row in enumerate(second):
            for j, h in enumerate(row):
                if right and not close(h, right[i][j]):
                    a, b = case.names[i], case.names[j]
                    problem = (
                        f"{second_partial(a, b)} f: yours {h:.6g}, right {right[i][j]:.6g}"
                        f"{left_the_graph(first[i], leaves[j], a, b)}; drawn: your graph of ∂f/∂{a}"
                    )
                    first[i].backward()
                    names = {**leaf_names(case, leaves), id(first[i]): f"your ∂f/∂{a}"}
                    return Finding(problem, "", mirror(first[i], names))
        return Finding("")

    return examine
