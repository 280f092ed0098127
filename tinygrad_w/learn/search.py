"""The smallest failing expression: Hypothesis draws random expressions of the learner's ops (with a point
inside every op's domain, see :func:`tinygrad_w.testing.strategies.expression_cases`) and shrinks the
first one on which the learner's engine disagrees to the simplest it can find."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tinygrad_w.learn.mirror import Mirror, blame
from tinygrad_w.testing.adapter import STANDARD_OPS
from tinygrad_w.testing.strategies import BUILTIN_OPS, ExpressionCase, OpSpec


@dataclass
class Finding:
    """What a chapter's check found on one expression: ``problem`` ("" when the learner's engine agrees),
    the ``op`` to blame ("" if none in particular) and the ``mirror`` to draw (None if there is none)."""

    problem: str
    op: str = ""
    mirror: Mirror | None = None


# A chapter's check of one expression built in the learner's engine: (case, root, leaves) -> Finding.
Examine = Callable[[ExpressionCase, Any, list[Any]], Finding]


def compared(m: Mirror) -> Finding:
    """The Finding of a mirror: the first place where the learner's numbers go wrong, if any."""
    if not m.disagrees():
        return Finding("")
    op, why = blame(m)
    return Finding(why or "your numbers differ from the right ones", op, m)


def build(value_class: Any, case: ExpressionCase) -> tuple[Any, list[Any]]:
    """The case's expression in the learner's engine: a leaf per variable and per constant, each op
    applied as a micrograd-style class spells it (``a + b``, ``a.tanh()``, ...)."""
    leaves = {name: value_class(case.point[name]) for name in case.names}

    def applied(spec: OpSpec, *arguments: Any) -> Any:
        return STANDARD_OPS[spec.name](*arguments)

    root = case.expression.fold(lambda name: leaves[name], value_class, applied)
    return root, [leaves[name] for name in case.names]


def leaf_names(case: ExpressionCase, leaves: list[Any]) -> dict[int, str]:
    """The variables' names keyed by the id() of the learner's leaves, for the drawing."""
    return {id(leaf): name for name, leaf in zip(case.names, leaves)}


def smallest_failure(
    value_class: Any, op_names: Sequence[str], examine: Examine, *, examples: int = 300, seed: int = 0
) -> tuple[ExpressionCase, Finding] | None:
    """The simplest expression of ``op_names`` on which ``examine`` finds a problem, or None.

    Hypothesis tries up to ``examples`` expressions (depth at most 3, up to three variables); the same
    seed gives the same expression.
    """
    from hypothesis import HealthCheck, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample

    from tinygrad_w.testing.strategies import expression_cases

    specs = [BUILTIN_OPS[name] for name in op_names]
    if not specs:
        return None
    quiet = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )

    def fails(case: ExpressionCase) -> bool:
        return bool(_examine(value_class, case, examine).problem)

    strategy = expression_cases(specs, max_depth=3)
    try:
        case = find(strategy, fails, settings=quiet, random=random.Random(seed))
    except NoSuchExample:
        return None
    return case, _examine(value_class, case, examine)


def _examine(value_class: Any, case: ExpressionCase, examine: Examine) -> Finding:
    try:
        root, leaves = build(value_class, case)
        return examine(case, root, leaves)
    except Exception as exc:  # the learner's engine may raise anything on this expression
        return Finding(f"your engine raised {type(exc).__name__}: {exc}")
