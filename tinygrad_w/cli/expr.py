"""Build a Value graph from a formula written as text: ``parse("tanh(2*x + b)", x=0.5, b=-1)``.

The text is read with Python's :mod:`ast` (into a syntax tree only: nothing is compiled into code, nothing
is evaluated by Python) and then walked node by node against a whitelist:

- numbers (finite, at most ``MAX_NUMBER`` in size) and variable names given as keyword arguments,
- the operators ``+ - * / **`` and unary ``-`` and ``+``,
- calls of the engine's functions: exp, log, sqrt, tanh, sigmoid, relu, abs, softplus, and
  ``leaky_relu(x)`` or ``leaky_relu(x, slope)`` with a constant slope.

Anything else (attribute access, subscripts, lambdas, comprehensions, other calls, keyword arguments,
strings, booleans, ...) raises :class:`~tinygrad_w.errors.ExpressionError`, whose message names the column
and shows the offending part under a caret line. Resource limits keep hostile text cheap to refuse: at most
``MAX_LENGTH`` characters, ``MAX_DEPTH`` levels of nesting, and constant exponents of at most
``MAX_EXPONENT`` in size. All arithmetic is on floats, so even a folded ``9**9**9`` cannot build a giant
integer: its inner ``9**9`` is already over the exponent limit. Parts without variables are folded into one
number (``2*3*x`` is ``6.0 * x``).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from tinygrad_w.core.ops import Op
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import ExpressionError, OperandTypeError, TinygradError, show

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NUMBER",
    "parse",
    "parse_with_inputs",
    "variable_names",
]

MAX_LENGTH = 1000  # characters of text
MAX_DEPTH = 100  # nesting of the syntax tree (each operator or call is one level)
MAX_NUMBER = 1e15  # largest number written in the text (integers stay exact below 2**53 ≈ 9e15)
MAX_EXPONENT = 1000.0  # largest constant exponent in a ** k


# The engine's functions a formula may call: (how to apply it to a Value, fewest and most arguments).
# Arguments after the first are constants (the slope of leaky_relu).
FUNCTIONS: dict[str, tuple[Callable[..., Value], int, int]] = {
    "exp": (Value.exp, 1, 1),
    "log": (Value.log, 1, 1),
    "sqrt": (Value.sqrt, 1, 1),
    "tanh": (Value.tanh, 1, 1),
    "sigmoid": (Value.sigmoid, 1, 1),
    "relu": (Value.relu, 1, 1),
    "abs": (Value.abs, 1, 1),
    "softplus": (Value.softplus, 1, 1),
    "leaky_relu": (Value.leaky_relu, 1, 2),
}

_BINARY: dict[type[ast.operator], Callable[[Value | float, Value | float], Value]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}

# What to call the constructs we refuse, so the message speaks the user's language.
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.Starred: "star arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.keyword: "keyword arguments",
}

_OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}


def parse(text: str, /, **variables: Value | float) -> Value:
    """The Value computed by the formula ``text``, with each variable given as a keyword argument.

    A variable given as a number becomes a leaf Value labelled with its name; a Value is used as it is
    (so you can differentiate with respect to Values you already hold). Example::

        y = parse("tanh(2*x + b)", x=0.5, b=-1.0)
        y.backward()

    Raises ExpressionError (a ValueError) pointing at the offending part of the text.
    """
    return _read(text, variables, None, "parse")[0]


def parse_with_inputs(
    text: str,
    variables: Mapping[str, Value | float] | None = None,
    *,
    functions: Mapping[str, Op] | None = None,
) -> tuple[Value, dict[str, Value]]:
    """The formula's Value and the leaf Value of every given variable (by name, in the given order).

    ``functions`` adds your own operations (``tinygrad_w.Op`` objects) under the given names, next to the
    built-in ones; their arguments may be Values or constants. Variables the formula does not use still get
    a leaf (their gradient is 0).
    """
    return _read(text, variables, functions, "parse_with_inputs")


def _read(text: str, variables: object, functions: object, where: str) -> tuple[Value, dict[str, Value]]:
    """Check the arguments, read the text into a syntax tree, evaluate it on the variables' leaves."""
    if variables is not None and not isinstance(variables, Mapping):
        raise OperandTypeError(
            f"{where}: variables must be a mapping of name to value (a dict), got "
            f"{type(variables).__name__} {show(variables)}"
        )
    with _named(where):
        own = _functions(functions, where)
        leaves = _leaves(variables or {}, own)
        tree = _syntax_tree(text, own)
        result = _Evaluator(text, leaves, own).evaluate(tree)
    return (result if isinstance(result, Value) else Value(result)), leaves


@contextmanager
def _named(where: str) -> Iterator[None]:
    """An ExpressionError raised inside gets the name of the function that was called in front."""
    try:
        yield
    except ExpressionError as error:
        raise ExpressionError(f"{where}: {error}", error.text, error.column) from error.__cause__


def variable_names(text: str, *, functions: Mapping[str, Op] | None = None) -> list[str]:
    """The variable names the formula uses, in order of first appearance (the text is fully checked)."""
    with _named("variable_names"):
        return _variable_names(text, _functions(functions, "variable_names"))


def _variable_names(text: str, functions: Mapping[str, Op]) -> list[str]:
    tree = _syntax_tree(text, functions)
    names: list[str] = []
    for node in _nodes_in_order(tree):
        is_function = isinstance(node, ast.Name) and (node.id in FUNCTIONS or node.id in functions)
        if (
            isinstance(node, ast.Name)
            and node.id not in names
            and not is_function
            and not _is_called(node, tree)
        ):
            names.append(node.id)
    # Evaluate once with harmless values, so every other problem in the text is reported now too.
    _Evaluator(text, {name: Value(0.5, name) for name in names}, functions, check_only=True).evaluate(tree)
    return names


# ----------------------------------------------------------------------------------------------------
# Reading the text


def _fail(problem: str, text: str, start: int = -1, end: int = -1) -> ExpressionError:
    """An ExpressionError whose message shows the text with a caret line under characters [start, end)."""
    if start < 0:
        return ExpressionError(f"{problem}: {show(text, 60)}", text, 0)
    end = max(end, start + 1)
    excerpt = text[start:end]
    shown = _shorten(text)
    caret = ""
    if len(text) <= 120:  # a caret line only when the whole text fits on a line
        caret = f"\n  {shown}\n  {' ' * start}{'^' * (end - start)}"
    return ExpressionError(f"{problem} (column {start + 1}: {show(excerpt, 40)}){caret}", text, start + 1)


def _shorten(text: str) -> str:
    """The text as a message shows it: at most 120 characters, each control character as a visible symbol
    of the same width (␀ for NUL, ␊ for a newline), so the caret line below still lines up."""
    visible = "".join(_visible(c) for c in text)
    return visible if len(visible) <= 120 else visible[:117] + "..."


def _visible(character: str) -> str:
    if character.isprintable():
        return character
    if ord(character) < 0x20:
        return chr(0x2400 + ord(character))  # the Unicode control pictures: ␀ ␉ ␊ ...
    return "\ufffd"


def _syntax_tree(text: str, functions: Mapping[str, Op]) -> ast.Expression:
    """Check the raw text's size and characters, then parse it into a syntax tree within the depth limit."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected the formula as a str, got {type(text).__name__} {show(text)}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"formula too long: {len(text)} characters (the limit is {MAX_LENGTH})", "", 0)
    if not text.strip():
        raise ExpressionError("empty formula", text, 0)
    for column, character in enumerate(text):
        if not character.isprintable():
            raise _fail(f"character {character!r} is not allowed (one printable line only)", text, column)
    # Nesting is limited before Python's parser sees the text (its own limit is a crash, not a message).
    depth = 0
    for column, character in enumerate(text):
        depth += character in "([{"
        depth -= character in ")]}"
        if depth > MAX_DEPTH:
            raise _fail(f"too deeply nested (more than {MAX_DEPTH} levels)", text, column)
    indent = len(text) - len(text.lstrip())  # Python would call leading spaces an indentation error
    try:
        with warnings.catch_warnings():  # Python's SyntaxWarnings about the user's text are ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(text[indent:], mode="eval")
    except SyntaxError as exc:
        if not exc.offset:  # Python gives no position when the text stops in the middle of a formula
            raise _fail("syntax error: the formula is incomplete", text, len(text.rstrip()) - 1) from None
        column = min(indent + exc.offset - 1, len(text) - 1)
        raise _fail(f"syntax error: {exc.msg}", text, column) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise _fail("formula too complex to read", text) from None
    if indent:
        for node in ast.walk(tree):
            if isinstance(node, (ast.expr, ast.keyword)):
                node.col_offset += indent
                if node.end_col_offset is not None:
                    node.end_col_offset += indent
    _check_depth(tree, text)
    return tree


def _check_depth(tree: ast.Expression, text: str) -> None:
    """Refuse more than MAX_DEPTH operators and calls nested in one another (``exp(exp(x))`` is 2 levels;
    a variable or a number is none). An explicit stack: no recursion on hostile input."""
    stack: list[tuple[ast.AST, int]] = [(tree.body, 0)]
    while stack:
        node, above = stack.pop()
        inner = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        if inner and above + 1 > MAX_DEPTH:
            start, end = _span(node, text)
            raise _fail(f"too deeply nested (more than {MAX_DEPTH} levels)", text, start, end)
        stack.extend((child, above + 1) for child in inner)


def _span(node: ast.AST, text: str) -> tuple[int, int]:
    """Character columns [start, end) of a node (ast counts UTF-8 bytes; we count characters)."""
    encoded = text.encode("utf-8")

    def to_characters(byte_offset: int | None) -> int:
        if byte_offset is None:
            return -1
        return len(encoded[:byte_offset].decode("utf-8", errors="ignore"))

    start = to_characters(getattr(node, "col_offset", None))
    end = to_characters(getattr(node, "end_col_offset", None))
    return start, end if end > start else start + 1


def _nodes_in_order(tree: ast.AST) -> list[ast.AST]:
    """Every node, left to right as written (an explicit stack; depth was checked already)."""
    order: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return order


def _is_called(name: ast.Name, tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Call) and node.func is name for node in ast.walk(tree))


def _functions(functions: object, where: str) -> Mapping[str, Op]:
    """The caller's own operations by name: Ops under valid names that are not built-in functions (an
    ``exp`` of your own would silently change what every formula means)."""
    if functions is None:
        return {}
    if not isinstance(functions, Mapping):
        raise OperandTypeError(f"{where}: functions must be a mapping of name to Op, got {show(functions)}")
    for name, op in functions.items():
        if not isinstance(name, str) or not name.isidentifier() or not isinstance(op, Op):
            raise ExpressionError(
                f"function {show(name)}: expected a tinygrad_w.Op under a valid name, got {show(op)}"
            )
        if name in FUNCTIONS:
            raise ExpressionError(f"function name {name!r} is a built-in function; give your op another name")
    return functions


def _leaves(variables: Mapping[str, Value | float], functions: Mapping[str, Op]) -> dict[str, Value]:
    """A leaf Value per variable (a Value given is used as it is)."""
    leaves: dict[str, Value] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ExpressionError(f"variable name {show(name)} is not a valid name")
        if name in FUNCTIONS or name in functions:
            raise ExpressionError(f"variable name {name!r} is taken by a function of the same name")
        if isinstance(value, Value):
            leaves[name] = value
            continue
        try:
            leaves[name] = Value(as_real(value, name), name)
        except TinygradError:
            raise ExpressionError(
                f"variable {name}: expected a finite number or a Value, got {show(value)}"
            ) from None
    return leaves


# ----------------------------------------------------------------------------------------------------
# Walking the tree


class _Evaluator:
    """Evaluates a checked syntax tree: Values where variables are involved, floats for constants."""

    def __init__(
        self, text: str, variables: Mapping[str, Value], functions: Mapping[str, Op], check_only: bool = False
    ) -> None:
        self.text = text
        self.variables = variables
        self.functions = functions
        self.check_only = check_only  # variable_names(): a domain error at the dummy values is no problem

    def fail(self, problem: str, node: ast.AST) -> ExpressionError:
        start, end = _span(node, self.text)
        return _fail(problem, self.text, start, end)

    def evaluate(self, node: ast.AST) -> Value | float:
        if isinstance(node, ast.Expression):
            return self.evaluate(node.body)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.variable(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _REFUSED.get(type(node), f"{type(node).__name__} expressions")
        raise self.fail(f"{what} not allowed", node)

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if type(value) is not int and type(value) is not float:  # exact types: a bool is an int too
            kind = {bool: "booleans", str: "strings", bytes: "bytes", complex: "complex numbers"}.get(
                type(value), f"the constant {show(value, 40)}"
            )
            raise self.fail(f"{kind} not allowed: only numbers and variables", node)
        assert isinstance(value, (int, float))
        if isinstance(value, int) and abs(value) > MAX_NUMBER:
            raise self.fail(f"number too large (the limit is {MAX_NUMBER:g})", node)
        number = float(value)
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            raise self.fail(f"number too large (the limit is {MAX_NUMBER:g})", node)
        return number

    def variable(self, node: ast.Name) -> Value:
        if node.id in FUNCTIONS or node.id in self.functions:
            raise self.fail(f"{node.id!r} is a function: call it, as in {node.id}(x)", node)
        if node.id in self.variables:
            return self.variables[node.id]
        example = f"{node.id}=1.5" if len(node.id) <= 20 else "NAME=1.5"
        raise self.fail(f"variable {show(node.id, 40)} has no value: give it one, as in {example}", node)

    def unary(self, node: ast.UnaryOp) -> Value | float:
        if isinstance(node.op, ast.UAdd):
            return self.evaluate(node.operand)
        if not isinstance(node.op, ast.USub):
            raise self.fail(f"operator {_OPERATOR_TEXT.get(type(node.op), '?')!r} not allowed", node)
        operand = self.evaluate(node.operand)
        return -operand

    def binary(self, node: ast.BinOp) -> Value | float:
        rule = _BINARY.get(type(node.op))
        if rule is None:
            symbol = _OPERATOR_TEXT.get(type(node.op), "?")
            raise self.fail(f"operator {symbol!r} not allowed: only + - * / **", node)
        left = self.evaluate(node.left)
        right = self.evaluate(node.right)
        if isinstance(node.op, ast.Pow) and not isinstance(right, Value) and abs(right) > MAX_EXPONENT:
            raise self.fail(f"exponent {right:g} too large (the limit is {MAX_EXPONENT:g})", node.right)
        return self.apply(rule, (left, right), node)

    def call(self, node: ast.Call) -> Value | float:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.fail("attribute access not allowed", node.func)
            raise self.fail("only calls of the engine's functions allowed", node.func)
        name = node.func.id
        for part in [*node.args, *node.keywords]:
            if isinstance(part, (ast.Starred, ast.keyword)):
                raise self.fail(f"{_REFUSED[type(part)]} not allowed", part)
        if name in self.functions:
            op = self.functions[name]
            arguments = tuple(self.evaluate(argument) for argument in node.args)
            return self.apply(op, arguments, node)
        if name not in FUNCTIONS:
            known = ", ".join(sorted([*FUNCTIONS, *self.functions]))
            raise self.fail(
                f"unknown function {show(name, 40)}; the functions are {show(known, 200)}", node.func
            )
        rule, fewest, most = FUNCTIONS[name]
        if not fewest <= len(node.args) <= most:
            count = f"{fewest}" if fewest == most else f"{fewest} or {most}"
            raise self.fail(f"{name} takes {count} argument(s), got {len(node.args)}", node)
        arguments = tuple(self.evaluate(argument) for argument in node.args)
        for position, argument in enumerate(arguments[1:], start=1):
            if isinstance(argument, Value):
                raise self.fail(
                    f"argument {position + 1} of {name} must be a constant number", node.args[position]
                )
        return self.apply(rule, arguments, node)

    def apply(
        self, rule: Callable[..., Value], arguments: tuple[Value | float, ...], node: ast.AST
    ) -> Value | float:
        """Apply an engine operation; with constants only, fold the result into a number."""
        constant = not any(isinstance(a, Value) for a in arguments)
        if constant and arguments:
            arguments = (Value(float(arguments[0])), *arguments[1:])
        try:
            result = rule(*arguments)
        except (TinygradError, ArithmeticError, ValueError, TypeError) as exc:
            if self.check_only and isinstance(exc, (ArithmeticError, ValueError)):
                return 1.0  # variable_names() checks the shape of the text, not the dummy values
            raise self.fail(f"cannot evaluate: {exc}", node) from exc
        if not isinstance(result, Value):
            raise self.fail(f"function returned {type(result).__name__}, not a Value", node)
        return result.data if constant else result
