"""Tests of tinygrad_w.strategies: generated expressions are valid (inside every domain, readable back by
parse, equal to an independent float evaluation), their gradients pass gradcheck, a broken op is caught
and shrinks to a tiny formula, and the failure message names a drawing of the graph."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import Op, Value, parse, parse_with_inputs
from tinygrad_w.errors import GradcheckError
from tinygrad_w.testing.gradcheck import gradcheck, gradcheck_parameters
from tinygrad_w.testing.strategies import (
    BOUND,
    BUILTIN_OPS,
    DEFAULT_OPS,
    Apply,
    Constant,
    ExpressionCase,
    MLPCase,
    Variable,
    check_case,
    draw_failure,
    expression_cases,
    expressions,
    inputs_for,
    mlp_cases,
    near_kinks_or_edges,
    op_spec,
)

# cube(x) = x³ with a wrong derivative (3x² + 1, wrong everywhere, even at 0): the bug the strategies must
# find. (A derivative that happens to be right at 0, like 2x², lets the shrinker trade the formula's size
# for x = 0 and stop at a slightly bigger formula such as cube(2.0 + x).)
BROKEN_CUBE = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * x * x + 1.0,))
RIGHT_CUBE = Op("cube", lambda m, x: x * x * x, lambda m, out, x: (3.0 * x * x,))


@settings(max_examples=150)
@given(expression_cases())
def test_generated_expressions_are_valid_and_read_back(case: ExpressionCase) -> None:
    root, leaves = case.build()
    # the engine agrees with the independent float evaluation
    assert root.data == pytest.approx(case.expression.evaluate(case.point), rel=1e-9, abs=1e-12)
    # every node inside its domain, away from kinks, and bounded
    assert near_kinks_or_edges(root, margin=0.05) == []
    assert all(abs(node.data) <= BOUND for node in _nodes(root))
    # the formula is read back by parse into the same value and gradients
    parsed, parsed_leaves = parse_with_inputs(case.expression.formula(), case.point)
    assert parsed.data == root.data
    root.backward()
    parsed.backward()
    assert [parsed_leaves[name].grad for name in case.names] == [leaf.grad for leaf in leaves]
    assert set(case.expression.variables()) <= set(case.names)


def _nodes(root: Value) -> list[Value]:
    from tinygrad_w import topological_order

    return topological_order(root)


@settings(max_examples=150)
@given(expression_cases())
def test_generated_expressions_pass_gradcheck(case: ExpressionCase) -> None:
    check_case(case)


@settings(max_examples=40)
@given(expression_cases(max_depth=3, variables=("x", "y")))
def test_generated_expressions_pass_gradgradcheck(case: ExpressionCase) -> None:
    check_case(case, second_order=True)


def test_strategies_cover_every_op_and_several_variables() -> None:
    seen_ops: set[str] = set()
    seen_counts: set[int] = set()

    # A statement about the distribution, not a property of each example: a random run misses one op
    # (usually relu) in about 1 run of 8, so this one is always derandomized (as every test is in CI).
    @settings(max_examples=200, database=None, derandomize=True)
    @given(expression_cases())
    def collect(case: ExpressionCase) -> None:
        seen_counts.add(len(case.names))

        def note(spec: object, *args: object) -> None:
            seen_ops.add(spec.name)  # type: ignore[attr-defined]

        case.expression.fold(lambda n: None, lambda c: None, note)

    collect()
    assert seen_ops == set(BUILTIN_OPS)
    assert seen_counts == {1, 2, 3}


def test_expression_objects() -> None:
    x = Variable("x")
    expression = Apply(BUILTIN_OPS["mul"], (Apply(BUILTIN_OPS["tanh"], (x,)), Constant(-1.5)))
    assert expression.formula() == "(tanh(x) * (-1.5))"
    assert str(expression) == expression.formula()
    assert expression.size() == 4
    assert expression.variables() == ["x"]
    assert expression.evaluate({"x": 0.5}) == pytest.approx(math.tanh(0.5) * -1.5)
    power = Apply(BUILTIN_OPS["pow"], (x,), 2.0)
    assert power.formula() == "(x ** 2.0)" and power.size() == 2
    assert parse(power.formula(), x=3.0).data == 9.0
    case = ExpressionCase(expression, {"x": 0.5, "y": 1.0})
    assert str(case) == "f = (tanh(x) * (-1.5)) at x = 0.5, y = 1.0"
    root, leaves = case.build()
    assert [leaf.label for leaf in leaves] == ["x", "y"]
    assert root.data == pytest.approx(math.tanh(0.5) * -1.5)


def test_near_kinks_or_edges_reads_any_graph() -> None:
    x = Value(0.001, "x")
    assert near_kinks_or_edges(x.relu() + (x + 1).log()) == [
        "relu: input 0.001 is within 0.05 of its kink at 0"
    ]
    assert near_kinks_or_edges((1 / x) + x**2, margin=1e-4) == []
    assert len(near_kinks_or_edges((1 / x) + x**0.5 + x**2)) == 2  # x ** 2 is smooth at 0
    assert near_kinks_or_edges(Value(-1.0).abs().tanh()) == []


@settings(max_examples=20)
@given(inputs_for(["a", "b"], low=-1.0, high=1.0))
def test_inputs_for(point: dict[str, float]) -> None:
    assert list(point) == ["a", "b"]
    assert all(-1.0 <= v <= 1.0 for v in point.values())


def test_expressions_strategy_and_argument_checks() -> None:
    expression = find(expressions(), lambda e: e.size() >= 3, settings=settings(database=None))
    assert expression.size() == 3  # shrinks to the smallest such expression
    with pytest.raises(ValueError, match=r"^expression_cases: ops must be a non-empty list of OpSpecs"):
        expression_cases(ops=[])
    for kwargs, error, message in [
        ({"ops": [lambda x: x]}, tg.OperandTypeError, "ops must be OpSpecs"),
        ({"variables": "x"}, tg.ArgumentError, "variables must be a non-empty list of names"),
        ({"variables": ["x", "x"]}, tg.ArgumentError, "variables must be distinct names"),
        ({"max_depth": 10**9}, tg.ArgumentError, "max_depth must be an integer >= 0 and <= 20"),
        ({"low": 2.0, "high": 1.0}, tg.ArgumentError, "needs low < high"),
        ({"low": math.nan}, tg.NonFiniteError, "low must be finite"),
    ]:
        with pytest.raises(error, match=f"^expression_cases: {message}"):
            expression_cases(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(tg.ArgumentError, match=r"^inputs_for: variables must be a non-empty list"):
        inputs_for([])
    with pytest.raises(tg.OperandTypeError, match=r"^check_case: expected an ExpressionCase"):
        check_case("x")  # type: ignore[arg-type]


def fails_gradcheck(case: ExpressionCase) -> bool:
    try:
        gradcheck(case.function(), list(case.point.values()), labels=case.names)
    except GradcheckError:
        return True
    return False


def test_a_broken_op_shrinks_to_a_tiny_formula() -> None:
    ops = [*DEFAULT_OPS, op_spec(BROKEN_CUBE)]
    smallest = find(
        expression_cases(ops), fails_gradcheck, settings=settings(database=None, max_examples=1000)
    )
    assert smallest.expression.formula() == "cube(x)"
    assert smallest.expression.size() == 2
    assert smallest.names == ["x"]


def test_a_right_custom_op_passes_inside_random_expressions() -> None:
    ops = [*DEFAULT_OPS, op_spec(RIGHT_CUBE, allowed=lambda a: abs(a) <= 4)]

    @settings(max_examples=60, database=None)
    @given(expression_cases(ops))
    def property_test(case: ExpressionCase) -> None:
        check_case(case, second_order=True)
        # formulas with a custom op read back with functions=
        parsed, _ = parse_with_inputs(case.expression.formula(), case.point, functions={"cube": RIGHT_CUBE})
        assert parsed.data == case.build()[0].data

    property_test()


def test_failure_message_names_the_drawing(tmp_path: Path) -> None:
    ops = [*DEFAULT_OPS, op_spec(BROKEN_CUBE)]

    @settings(max_examples=300, database=None)
    @given(expression_cases(ops))
    def property_test(case: ExpressionCase) -> None:
        check_case(case, directory=tmp_path)

    with pytest.raises(GradcheckError) as caught:
        property_test()
    message = str(caught.value)
    assert message.startswith("f = cube(x) at x = ")  # shrunk
    assert "<-- FAIL" in message
    drawn = message.splitlines()[-1]
    assert drawn.startswith("graph drawn to ")
    path = Path(drawn.removeprefix("graph drawn to "))
    assert path.parent == tmp_path and path.exists()
    assert "cube" in path.read_text()


def test_draw_failure_writes_svg_with_values(tmp_path: Path, dot_binary: str) -> None:
    x = Variable("x")
    case = ExpressionCase(Apply(BUILTIN_OPS["tanh"], (x,)), {"x": 0.5})
    path = draw_failure(case, tmp_path)
    assert path.suffix == ".svg"
    assert path.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert draw_failure(case, tmp_path) == path  # same case, same file


@settings(max_examples=25)
@given(mlp_cases())
def test_small_mlps_pass_gradcheck(case: MLPCase) -> None:
    assert gradcheck(lambda *xs: case.model(list(xs)), case.inputs)  # type: ignore[arg-type,return-value]
    assert gradcheck_parameters(case.loss, case.model.parameters())


@settings(max_examples=10)
@given(mlp_cases(max_inputs=1, max_hidden_layers=0, activations=("tanh",)))
def test_mlp_cases_respect_their_bounds(case: MLPCase) -> None:
    assert case.model.nin == 1 and case.model.nouts == [1]
    assert isinstance(case.loss(), Value)


def test_custom_op_spec_evaluates_with_its_forward() -> None:
    spec = op_spec(RIGHT_CUBE)
    assert spec.evaluate(2.0) == 8.0
    assert spec.show("x") == "cube(x)"
    assert spec.build(Value(2.0)).data == 8.0
    two = op_spec(
        Op("hyp", lambda m, a, b: m.sqrt(a * a + b * b), lambda m, o, a, b: (a / o, b / o)), arity=2
    )
    assert two.show("x", "y") == "hyp(x, y)"
    assert st is not None


def test_mlp_cases_read_no_network_code_by_default_and_take_any_builder() -> None:
    import functools

    from tinygrad_w import MLP
    from tinygrad_w.testing.strategies import SmallNetwork

    network = SmallNetwork(2, [3, 1], "tanh", seed=4)
    assert len(network.parameters()) == 13 and isinstance(network([0.5, -1.0]), Value)
    assert [p.data for p in network.parameters()] == [
        p.data for p in SmallNetwork(2, [3, 1], "tanh", seed=4).parameters()
    ]
    assert gradcheck(lambda a, b: network([a, b]), [0.5, -1.0])  # type: ignore[arg-type, return-value]

    @settings(max_examples=10)
    @given(mlp_cases(make=functools.partial(MLP, fused=True)))
    def package_mlps(case: MLPCase) -> None:
        assert isinstance(case.model, MLP) and case.model.fused
        assert gradcheck_parameters(case.loss, case.model.parameters())

    package_mlps()


def test_op_spec_keeps_away_from_the_ops_declared_kinks() -> None:
    bump = Op("bump", lambda m, x: m.relu(x - 1.0), lambda m, out, x: (m.step(x - 1.0),), kinks=((0, 1.0),))
    spec = op_spec(bump)
    assert not spec.allowed(1.01) and spec.allowed(1.2) and spec.allowed(0.5)
    assert not BUILTIN_OPS["relu"].allowed(0.01) and BUILTIN_OPS["relu"].allowed(-0.5)
    assert not BUILTIN_OPS["div"].allowed(1.0, 0.1)  # a divisor near 0 (kink and domain rule)
    with pytest.raises(tg.OperandTypeError, match=r"^op_spec: expected a tinygrad_w.Op, got function"):
        op_spec(lambda x: x)  # type: ignore[arg-type]
