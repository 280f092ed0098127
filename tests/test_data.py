"""Tests of tinygrad_w.data: shapes, label conventions, geometry without noise, determinism, no global
random state, and bad arguments."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError
from tinygrad_w.train.data import Dataset, blobs, circles, moons, spirals, to_01, to_pm1, xor

GENERATORS: dict[str, Callable[..., Dataset]] = {
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "blobs": blobs,
    "spirals": spirals,
}
BINARY = ["moons", "circles", "xor"]


@pytest.mark.parametrize("name", GENERATORS)
@given(n=st.integers(3, 60), seed=st.integers(0, 2**32))
@settings(max_examples=20)
def test_shapes_and_labels(name: str, n: int, seed: int) -> None:
    X, y = GENERATORS[name](n=n, seed=seed)
    assert len(X) == len(y) == n
    assert all(len(x) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in x) for x in X)
    assert all(type(label) is int for label in y)
    if name in BINARY:
        assert set(y) <= {-1, 1}
    else:
        assert set(y) == set(range(3))


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_and_other_seed_other_data(name: str) -> None:
    make = GENERATORS[name]
    assert make(n=50, seed=7) == make(n=50, seed=7)
    assert make(n=50, seed=7) != make(n=50, seed=8)


@pytest.mark.parametrize("name", GENERATORS)
def test_global_random_state_is_untouched(name: str) -> None:
    random.seed(123)
    expected = random.random()
    random.seed(123)
    GENERATORS[name](n=30, seed=1)
    assert random.random() == expected


def test_same_data_whatever_pythonhashseed() -> None:
    code = "import json; from tinygrad_w.train.data import moons, spirals; print(json.dumps([moons(20), spirals(20)]))"
    outputs = []
    for hashseed in ["1", "2"]:
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]


def test_balanced_binary_sets() -> None:
    for make in (moons, circles):
        _, y = make(n=101)
        assert (y.count(-1), y.count(1)) == (50, 51)


def test_moons_geometry_without_noise() -> None:
    X, y = moons(n=40, noise=0.0)
    for (x1, x2), label in zip(X, y):
        if label == -1:  # upper moon: unit circle around the origin, upper half
            assert math.hypot(x1, x2) == pytest.approx(1.0) and x2 >= -1e-12
        else:  # lower moon: unit circle around (1, 0.5), lower half
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0) and x2 <= 0.5 + 1e-12


def test_circles_geometry_without_noise() -> None:
    X, y = circles(n=30, noise=0.0, factor=0.3)
    for x, label in zip(X, y):
        assert math.hypot(*x) == pytest.approx(1.0 if label == -1 else 0.3)


def test_xor_labels_without_noise() -> None:
    X, y = xor(n=200, noise=0.0, seed=3)
    for (x1, x2), label in zip(X, y):
        assert label == (1 if x1 * x2 < 0 else -1)
    assert 50 < y.count(1) < 150


def test_blobs_given_centres() -> None:
    X, y = blobs(n=90, centers=[[-5.0, 0.0], [5.0, 0.0], [0.0, 5.0]], std=0.1)
    assert [y.count(k) for k in range(3)] == [30, 30, 30]
    centres = [(-5.0, 0.0), (5.0, 0.0), (0.0, 5.0)]
    for x, label in zip(X, y):
        assert math.dist(x, centres[label]) < 1.0


def test_spirals_stay_in_the_unit_disc() -> None:
    X, y = spirals(n=90, classes=4, noise=0.0)
    assert set(y) == {0, 1, 2, 3}
    assert all(math.hypot(*x) <= 1.0 + 1e-12 for x in X)


def test_label_conversions() -> None:
    assert to_01([-1, 1, 1]) == [0, 1, 1]
    assert to_pm1([0, 1, 0]) == [-1, 1, -1]
    _, y = moons(n=20)
    assert to_pm1(to_01(y)) == y
    with pytest.raises(ArgumentError, match="sample 1 has label 0"):
        to_01([1, 0])
    with pytest.raises(ArgumentError, match="sample 0 has label -1"):
        to_pm1([-1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: moons(n=1), ArgumentError, "moons: n must be an integer >= 2"),
        (lambda: moons(n=2.5), OperandTypeError, "moons: n must be an integer, got float 2.5"),  # type: ignore[arg-type]
        (lambda: moons(noise=-0.1), ArgumentError, "moons: noise must be >= 0, got -0.1"),
        (lambda: circles(factor=1.0), ArgumentError, r"circles: factor must be in \[0, 1\)"),
        (lambda: xor(noise=math.nan), NonFiniteError, "xor: noise must be finite, got nan"),
        (lambda: blobs(centers=0), ArgumentError, "blobs: centers must be an integer >= 1"),
        (
            lambda: blobs(centers=[[1.0, 2.0, 3.0]]),
            ArgumentError,
            "blobs: centre 0 must be two finite numbers",
        ),
        (lambda: blobs(centers=[[1.0, math.inf]]), NonFiniteError, "blobs: centre 0 must be finite"),
        (lambda: spirals(classes=0), ArgumentError, "spirals: classes must be an integer >= 1"),
        (lambda: moons(seed="a"), OperandTypeError, "moons: seed must be an int or None, got str 'a'"),  # type: ignore[arg-type]
        (lambda: to_01(5), OperandTypeError, "to_01: expected a list of labels, got int 5"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments(call: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=f"^{message}"):
        call()


def test_huge_counts_are_refused_before_any_work() -> None:
    # 10**12 points would exhaust memory: the limit is stated in the message, and nothing is drawn.
    with pytest.raises(ArgumentError, match=r"moons: n must be an integer >= 2 and <= 1,000,000"):
        moons(n=10**12)
    with pytest.raises(ArgumentError, match=r"blobs: centers must be an integer >= 1 and <= 1,000,000"):
        blobs(centers=10**12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: moons(10, noise=1e308), r"moons: noise=1e\+308 makes point \d+ \[.*inf"),
        (lambda: blobs(10, std=1e308), r"blobs: std=1e\+308, box=3.0 makes point \d+"),
        (lambda: blobs(10, box=1e308), r"blobs: std=0.5, box=1e\+308 makes point \d+"),
        (lambda: circles(10, noise=1e308), r"circles: noise=1e\+308 makes point"),
        (lambda: xor(10, noise=1e308), r"xor: noise=1e\+308 makes point"),
        (
            lambda: spirals(10, noise=1e308, turns=1e308),
            r"spirals: noise=1e\+308, turns=1e\+308 makes the angle of a point inf",
        ),
    ],
)
def test_finite_settings_that_overflow_are_refused_not_returned_as_infinities(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(NonFiniteError, match=message):
        call()


def test_numpy_labels_convert() -> None:
    assert to_01(np.array([-1, 1])) == [0, 1]
    assert to_pm1([np.int64(0), np.float32(1.0)]) == [-1, 1]


def test_bad_centres_type() -> None:
    with pytest.raises(OperandTypeError):
        blobs(centers="three")  # type: ignore[arg-type]
