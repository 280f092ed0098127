"""The ``tinygrad-w`` command (also ``python -m tinygrad_w``).

    tinygrad-w demo [NAME] [-- ARGS...]      run a demo from the repository's demos/ (list them without NAME)
    tinygrad-w grad "EXPR" x=1 y=2           value, every partial derivative, and a gradcheck verdict
    tinygrad-w graph "EXPR" x=1 -o out.svg   draw the expression graph with values and gradients
    tinygrad-w check "EXPR" [--examples N]   gradcheck at many random points inside the domain (Hypothesis)

Formulas are read by :func:`tinygrad_w.parse` (numbers, variables, ``+ - * / **`` and the engine's
functions). Exit status: 0 on success, 1 when a gradient check fails, 2 for bad usage or input; errors are
one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from tinygrad_w.cli.expr import parse, parse_with_inputs, variable_names
from tinygrad_w.core.gradients import grad
from tinygrad_w.core.value import Value
from tinygrad_w.errors import ExpressionError, GradcheckError, NonFiniteError, OperationError, TinygradError
from tinygrad_w.learn.command import add_learn_parser
from tinygrad_w.testing.gradcheck import (
    DEFAULT_ATOL,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    gradcheck,
    gradgradcheck,
    near_kinks_or_edges,
)

__all__ = ["find_demos", "main"]

PROG = "tinygrad-w"
DEMOS_ENV = "TINYGRAD_W_DEMOS"  # overrides where the demos are looked for
KINK_MARGIN = 1e-3  # check skips points whose op inputs are this close to a kink or a domain edge

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_FORMULA_HELP = (
    "Formulas use numbers, variables, + - * / ** and exp log sqrt tanh sigmoid relu abs softplus "
    "leaky_relu(x[, slope]); quote them for the shell. A formula starting with '-' needs a leading "
    "space (' -x') or '--' before it."
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="tinygrad_w from the command line: demos, derivatives of formulas, drawings, checks.",
        epilog="Exit status: 0 ok, 1 a gradient check failed, 2 bad usage or input.",
    )
    from tinygrad_w import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="run a demo (list them without NAME)", description=(
        "Run demos/NAME.py from the repository (next to the tinygrad_w package) with the current Python; "
        "arguments after NAME (or after --) go to the demo. Without NAME, list the demos."
    ))  # fmt: skip
    demo.add_argument("name", nargs="?", metavar="NAME", help="demo to run, e.g. moons")
    demo.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the demo")
    demo.set_defaults(handler=_demo)

    variables_help = "values of the variables, as NAME=NUMBER"
    grad_cmd = commands.add_parser("grad", help="value, partial derivatives and a gradcheck verdict",
                                   description="Print the formula's value and its partial derivative with "
                                   "respect to each variable, and check them against central differences. "
                                   + _FORMULA_HELP)  # fmt: skip
    grad_cmd.add_argument("expression", metavar="EXPR", help="the formula, e.g. 'tanh(2*x + b)'")
    grad_cmd.add_argument("values", nargs="*", default=[], metavar="NAME=NUMBER", help=variables_help)
    grad_cmd.add_argument(
        "--second-order", action="store_true", help="also print and check second derivatives"
    )
    grad_cmd.set_defaults(handler=_grad)

    graph = commands.add_parser("graph", help="draw the expression graph (values and gradients)",
                                description="Draw the formula's graph after a backward pass: every node "
                                "with its value and gradient. The file type follows the suffix (.svg .png "
                                ".pdf .dot); without Graphviz's dot program the DOT source is written. "
                                + _FORMULA_HELP)  # fmt: skip
    graph.add_argument("expression", metavar="EXPR", help="the formula")
    graph.add_argument("values", nargs="*", default=[], metavar="NAME=NUMBER", help=variables_help)
    graph.add_argument(
        "-o", "--output", default="graph.svg", metavar="FILE", help="where to write (graph.svg)"
    )
    graph.set_defaults(handler=_graph)

    check = commands.add_parser("check", help="gradcheck at many random points (Hypothesis)",
                                description="Check the formula's derivatives against central differences "
                                "at random points drawn by Hypothesis. Points outside the domain, or within "
                                f"{KINK_MARGIN:g} of a kink (relu, abs at 0) or of a domain edge, are "
                                "skipped. A disagreement is shrunk to a simple point and reported (exit 1). "
                                + _FORMULA_HELP)  # fmt: skip
    check.add_argument("expression", metavar="EXPR", help="the formula")
    check.add_argument("--examples", type=_positive_int, default=100, metavar="N", help="points to try (100)")
    check.add_argument("--range", type=float, nargs=2, default=(-3.0, 3.0), metavar=("LOW", "HIGH"),
                       help="interval each variable is drawn from (-3 3)")  # fmt: skip
    check.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the same points each run)"
    )
    check.add_argument("--second-order", action="store_true", help="also check second derivatives")
    check.set_defaults(handler=_check)
    add_learn_parser(commands)  # tinygrad-w learn check FILE: the reading path's exercise grader
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed, 2 bad usage or input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: demo, grad, graph or check")
    where = f"{PROG} {args.command}"
    try:
        status: int = args.handler(args)
    except (UsageError, TinygradError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{where}: error: {first_line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return status


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


# ----------------------------------------------------------------------------------------------------
# demo


def find_demos(package_dir: Path | None = None) -> Path | None:
    """The demos/ directory: $TINYGRAD_W_DEMOS if set, else the one next to the package (a source
    checkout). None when there is none (an installed wheel has no demos)."""
    override = os.environ.get(DEMOS_ENV)
    if override:
        candidate = Path(override)
    else:
        package = package_dir if package_dir is not None else Path(__file__).resolve().parent.parent
        candidate = package.parent / "demos"
    return candidate if candidate.is_dir() else None


def _demo_summary(path: Path) -> str:
    """The first line of a demo's docstring (read as a syntax tree; the demo is not run)."""
    try:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return ""
    return docstring.strip().splitlines()[0] if docstring else ""


def _demo(args: argparse.Namespace) -> int:
    folder = find_demos()
    if folder is None:
        raise UsageError(
            "cannot find the demos/ directory: demos live in the source repository next to the tinygrad_w "
            f"package (not in an installed wheel); run from a checkout or set {DEMOS_ENV}=/path/to/demos"
        )
    demos = {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}
    if args.name is None:
        print(f"demos in {folder}:")
        width = max((len(name) for name in demos), default=0)
        for name, path in demos.items():
            print(f"  {name.ljust(width)}  {_demo_summary(path)}".rstrip())
        print(f"run one with: {PROG} demo NAME [-- ARGS]")
        return EXIT_OK
    name = args.name.removesuffix(".py")
    if name not in demos:
        raise UsageError(f"no demo named {args.name!r}; the demos are: {', '.join(demos) or 'none'}")
    extra = list(args.args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    environment = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parent.parent)  # so the demo imports this tinygrad_w
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(demos[name]), *extra], env=environment, check=False).returncode


# ----------------------------------------------------------------------------------------------------
# grad and graph


def _assignments(pairs: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        name, equals, number = pair.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise UsageError(f"bad variable {pair!r}: write NAME=NUMBER, e.g. x=1.5")
        try:
            value = float(number)
        except ValueError:
            raise UsageError(f"bad value in {pair!r}: {number.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise UsageError(f"bad value in {pair!r}: values must be finite")
        if name in values:
            raise UsageError(f"variable {name!r} given twice")
        values[name] = value
    return values


def _parsed(text: str, pairs: Sequence[str]) -> tuple[Value, dict[str, Value]]:
    """The formula's Value and its leaves; every variable it uses must be given, and no other."""
    values = _assignments(pairs)
    names = variable_names(text)
    missing = [name for name in names if name not in values]
    if missing:
        raise UsageError(f"no value for {', '.join(missing)}: give one as {missing[0]}=NUMBER")
    unused = [name for name in values if name not in names]
    if unused:
        raise UsageError(f"the formula does not use {', '.join(unused)}")
    ordered = {name: values[name] for name in names}  # report in the formula's order
    return parse_with_inputs(text, ordered)


def _formula_function(text: str, names: Sequence[str]) -> Callable[..., Value]:
    """The formula as a function of one Value per variable, in the order of ``names`` (for gradcheck)."""

    def f(*values: Value) -> Value:
        return parse(text, **dict(zip(names, values)))

    return f


def _show(x: float) -> str:
    return repr(x) if x == 0.0 or 1e-4 <= abs(x) < 1e16 else f"{x:.17g}"


def _grad(args: argparse.Namespace) -> int:
    root, leaves = _parsed(args.expression, args.values)
    names = list(leaves)
    signature = f"f({', '.join(names)})" if names else "f"
    print(f"{signature} = {args.expression.strip()}")
    if names:
        print("at " + ", ".join(f"{name} = {_show(leaf.data)}" for name, leaf in leaves.items()))
    print(f"value: {_show(root.data)}")
    partials = grad(root, list(leaves.values()))
    width = max((len(name) for name in names), default=0)
    for name, partial in zip(names, partials):
        print(f"∂f/∂{name.ljust(width)} = {_show(partial)}")
    if args.second_order:
        first = grad(root, list(leaves.values()), create_graph=True)
        for name_i, g in zip(names, first):
            for name_j, second in zip(names, grad(g, list(leaves.values()))):
                print(f"∂²f/∂{name_i}∂{name_j} = {_show(second)}")
    return _verdict(args.expression, leaves, root, args.second_order)


def _verdict(text: str, leaves: dict[str, Value], root: Value, second_order: bool) -> int:
    """Print the gradcheck verdict; 1 and the table when a derivative disagrees."""
    names = list(leaves)
    point = [leaf.data for leaf in leaves.values()]
    f = _formula_function(text, names)
    try:
        gradcheck(f, point, labels=names)
        if second_order:
            gradgradcheck(f, point, labels=names)
    except GradcheckError as failure:
        print(f"gradcheck: FAILED\n{failure}")
        for problem in near_kinks_or_edges(root, KINK_MARGIN):
            print(f"note: {problem}; derivatives at a kink are a convention (relu'(0) = 0), not a limit")
        return EXIT_CHECK_FAILED
    except ExpressionError as exc:  # the central difference stepped outside the domain
        raise UsageError(
            f"cannot check this point: a step of {DEFAULT_EPS:g} leaves the domain ({exc})"
        ) from None
    which = "first and second derivatives" if second_order else "derivatives"
    print(f"gradcheck: passed ({which} agree with central differences, eps={DEFAULT_EPS:g}, "
          f"atol={DEFAULT_ATOL:g}, rtol={DEFAULT_RTOL:g})")  # fmt: skip
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    from tinygrad_w import viz

    root, _ = _parsed(args.expression, args.values)
    root.backward()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = viz.render(viz.draw_graph(root), args.output)
    for warning in caught:
        print(f"{PROG} graph: note: {str(warning.message).splitlines()[0]}", file=sys.stderr)
    print(f"wrote {written}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------
# check


def _check(args: argparse.Namespace) -> int:
    try:
        from hypothesis import HealthCheck, Verbosity, given, reject, settings
        from hypothesis import seed as hypothesis_seed
        from hypothesis.errors import Unsatisfiable

        from tinygrad_w.testing.strategies import inputs_for
    except ImportError:
        raise UsageError("check needs Hypothesis: pip install hypothesis") from None

    text = args.expression
    low, high = args.range
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise UsageError(f"--range needs finite LOW < HIGH, got {low:g} {high:g}")
    names = variable_names(text)
    print(f"f({', '.join(names)}) = {text.strip()}")
    if not names:
        print("check: the formula has no variables: nothing to differentiate")
        return EXIT_OK
    tried = {"checked": 0, "skipped": 0}
    last_failure: list[tuple[dict[str, float], GradcheckError]] = []
    f = _formula_function(text, names)

    @settings(
        max_examples=args.examples,
        database=None,
        deadline=None,
        derandomize=args.seed is None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @given(inputs_for(names, low, high))
    def property_test(point: dict[str, float]) -> None:
        try:
            root, _ = parse_with_inputs(text, point)
            if near_kinks_or_edges(root, KINK_MARGIN):
                tried["skipped"] += 1
                reject()
            gradcheck(f, list(point.values()), labels=names)
            if args.second_order:
                gradgradcheck(f, list(point.values()), labels=names)
        except (ExpressionError, OperationError, NonFiniteError) as exc:
            if isinstance(exc, ExpressionError) and not isinstance(
                exc.__cause__, (OperationError, NonFiniteError)
            ):
                raise
            tried["skipped"] += 1  # outside the domain here (or a step away): not a point to judge
            reject()
        except GradcheckError as failure:
            last_failure.append((point, failure))
            raise
        tried["checked"] += 1

    if args.seed is not None:
        property_test = hypothesis_seed(args.seed)(property_test)
    try:
        property_test()
    except Unsatisfiable:
        raise UsageError(
            f"no point in [{low:g}, {high:g}] where the formula is defined away from kinks; try --range"
        ) from None
    except GradcheckError:
        point, failure = last_failure[-1]  # the last failing call is Hypothesis's shrunk example
        where = ", ".join(f"{name} = {value!r}" for name, value in point.items())
        print(f"check: FAILED at {where}\n{failure}")
        return EXIT_CHECK_FAILED
    order = "first and second derivatives" if args.second_order else "derivatives"
    print(
        f"check: passed: {order} agree with central differences at {tried['checked']} points in "
        f"[{low:g}, {high:g}] ({tried['skipped']} points outside the domain or near a kink skipped)"
    )
    return EXIT_OK
