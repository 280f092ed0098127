"""Tests of tinygrad_w.penalties: values against direct sums, gradients against central differences,
weights-only coverage for modules, and bad arguments."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import MLP, Value
from tinygrad_w.nn import initializers as init
from tinygrad_w.nn.penalties import elastic_net, l1, l2
from tinygrad_w.testing.gradcheck import numeric_gradient

H = 1e-6
weights = st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=12)
# |w| has a kink at 0, where central differences see the average of the two slopes: stay away from it.
weights_off_zero = st.lists(st.floats(1e-3, 5) | st.floats(-5, -1e-3), min_size=1, max_size=12)
strengths = st.floats(0, 10, allow_nan=False)

Penalty = Callable[[Sequence[Value]], Value]


def check_against_central_differences(penalty: Penalty, ws: list[float]) -> None:
    params = [Value(w) for w in ws]
    penalty(params).backward()
    numeric = numeric_gradient(lambda point: penalty([Value(w) for w in point]).data, ws, H)
    for i, p in enumerate(params):
        assert abs(p.grad - numeric[i]) <= 1e-5 + 1e-4 * abs(numeric[i]), (ws, i, p.grad, numeric[i])


@given(weights, strengths)
def test_values(ws: list[float], lam: float) -> None:
    params = [Value(w) for w in ws]
    assert l1(params, lam).data == pytest.approx(lam * sum(abs(w) for w in ws), rel=1e-12, abs=1e-12)
    assert l2(params, lam).data == pytest.approx(lam * sum(w * w for w in ws), rel=1e-12, abs=1e-12)
    expected = 0.5 * sum(abs(w) for w in ws) + lam * sum(w * w for w in ws)
    assert elastic_net(params, 0.5, lam).data == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(weights_off_zero, strengths)
def test_gradients_match_central_differences(ws: list[float], lam: float) -> None:
    check_against_central_differences(lambda ps: l1(ps, lam), ws)
    check_against_central_differences(lambda ps: l2(ps, lam), ws)
    check_against_central_differences(lambda ps: elastic_net(ps, lam, 0.3), ws)


@given(weights, strengths)
def test_closed_form_gradients(ws: list[float], lam: float) -> None:
    params = [Value(w) for w in ws]
    l2(params, lam).backward()
    assert all(p.grad == pytest.approx(2 * lam * p.data, abs=1e-12) for p in params)  # no ½: 2λw
    params = [Value(w) for w in ws]
    l1(params, lam).backward()
    assert all(p.grad == lam * ((p.data > 0) - (p.data < 0)) for p in params)  # λ·sign(w), 0 at 0


def test_a_module_is_penalized_on_its_weights_not_its_biases() -> None:
    model = MLP(3, [4, 2], init="normal", bias_init=init.constant(2.0), seed=0)
    for penalty in (lambda m: l1(m, 0.1), lambda m: l2(m, 0.1), lambda m: elastic_net(m, 0.1, 0.2)):
        model.zero_grad()
        value = penalty(model)
        assert value.data == penalty(model.weights()).data
        value.backward()
        assert all(b.grad == 0.0 for b in model.biases())
        assert all(w.grad != 0.0 for w in model.weights())
    assert l2(model.parameters(), 1.0).data > l2(model, 1.0).data  # a list covers exactly what is given


def test_penalties_backpropagate_as_part_of_a_loss() -> None:
    model = MLP(2, [3, 1], seed=1)
    out = model([1.0, 2.0])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2 + l2(model, 1e-2)
    loss.backward()
    w = model.layers[0].neurons[0].w[0]
    model2 = MLP(2, [3, 1], seed=1)
    out2 = model2([1.0, 2.0])
    assert isinstance(out2, Value)
    ((out2 - 1.0) ** 2).backward()
    w2 = model2.layers[0].neurons[0].w[0]
    assert w.grad == pytest.approx(w2.grad + 2e-2 * w.data, abs=1e-12)


def test_no_parameters_give_zero() -> None:
    assert l1([], 1.0).data == 0.0 and l2([], 1.0).data == 0.0 and elastic_net([], 1.0, 1.0).data == 0.0
    assert isinstance(l2([], 1.0), Value)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: l1([Value(1.0)], -0.1), ValueError, "l1: the strength must be >= 0, got -0.1"),
        (lambda: l2([Value(1.0)], math.nan), tg.NonFiniteError, "l2: the strength must be finite"),
        (lambda: l2([Value(1.0)], "0.1"), tg.OperandTypeError, "l2: the strength must be a real number"),
        (lambda: l1([1.0], 0.1), tg.OperandTypeError, "l1: expected Values or a Module, got float 1.0"),
        (lambda: elastic_net([Value(1.0)], 0.1, -1), ValueError, "elastic_net l2: the strength must be >= 0"),
    ],
)
def test_bad_arguments(call: Callable[[], Value], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("penalty", [l1, l2])
def test_a_single_value_or_a_number_is_not_a_list_of_parameters(penalty: Callable[..., Value]) -> None:
    name = penalty.__name__
    with pytest.raises(
        tg.OperandTypeError, match=rf"^{name}: expected a list of Values or a Module, got Value"
    ):
        penalty(Value(1.0), 1)
    with pytest.raises(
        tg.OperandTypeError, match=rf"^{name}: expected a list of Values or a Module, got int 3"
    ):
        penalty(3, 1)
    with pytest.raises(tg.NonFiniteError, match=rf"^{name}: the strength must be finite, got <an int of"):
        penalty([Value(1.0)], 10**5000)
