"""Tests of tinygrad_w.losses: values against hand computations, gradients against central differences,
stability at extreme logits, and every bad input."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import Value
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, ShapeError
from tinygrad_w.testing.gradcheck import numeric_gradient
from tinygrad_w.train.losses import (
    accuracy,
    bce_with_logits,
    hinge,
    mse,
    multiclass_accuracy,
    softmax_cross_entropy,
)

H = 1e-6


def close(analytic: float, numeric: float) -> bool:
    return abs(analytic - numeric) <= 1e-5 + 1e-3 * abs(numeric)


def check_gradients(loss_of: Callable[[list[Value]], Value], xs: Sequence[float]) -> None:
    """backward() of the loss agrees with central differences of its value."""
    leaves = [Value(x) for x in xs]
    loss_of(leaves).backward()
    numeric = numeric_gradient(lambda point: loss_of([Value(v) for v in point]).data, xs, H)
    for i, leaf in enumerate(leaves):
        assert close(leaf.grad, numeric[i]), (i, xs, leaf.grad, numeric[i])


reals = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------------------------------------------
# Values by hand


def test_mse_value() -> None:
    # ((1-0)² + (2-4)²) / 2 = (1 + 4) / 2
    assert mse([Value(1.0), Value(2.0)], [0.0, 4.0]).data == pytest.approx(2.5)


def test_hinge_value_matches_micrograd_formula() -> None:
    # relu(1 - 1·0.5) = 0.5, relu(1 - (-1)(-3)) = 0, relu(1 - (-1)(0.2)) = 1.2; mean = 1.7 / 3
    loss = hinge([Value(0.5), Value(-3.0), Value(0.2)], [1, -1, -1])
    assert loss.data == pytest.approx(1.7 / 3)


def test_bce_value_matches_the_textbook_formula() -> None:
    z, y = [0.3, -1.2, 2.0], [1, 0, 0]
    expected = 0.0
    for zi, yi in zip(z, y):
        p = 1 / (1 + math.exp(-zi))
        expected -= yi * math.log(p) + (1 - yi) * math.log(1 - p)
    assert bce_with_logits([Value(v) for v in z], y).data == pytest.approx(expected / 3)


def test_bce_at_zero_logit_is_log_two_with_gradient_half_minus_label() -> None:
    for label, expected_grad in [(1, -0.5), (0, 0.5)]:
        z = Value(0.0)
        loss = bce_with_logits([z], [label])
        loss.backward()
        assert loss.data == pytest.approx(math.log(2))
        assert z.grad == pytest.approx(expected_grad)  # σ(0) - y, not the kink's -y


@pytest.mark.parametrize("z", [1000.0, -1000.0])
@pytest.mark.parametrize("y", [0, 1])
def test_bce_does_not_overflow_at_huge_logits(z: float, y: int) -> None:
    logit = Value(z)
    loss = bce_with_logits([logit], [y])
    loss.backward()
    # Right side: loss ≈ 0; wrong side: loss ≈ |z|.
    wrong = (z > 0) != (y == 1)
    assert loss.data == pytest.approx(1000.0 if wrong else 0.0, abs=1e-12)
    sigma = 1.0 if z > 0 else 0.0
    assert logit.grad == pytest.approx(sigma - y, abs=1e-12)


def test_softmax_cross_entropy_value() -> None:
    row = [1.0, 2.0, 0.5]
    expected = math.log(sum(math.exp(v) for v in row)) - row[1]
    assert softmax_cross_entropy([[Value(v) for v in row]], [1]).data == pytest.approx(expected)


def test_softmax_cross_entropy_is_stable_and_has_softmax_gradient() -> None:
    row = [Value(1000.0), Value(0.0), Value(-1000.0)]
    loss = softmax_cross_entropy([row], [1])
    loss.backward()
    assert loss.data == pytest.approx(1000.0)
    assert [v.grad for v in row] == pytest.approx([1.0, -1.0, 0.0])


def test_losses_accept_plain_numbers_as_scores() -> None:
    assert hinge([2.0, -2.0], [1, -1]).data == 0.0
    assert mse([1, 2], [1, 2]).data == 0.0


def test_accuracy_both_conventions() -> None:
    scores = [Value(0.5), Value(-0.1), Value(2.0), Value(0.0)]
    assert accuracy(scores, [1, -1, -1, -1]) == 0.75  # score 0 counts as negative
    assert accuracy(scores, [1, 0, 0, 0]) == 0.75
    assert accuracy([1.0, 1.0], [1, 1]) == 1.0


def test_multiclass_accuracy() -> None:
    logits = [[0.1, 0.9, 0.0], [2.0, 1.0, 3.0], [5.0, 5.0, 1.0]]
    assert multiclass_accuracy(logits, [1, 0, 0]) == pytest.approx(2 / 3)  # ties go to the first


# ----------------------------------------------------------------------------------------------------
# Gradients against central differences


@given(st.lists(st.tuples(reals, reals), min_size=1, max_size=5))
@settings(max_examples=50)
def test_mse_gradient(pairs: list[tuple[float, float]]) -> None:
    targets = [t for _, t in pairs]
    check_gradients(lambda p: mse(p, targets), [p for p, _ in pairs])


@given(st.lists(st.tuples(reals, st.sampled_from([-1, 1])), min_size=1, max_size=5))
@settings(max_examples=50)
def test_hinge_gradient(pairs: list[tuple[float, int]]) -> None:
    # Stay away from the kink y·s = 1, where the derivative jumps.
    scores = [s if abs(1 - y * s) > 1e-3 else s + 0.01 for s, y in pairs]
    labels = [y for _, y in pairs]
    check_gradients(lambda p: hinge(p, labels), scores)


@given(st.lists(st.tuples(st.floats(-30, 30), st.sampled_from([0, 1])), min_size=1, max_size=5))
@settings(max_examples=50)
def test_bce_gradient(pairs: list[tuple[float, int]]) -> None:
    labels = [y for _, y in pairs]
    check_gradients(lambda p: bce_with_logits(p, labels), [z for z, _ in pairs])


@given(
    st.integers(1, 3).flatmap(
        lambda rows: st.integers(2, 4).flatmap(
            lambda width: st.tuples(
                st.lists(st.lists(reals, min_size=width, max_size=width), min_size=rows, max_size=rows),
                st.lists(st.integers(0, width - 1), min_size=rows, max_size=rows),
            )
        )
    )
)
@settings(max_examples=50)
def test_softmax_cross_entropy_gradient(case: tuple[list[list[float]], list[int]]) -> None:
    rows, classes = case
    width = len(rows[0])
    flat = [v for row in rows for v in row]

    def loss_of(p: list[Value]) -> Value:
        return softmax_cross_entropy([p[i : i + width] for i in range(0, len(p), width)], classes)

    check_gradients(loss_of, flat)


# ----------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda: mse([Value(1.0)], [1.0, 2.0]),
        lambda: hinge([Value(1.0), Value(2.0)], [1]),
        lambda: bce_with_logits([Value(1.0)], []),
        lambda: softmax_cross_entropy([[Value(1.0)]], [0, 0]),
        lambda: accuracy([1.0, 2.0, 3.0], [1]),
        lambda: multiclass_accuracy([[1.0]], [0, 0]),
    ],
)
def test_mismatched_lengths_raise_shape_error(call: Callable[[], object]) -> None:
    with pytest.raises(ShapeError, match=r"\d+ .* but \d+"):
        call()


def test_shape_error_names_both_sizes() -> None:
    with pytest.raises(ShapeError, match="3 scores but 2 labels"):
        hinge([1.0, 2.0, 3.0], [1, -1])


def test_empty_batch_is_rejected() -> None:
    with pytest.raises(ShapeError, match="no samples"):
        mse([], [])


def test_wrong_labels_are_named() -> None:
    with pytest.raises(ArgumentError, match="sample 1 has label 0"):
        hinge([1.0, 1.0], [1, 0])
    with pytest.raises(ArgumentError, match="sample 0 has label -1"):
        bce_with_logits([1.0], [-1])
    with pytest.raises(ArgumentError, match="sample 0 has class 3"):
        softmax_cross_entropy([[1.0, 2.0]], [3])
    with pytest.raises(ArgumentError, match="label 2"):
        accuracy([1.0], [2])


def test_ragged_logit_rows_are_rejected() -> None:
    with pytest.raises(ShapeError, match="row 1 has 1 logits but row 0 has 2"):
        softmax_cross_entropy([[1.0, 2.0], [1.0]], [0, 0])


def test_non_finite_target_is_named() -> None:
    with pytest.raises(NonFiniteError, match="sample 1"):
        mse([1.0, 2.0], [0.0, math.nan])


# ----------------------------------------------------------------------------------------------------
# Hostile arguments: numpy is welcome, a single Value is not a list, classes are checked


def test_numpy_labels_scores_and_arrays_are_accepted() -> None:
    scores = [Value(0.5), Value(-2.0)]
    assert hinge(scores, [np.int64(1), np.int64(-1)]).data == hinge(scores, [1, -1]).data
    assert mse(scores, [np.float32(1.0), np.float32(-1.0)]).data == mse(scores, [1.0, -1.0]).data
    assert bce_with_logits(scores, np.array([1, 0])).data == bce_with_logits(scores, [1, 0]).data
    assert mse(np.array([1.0, 2.0]), np.array([1.0, 0.0])).data == 2.0
    rows = [[Value(1.0), Value(2.0)], [Value(0.5), Value(-1.0)]]
    assert softmax_cross_entropy(rows, np.array([1, 0])).data == softmax_cross_entropy(rows, [1, 0]).data
    assert multiclass_accuracy(np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([1, 0])) == 1.0
    assert accuracy(np.array([0.5, -1.0]), [np.float32(1.0), np.int64(-1)]) == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: mse(Value(1.0), [1.0]),
            OperandTypeError,
            "mse: predictions must be a list, one entry per sample, got Value",
        ),
        (
            lambda: hinge([Value(1.0)], 1),
            OperandTypeError,
            "hinge: labels must be a list, one entry per sample, got int 1",
        ),
        (lambda: bce_with_logits("ab", [0, 1]), OperandTypeError, "bce_with_logits: logits must be a list"),
        (
            lambda: multiclass_accuracy([[1, 2]], [5]),
            ArgumentError,
            r"multiclass_accuracy: sample 0 has class 5; classes must be integers 0\.\.1",
        ),
        (
            lambda: multiclass_accuracy([[1, 2]], [1.0]),
            ArgumentError,
            "multiclass_accuracy: sample 0 has class 1.0",
        ),
        (
            lambda: multiclass_accuracy([[1, 2], [3]], [0, 0]),
            ShapeError,
            "multiclass_accuracy: row 1 has 1 logits but row 0 has 2",
        ),
        (
            lambda: softmax_cross_entropy([Value(1.0)], [0]),
            OperandTypeError,
            "softmax_cross_entropy: a row of logits must be a list",
        ),
        (lambda: softmax_cross_entropy([[]], [0]), ShapeError, "softmax_cross_entropy: row 0 has no logits"),
        (lambda: mse([1.0], [np.float64("nan")]), NonFiniteError, "mse: sample 0: got nan"),
        (lambda: mse([1.0], [10**5000]), NonFiniteError, r"mse: sample 0: <an int of \d+ bits> is too large"),
        (
            lambda: hinge([1.0], [np.int64(2)]),
            ArgumentError,
            "hinge: sample 0 has label np.int64.2.; labels must be -1 or 1",
        ),
    ],
)
def test_bad_arguments_are_typed_errors_naming_the_function(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{message}"):
        call()
