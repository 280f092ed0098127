"""Tests of tinygrad_w.expr: formulas build the same graph as Python code would, everything outside the
whitelist is refused with an ExpressionError pointing at the offending part, and fuzzed text or syntax
trees never run code and never fail with any other error."""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import Op, Value, grad
from tinygrad_w.cli.expr import MAX_DEPTH, MAX_LENGTH, parse, parse_with_inputs, variable_names
from tinygrad_w.core.ops import LOG
from tinygrad_w.errors import ExpressionError, TinygradError
from tinygrad_w.testing.gradcheck import gradcheck


def test_builds_the_same_value_and_gradients_as_code() -> None:
    y, leaves = parse_with_inputs("tanh(2*x + b) * exp(-x) / sqrt(b**2 + 1)", {"x": 0.5, "b": -1.0})
    x, b = Value(0.5), Value(-1.0)
    expected = (2 * x + b).tanh() * (-x).exp() / (b**2 + 1).sqrt()
    assert y.data == pytest.approx(expected.data, rel=1e-15)
    assert grad(y, [leaves["x"], leaves["b"]]) == pytest.approx(grad(expected, [x, b]), rel=1e-12)
    assert leaves["x"].label == "x"


def test_every_function_and_operator() -> None:
    text = (
        "exp(x) + log(x) + sqrt(x) + tanh(x) + sigmoid(x) + relu(x) + abs(x) + softplus(x) + leaky_relu(-x)"
        " + leaky_relu(-x, 0.2) - x * x / x ** 2 + x ** y + +x - -x"
    )
    x, y = 0.7, 1.3
    expected = (
        math.exp(x) + math.log(x) + math.sqrt(x) + math.tanh(x) + 1 / (1 + math.exp(-x)) + x + x
        + math.log1p(math.exp(x)) - 0.01 * x - 0.2 * x - 1.0 + x**y + x + x
    )  # fmt: skip
    assert parse(text, x=x, y=y).data == pytest.approx(expected, rel=1e-12)


def test_constants_are_folded_and_value_variables_used_as_given() -> None:
    w = Value(3.0, "w")
    y, leaves = parse_with_inputs("2 * 3 * w + 2 ** -1", {"w": w, "unused": 1.0})
    assert y.data == 18.5
    assert leaves["w"] is w
    assert grad(y, [w, leaves["unused"]]) == [6.0, 0.0]
    assert [c for c in y.children if not isinstance(c, Value)] == [0.5]  # 2 ** -1 folded
    assert parse("x", x=w) is w
    constant = parse("1 + 2")
    assert constant.data == 3.0 and constant.op is None
    assert parse("  x  ", x=1.0).data == 1.0


def test_custom_functions_use_the_op_mechanism() -> None:
    cube = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * x * x,))
    y, leaves = parse_with_inputs("cube(x) + cube(2)", {"x": 2.0}, functions={"cube": cube})
    assert y.data == 16.0
    assert grad(y, [leaves["x"]]) == [12.0]
    with pytest.raises(ExpressionError, match="unknown function 'cube'"):
        parse("cube(x)", x=2.0)
    with pytest.raises(ExpressionError, match=r"expected a tinygrad_w\.Op"):
        parse_with_inputs("x", {"x": 1.0}, functions={"cube": lambda x: x})  # type: ignore[dict-item]


REFUSED = [
    ("x.__class__", "attribute access", 1),
    ("exp(x).data", "attribute access", 1),
    ("x.exp()", "attribute access", 1),
    ("x[0]", "subscripts", 1),
    ("lambda: 1", "lambda", 1),
    ("[a for a in (x,)]", "comprehensions", 1),
    ("(a for a in (x,))", "generator expressions", 1),
    ("__import__('os')", "unknown function '__import__'", 1),
    ("print(x)", "unknown function 'print'", 1),
    ("(lambda: 1)()", "only calls of the engine's functions", 2),
    ("exp(x=1)", "keyword arguments", 5),
    ("exp(*x)", "star arguments", 5),
    ("exp(x, x)", "exp takes 1 argument", 1),
    ("leaky_relu(x, x)", "must be a constant number", 15),
    ("'text'", "strings", 1),
    ("b'x'", "bytes", 1),
    ("True + x", "booleans", 1),
    ("None", "the constant None", 1),
    ("1j * x", "complex numbers", 1),
    ("x < 1", "comparisons", 1),
    ("x and 1", "'and' / 'or'", 1),
    ("x if x else 1", "conditional expressions", 1),
    ("[x]", "lists", 1),
    ("x, 1", "tuples", 1),
    ("{x: 1}", "dicts", 1),
    ("f'{x}'", "f-strings", 1),
    ("(y := 2)", "assignment expressions", 2),
    ("x // 2", "operator '//'", 1),
    ("x % 2", "operator '%'", 1),
    ("x @ x", "operator '@'", 1),
    ("~x", "operator '~'", 1),
    ("not x", "operator 'not'", 1),
    ("x + 1e400", "number too large", 5),
    ("x + 10000000000000000", "number too large", 5),
    ("9**9**9", "exponent 3.8742e+08 too large", 4),
    ("x ** 1001", "exponent 1001 too large", 6),
    ("y + x", "variable 'y' has no value", 1),
    ("exp + 1", "'exp' is a function", 1),
    ("x +", "the formula is incomplete", 3),
    ("x y", "syntax error", 3),
    ("x\n+ 1", "not allowed (one printable line only)", 2),
    ("x\x00", "not allowed (one printable line only)", 2),
    ("", "empty formula", 0),
    ("log(x - 1)", "cannot evaluate: log(-0.5): outside the domain", 1),
    ("x / (x - x)", "cannot evaluate: div(0.5, 0.0): division by zero", 1),
    ("exp(2000 * x)", "cannot evaluate: exp(1000.0)", 1),
]


@pytest.mark.parametrize(("text", "problem", "column"), REFUSED)
def test_refused_with_a_pointer_to_the_offending_part(text: str, problem: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text, x=0.5)
    message = str(caught.value)
    assert problem in message
    assert caught.value.column == column
    assert caught.value.text == text
    if column and "\n" not in text and "\x00" not in text:
        assert f"(column {column}: " in message
        shown, caret = message.splitlines()[1:3]
        assert shown == "  " + text
        assert caret.index("^") == column - 1 + 2


def test_the_error_is_a_typed_value_error() -> None:
    with pytest.raises(ValueError):
        parse("x.y", x=1.0)
    with pytest.raises(TinygradError):
        parse("x.y", x=1.0)
    assert issubclass(tg.ExpressionError, ExpressionError)


def test_an_evaluation_error_keeps_the_engine_error_as_its_cause() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("sqrt(x)", x=-1.0)
    assert isinstance(caught.value.__cause__, tg.DomainError)


def test_resource_limits() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        parse("x+" * MAX_LENGTH + "x", x=1.0)
    deep_parentheses = "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ExpressionError, match="too deeply nested"):
        parse(deep_parentheses, x=1.0)
    with pytest.raises(ExpressionError, match="too deeply nested"):
        parse("-" * 300 + "x", x=1.0)
    with pytest.raises(ExpressionError, match="too deeply nested"):
        parse("+".join(["x"] * 200), x=1.0)
    with pytest.raises(ExpressionError, match=r"syntax error|too long|too large"):
        parse("9" * 999, x=1.0)
    # within the limits, long and nested formulas are fine
    assert parse("+".join(["x"] * 50), x=1.0).data == 50.0
    assert parse("(" * 60 + "x" + ")" * 60, x=2.0).data == 2.0
    # a large exponent within the limit is evaluated on floats: an overflow is a clear error, not a hang
    with pytest.raises(ExpressionError, match="too large for a float"):
        parse("9.0 ** 999")
    assert parse("0.5 ** 999").data == 0.5**999


def test_bad_variables() -> None:
    with pytest.raises(ExpressionError, match="taken by a function"):
        parse("1", exp=1.0)
    with pytest.raises(ExpressionError, match="finite number or a Value"):
        parse("x", x="1")  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="finite number or a Value"):
        parse("x", x=math.inf)
    with pytest.raises(ExpressionError, match="finite number or a Value"):
        parse("x", x=True)
    with pytest.raises(ExpressionError, match="not a valid name"):
        parse_with_inputs("x", {"not a name": 1.0})
    with pytest.raises(ExpressionError, match="expected the formula as a str"):
        parse(b"x", x=1.0)  # type: ignore[arg-type]


def test_variable_names_in_order_of_appearance() -> None:
    assert variable_names("tanh(w*x + b) * exp(x) + leaky_relu(w, 0.1)") == ["w", "x", "b"]
    assert variable_names("log(x - 10)") == ["x"]  # the dummy values' domain does not matter
    assert variable_names("3 * 4") == []
    with pytest.raises(ExpressionError, match="attribute"):
        variable_names("x.y")
    with pytest.raises(ExpressionError, match="is a function"):
        variable_names("exp + exp(x)")


def test_gradcheck_of_a_parsed_formula() -> None:
    assert gradcheck(lambda x, y: parse("x * sigmoid(y) + x ** y", x=x, y=y), [1.5, 0.5])


# ----------------------------------------------------------------------------------------------------
# Fuzzing: no code runs, and the only error is ExpressionError


@contextlib.contextmanager
def no_code_execution() -> Iterator[None]:
    """eval and exec fail, and compile may only build syntax trees (what ast.parse does), never code."""
    real_compile = builtins.compile

    def syntax_tree_only(
        source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any
    ) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "compile() asked for a code object"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec called")

    with (
        mock.patch.object(builtins, "compile", syntax_tree_only),
        mock.patch.object(builtins, "eval", forbidden),
        mock.patch.object(builtins, "exec", forbidden),
    ):
        yield


def parse_or_refuse(text: str) -> None:
    with no_code_execution():
        try:
            result = parse(text, x=0.75, y=-1.25)
        except ExpressionError:
            return
    assert isinstance(result, Value) and math.isfinite(result.data)


PYTHONISH = st.sampled_from(
    [
        *"xy0123456789.+-*/()[]{}'\"_ ,:=<>!%@~^&|#\\e",
        *["exp", "log", "tanh", "relu", "leaky_relu", "lambda", "__import__", "os", "**", "for", "in", "if"],
        "1e400",
    ]
)


@settings(max_examples=300)
@given(st.lists(PYTHONISH, max_size=30).map("".join))
def test_fuzz_pythonish_text(text: str) -> None:
    parse_or_refuse(text)


@settings(max_examples=100)
@given(st.text(max_size=60))
def test_fuzz_any_text(text: str) -> None:
    parse_or_refuse(text)


def syntax_trees() -> st.SearchStrategy[ast.expr]:
    """Random Python expression trees, mostly outside the whitelist."""
    names = st.sampled_from(["x", "y", "z", "exp", "log", "leaky_relu", "__import__", "open", "os"])
    leaves = st.one_of(
        st.builds(ast.Name, names, st.just(ast.Load())),
        st.builds(
            ast.Constant,
            st.one_of(
                st.integers(-(10**20), 10**20),
                st.floats(allow_nan=False),
                st.text(max_size=3),
                st.booleans(),
                st.none(),
                st.complex_numbers(max_magnitude=10, allow_nan=False, allow_infinity=False),
            ),
        ),
    )
    binary_ops = st.sampled_from(
        [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.BitOr]
    )
    unary_ops = st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert])

    def extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        return st.one_of(
            st.builds(ast.BinOp, children, binary_ops.map(lambda op: op()), children),
            st.builds(ast.UnaryOp, unary_ops.map(lambda op: op()), children),
            st.builds(
                ast.Call,
                st.one_of(
                    st.builds(ast.Name, names, st.just(ast.Load())),
                    st.builds(
                        ast.Attribute,
                        children,
                        st.sampled_from(["data", "exp", "__class__"]),
                        st.just(ast.Load()),
                    ),
                ),
                st.lists(children, max_size=2),
                st.lists(st.builds(ast.keyword, st.sampled_from(["slope", "x"]), children), max_size=1),
            ),
            st.builds(ast.Attribute, children, st.sampled_from(["data", "__globals__"]), st.just(ast.Load())),
            st.builds(ast.Subscript, children, children, st.just(ast.Load())),
            st.builds(ast.Compare, children, st.just([ast.Lt()]), st.lists(children, min_size=1, max_size=1)),
            st.builds(ast.Tuple, st.lists(children, max_size=2), st.just(ast.Load())),
            st.builds(ast.IfExp, children, children, children),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=300)
@given(syntax_trees())
def test_fuzz_random_syntax_trees(tree: ast.expr) -> None:
    text = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    parse_or_refuse(text)


def test_hostile_text_does_not_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    attacks = [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        "x.__class__.__mro__[1].__subclasses__()",
        f"exp(x) + (lambda: open('{target}', 'w'))()",
        "[c for c in ().__class__.__base__.__subclasses__()]",
    ]
    for text in attacks:
        with pytest.raises(ExpressionError):
            parse(text, x=1.0)
    assert not target.exists()


# ----------------------------------------------------------------------------------------------------
# Hostile text and arguments


@pytest.mark.parametrize("shape", ["tanh({})", "-{}", "({} + x)", "x ** ({})"])
def test_the_depth_limit_counts_operators_and_calls(shape: str) -> None:
    def nested(depth: int) -> str:
        text = "x"
        for _ in range(depth):
            text = shape.format(text)
        return text

    for depth in (99, MAX_DEPTH):
        parse(nested(depth), x=0.5)  # allowed, up to and including the limit
    with pytest.raises(
        ExpressionError, match=rf"too deeply nested \(more than {MAX_DEPTH} levels\) \(column \d+"
    ) as caught:
        parse(nested(MAX_DEPTH + 1), x=0.5)
    assert caught.value.column >= 1


def test_the_caret_line_shows_control_characters_as_symbols() -> None:
    for text, symbol in [("x +\0 1", "␀"), ("x +\n 1", "␊"), ("x\t+ 1", "␉")]:
        with pytest.raises(ExpressionError) as caught:
            parse(text, x=1.0)
        message = str(caught.value)
        lines = message.splitlines()
        assert "\0" not in message and "\t" not in message and len(lines) == 3, message
        bad = next(c for c in text if not c.isprintable())
        assert lines[1] == "  " + text.replace(bad, symbol)
        assert lines[2].index("^") == lines[1].index(symbol)  # the caret is under the symbol


def test_own_functions_cannot_replace_built_in_ones() -> None:
    with pytest.raises(
        ExpressionError, match=r"^parse_with_inputs: function name 'exp' is a built-in function"
    ):
        parse_with_inputs("exp(x)", {"x": 1.0}, functions={"exp": LOG})
    with pytest.raises(tg.OperandTypeError, match=r"^parse_with_inputs: functions must be a mapping"):
        parse_with_inputs("x", {"x": 1.0}, functions=[LOG])  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match=r"^variable_names: function name 'log'"):
        variable_names("log(x)", functions={"log": LOG})


def test_variables_must_be_a_mapping_of_finite_numbers() -> None:
    with pytest.raises(
        tg.OperandTypeError,
        match=r"^parse_with_inputs: variables must be a mapping .*, got list \[\('x', 1\)\]",
    ):
        parse_with_inputs("x", [("x", 1)])  # type: ignore[arg-type]
    with pytest.raises(
        ExpressionError, match=r"^parse: variable x: expected a finite number or a Value, got 1000+\.\.\.$"
    ):
        parse("x", x=10**400)
    assert parse("x", x=np.float32(0.5)).data == 0.5
