"""Tests of tinygrad_w.adapter: checking an external micrograd-style engine (tests/external_engine.py).
A correct engine passes; a wrong tanh derivative is named as the wrong op; overwritten gradients are
caught on x * x and in a shrunk expression; a wrong forward value and a crashing op are reported too."""

from __future__ import annotations

from typing import Any

import pytest
from external_engine import Scalar, with_bugs

import tinygrad_w as tg
from tinygrad_w.testing.adapter import STANDARD_OPS, EngineAdapter, EngineReport, check_engine

SCALAR_OPS = {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "relu"}


def test_detects_the_ops_a_class_has() -> None:
    adapter = EngineAdapter.for_class(Scalar)
    assert set(adapter.ops) == SCALAR_OPS
    assert adapter.name == "Scalar"


def test_a_correct_engine_passes() -> None:
    report = check_engine(EngineAdapter.for_class(Scalar), examples=60)
    assert report.ok, str(report)
    text = str(report)
    assert "tanh        ok" in text
    assert "sigmoid     not provided" in text
    assert "all agree (60 random expressions" in text
    assert text.endswith("verdict: all ops and expressions agree")


def test_a_wrong_tanh_derivative_is_named() -> None:
    report = check_engine(EngineAdapter.for_class(with_bugs("tanh")), examples=60)
    assert not report.ok
    assert report.wrong_ops == ["tanh"]
    text = str(report)
    assert "tanh        WRONG DERIVATIVE  tanh at x = " in text
    assert "verdict: 1 wrong op(s): tanh" in text
    assert report.expression_failure == ""  # the other ops, combined, still agree


def test_overwritten_gradients_are_caught_with_the_same_input_twice() -> None:
    report = check_engine(EngineAdapter.for_class(with_bugs("accumulate")), examples=50)
    text = str(report)
    # alone, add(x, y) is right; add(x, x) is not
    assert "WRONG DERIVATIVE  add(x, x) at x = " in text
    assert "accumulate with +=" in text
    assert set(report.wrong_ops) == {"add", "sub", "mul", "div"}


def test_a_forgotten_chain_rule_shows_only_in_expressions() -> None:
    report = check_engine(EngineAdapter.for_class(with_bugs("chain")), examples=100)
    text = str(report)
    # every primitive op is right when applied to leaves; this engine's division is itself a composition
    # (a * b ** -1), so it already shows the bug
    assert report.wrong_ops == ["div"]
    assert "DISAGREE: the smallest failing expression found" in text
    formula = report.expression_failure.splitlines()[0]
    assert formula.startswith("f = ")
    assert len(formula) < 50, formula  # shrunk to a composition of two or three ops
    assert "<-- FAIL" in report.expression_failure
    assert "an expression of correct ops disagrees" in text
    assert "div" not in formula  # expressions use only the ops that passed


def test_explicit_ops_wrong_values_and_errors() -> None:
    def broken_exp(a: Any) -> Any:
        raise RuntimeError("exp is not written yet")

    ops = {
        "mul": STANDARD_OPS["mul"],
        "sqrt": lambda a: a**0.5,
        "log": lambda a: a.log() * 1.0001,  # a wrong forward value
        "exp": broken_exp,
    }
    report = check_engine(EngineAdapter.for_class(Scalar, ops=ops), examples=20)
    status = {r.name: r for r in report.ops}
    assert status["mul"].status == "ok"
    assert status["sqrt"].status == "ok"
    assert status["log"].status == "wrong value"
    assert status["exp"].status == "error"
    assert "RuntimeError: exp is not written yet" in status["exp"].detail
    assert status["tanh"].status == "not provided"
    assert report.wrong_ops == ["exp", "log"]


def test_a_custom_adapter_and_skipping_expressions() -> None:
    adapter = EngineAdapter(
        make=lambda x: Scalar(x),
        ops={"add": STANDARD_OPS["add"]},
        data=lambda v: v.data,
        grad=lambda v: v.grad,
        backward=lambda v: v.backward(),
        name="mine",
    )
    report = check_engine(adapter, expressions=False)
    assert report.ok
    assert "not checked (expressions=False)" in str(report)
    assert str(report).startswith("Checking mine against central differences")
    nothing = check_engine(EngineAdapter(make=Scalar, ops={}))
    assert "no op passed" in str(nothing)


def test_tinygrad_w_itself_passes_through_the_adapter() -> None:
    report = check_engine(EngineAdapter.for_class(tg.Value), examples=40)
    assert report.ok, str(report)
    assert all(r.status == "ok" for r in report.ops)  # every op is provided


def test_same_seed_same_report() -> None:
    first = check_engine(EngineAdapter.for_class(with_bugs("tanh")), examples=20, seed=3)
    second = check_engine(EngineAdapter.for_class(with_bugs("tanh")), examples=20, seed=3)
    assert str(first) == str(second)
    assert isinstance(first, EngineReport)


def test_with_bugs_rejects_unknown_bugs() -> None:
    with pytest.raises(ValueError, match="unknown bugs"):
        with_bugs("typo")
