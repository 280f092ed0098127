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
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tinygrad_w.atomic import writable_path
from tinygrad_w.cli.expr import parse, parse_with_inputs, variable_names
from tinygrad_w.core.gradients import grad
from tinygrad_w.core.value import Value
from tinygrad_w.errors import (
    ExpressionError,
    GradcheckError,
    NonFiniteError,
    OperationError,
    TinygradError,
    show,
)
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
MAX_EXAMPLES = 100_000  # the most points check tries (each is a few gradchecks)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) instead of the usage text, and a value
    such as ``-1e-3`` reads as a negative number, not as an option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own pattern knows -1 and -0.5 but not -1e-3; it keeps it in this attribute
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_printable(message)} (see {self.prog} --help)\n")


_FORMULA_HELP = (
    "Formulas use numbers, variables, + - * / ** and exp log sqrt tanh sigmoid relu abs softplus "
    "leaky_relu(x[, slope]); quote them for the shell. A formula starting with '-' needs a leading "
    "space (' -x') or '--' before it."
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the command line: one sub-command each for demo, grad, graph and check."""
    parser = _Parser(
        prog=PROG,
        description="tinygrad_w from the command line: demos, derivatives of formulas, drawings, checks.",
        epilog="Exit status: 0 ok, 1 a gradient check failed, 2 bad usage or input.",
    )
    from tinygrad_w import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # learn: tinygrad-w learn check FILE, the reading path's exercise grader
    for add_command in (_add_demo, _add_grad, _add_graph, _add_check, add_learn_parser):
        add_command(commands)
    return parser


_VARIABLES_HELP = "values of the variables, as NAME=NUMBER"


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser("demo", help="run a demo (list them without NAME)", description=(
        "Run demos/NAME.py from the repository (next to the tinygrad_w package) with the current Python; "
        "arguments after NAME (or after --) go to the demo. Without NAME, list the demos."
    ))  # fmt: skip
    demo.add_argument("name", nargs="?", metavar="NAME", help="demo to run, e.g. moons")
    demo.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the demo")
    demo.set_defaults(handler=_demo)


def _add_grad(commands: Any) -> None:
    grad_cmd = commands.add_parser("grad", help="value, partial derivatives and a gradcheck verdict",
                                   description="Print the formula's value and its partial derivative with "
                                   "respect to each variable, and check them against central differences. "
                                   + _FORMULA_HELP)  # fmt: skip
    grad_cmd.add_argument("expression", metavar="EXPR", help="the formula, e.g. 'tanh(2*x + b)'")
    grad_cmd.add_argument("values", nargs="*", default=[], metavar="NAME=NUMBER", help=_VARIABLES_HELP)
    grad_cmd.add_argument(
        "--second-order", action="store_true", help="also print and check second derivatives"
    )
    grad_cmd.set_defaults(handler=_grad)


def _add_graph(commands: Any) -> None:
    graph = commands.add_parser("graph", help="draw the expression graph (values and gradients)",
                                description="Draw the formula's graph after a backward pass: every node "
                                "with its value and gradient. The file type follows the suffix (.svg .png "
                                ".pdf .dot); without Graphviz's dot program the DOT source is written. "
                                "The file's folder must exist; a symbolic link is written through. "
                                + _FORMULA_HELP)  # fmt: skip
    graph.add_argument("expression", metavar="EXPR", help="the formula")
    graph.add_argument("values", nargs="*", default=[], metavar="NAME=NUMBER", help=_VARIABLES_HELP)
    graph.add_argument(
        "-o", "--output", default="graph.svg", metavar="FILE", help="where to write (graph.svg)"
    )
    graph.set_defaults(handler=_graph)


def _add_check(commands: Any) -> None:
    check = commands.add_parser("check", help="gradcheck at many random points (Hypothesis)",
                                description="Check the formula's derivatives against central differences "
                                "at random points drawn by Hypothesis. Points outside the domain, or within "
                                f"{KINK_MARGIN:g} (less for a narrow --range) of a kink (relu, abs at 0) or "
                                "of a domain edge, are skipped. A disagreement is shrunk to a simple point "
                                "and reported (exit 1). " + _FORMULA_HELP)  # fmt: skip
    check.add_argument("expression", metavar="EXPR", help="the formula")
    check.add_argument("--examples", type=_example_count, default=100, metavar="N",
                       help=f"points to try (100; at most {MAX_EXAMPLES:,})")  # fmt: skip
    check.add_argument("--range", type=float, nargs=2, default=(-3.0, 3.0), metavar=("LOW", "HIGH"),
                       help="interval each variable is drawn from (-3 3); a value may be negative: -1e-3")  # fmt: skip
    check.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the same points each run)"
    )
    check.add_argument("--second-order", action="store_true", help="also check second derivatives")
    check.set_defaults(handler=_check)


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
        print(f"{where}: error: {_printable(_first_line(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return status


def _printable(text: str, limit: int = 300) -> str:
    """One line: control characters escaped (a newline in an argument becomes \\n), at most ``limit`` long."""
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


def _first_line(exc: Exception) -> str:
    """The error's first line; for a formula, without the parser's function name (the user typed a
    command, not ``variable_names``)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, ExpressionError):
        for name in ("parse: ", "parse_with_inputs: ", "variable_names: "):
            text = text.removeprefix(name)
    return text


def _example_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {show(text)}") from None
    if not 1 <= value <= MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to {MAX_EXAMPLES:,}, got {show(value)}")
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
    """The first paragraph of a demo's docstring, its lines joined into one (read as a syntax tree; the
    demo is not run)."""
    try:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return ""
    paragraph = (docstring or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


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
        indent = " " * (width + 4)
        for name, path in demos.items():  # each description wrapped under its own column
            lines = textwrap.wrap(_demo_summary(path), width=max(40, 100 - len(indent))) or [""]
            print(f"  {name.ljust(width)}  {lines[0]}".rstrip())
            print("".join(f"{indent}{line}\n" for line in lines[1:]), end="")
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
    """Every number first (a non-finite gradient is an error before anything is printed), then the table."""
    root, leaves = _parsed(args.expression, args.values)
    names, inputs = list(leaves), list(leaves.values())
    partials = grad(root, inputs)
    seconds = []
    if args.second_order:
        for name_i, g in zip(names, grad(root, inputs, create_graph=True)):
            seconds += [(name_i, name_j, second) for name_j, second in zip(names, grad(g, inputs))]
    signature = f"f({', '.join(names)})" if names else "f"
    print(f"{signature} = {args.expression.strip()}")
    if names:
        print("at " + ", ".join(f"{name} = {_show(leaf.data)}" for name, leaf in leaves.items()))
    print(f"value: {_show(root.data)}")
    width = max((len(name) for name in names), default=0)
    for name, partial in zip(names, partials):
        print(f"∂f/∂{name.ljust(width)} = {_show(partial)}")
    for name_i, name_j, second in seconds:
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

    writable_path(args.output, "-o")  # before any work; and a missing directory is not created
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
    """Gradcheck the formula at random points of --range; 1 and the shrunk failing point when one fails."""
    try:
        from hypothesis.errors import Unsatisfiable
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
    points = _PointCheck(text, names, _kink_margin(low, high), args.second_order)
    try:
        _property_test(points, args.examples, args.seed, low, high)()
    except Unsatisfiable:
        raise UsageError(
            f"no point in [{low:g}, {high:g}] where the formula is defined away from kinks; try --range"
        ) from None
    except GradcheckError:
        point, failure = points.failures[-1]  # the last failing call is Hypothesis's shrunk example
        where = ", ".join(f"{name} = {value!r}" for name, value in point.items())
        print(f"check: FAILED at {where}\n{failure}")
        return EXIT_CHECK_FAILED
    order = "first and second derivatives" if args.second_order else "derivatives"
    print(
        f"check: passed: {order} agree with central differences at {points.checked} points in "
        f"[{low:g}, {high:g}] ({points.skipped} points outside the domain or within {points.margin:g} of a "
        "kink skipped)"
    )
    return EXIT_OK


def _kink_margin(low: float, high: float) -> float:
    """How close to a kink or a domain edge a point may be: KINK_MARGIN, less for a narrow --range (so
    that [0.0001, 0.0004] still has points to check), never under 100 steps of the central difference."""
    return max(min(KINK_MARGIN, (high - low) / 4), 100 * DEFAULT_EPS)


class _PointCheck:
    """The check at one point: skip it (outside the domain, near a kink), or gradcheck it."""

    def __init__(self, text: str, names: list[str], margin: float, second_order: bool) -> None:
        self.text, self.names, self.margin, self.second_order = text, names, margin, second_order
        self.f = _formula_function(text, names)
        self.checked = self.skipped = 0
        self.failures: list[tuple[dict[str, float], GradcheckError]] = []

    def __call__(self, point: dict[str, float]) -> bool:
        """True when the point was checked (and passed), False when it was skipped; GradcheckError else."""
        try:
            root, _ = parse_with_inputs(self.text, point)
            if near_kinks_or_edges(root, self.margin):
                self.skipped += 1
                return False
            gradcheck(self.f, list(point.values()), labels=self.names)
            if self.second_order:
                gradgradcheck(self.f, list(point.values()), labels=self.names)
        except (ExpressionError, OperationError, NonFiniteError) as exc:
            if isinstance(exc, ExpressionError) and not isinstance(
                exc.__cause__, (OperationError, NonFiniteError)
            ):
                raise
            self.skipped += 1  # outside the domain here (or a step away): not a point to judge
            return False
        except GradcheckError as failure:
            self.failures.append((point, failure))
            raise
        self.checked += 1
        return True


def _property_test(
    points: _PointCheck, examples: int, seed: int | None, low: float, high: float
) -> Callable[[], None]:
    """The Hypothesis test that draws points in [low, high] and checks each (skipped points are rejected,
    so they do not count as examples); derandomized unless a seed is given."""
    from hypothesis import HealthCheck, Verbosity, given, reject, settings
    from hypothesis import seed as hypothesis_seed

    from tinygrad_w.testing.strategies import inputs_for

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @given(inputs_for(points.names, low, high))
    def property_test(point: dict[str, float]) -> None:
        if not points(point):
            reject()

    return property_test if seed is None else hypothesis_seed(seed)(property_test)
