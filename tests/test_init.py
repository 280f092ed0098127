"""Tests of tinygrad_w.init: each initializer's distribution, checked statistically on 20,000 draws, plus
names, gains, reproducibility and bad arguments."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w.nn import initializers as init
from tinygrad_w.nn.initializers import Constant, Initializer, Normal, Uniform

DRAWS = 20_000
FAN_IN, FAN_OUT = 50, 30


def draws(
    initializer: Initializer, fan_in: int = FAN_IN, fan_out: int = FAN_OUT, seed: int = 0
) -> np.ndarray:
    return np.array(initializer.sample(fan_in, fan_out, DRAWS, random.Random(seed)))


# name -> (initializer, the bound a of U[-a, a] for FAN_IN, FAN_OUT)
UNIFORMS: dict[str, tuple[Initializer, float]] = {
    "xavier_uniform": (init.xavier_uniform(), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_uniform gain 2": (init.xavier_uniform(gain=2.0), 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "he_uniform": (init.he_uniform(), math.sqrt(6 / FAN_IN)),
    "he_uniform gain 1": (init.he_uniform(gain=1.0), math.sqrt(3 / FAN_IN)),
    "lecun_uniform": (init.lecun_uniform(), math.sqrt(3 / FAN_IN)),
    "uniform": (init.uniform(), 1.0),
}

# name -> (initializer, the standard deviation for FAN_IN, FAN_OUT)
NORMALS: dict[str, tuple[Initializer, float]] = {
    "xavier_normal": (init.xavier_normal(), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "xavier_normal gain 5/3": (init.xavier_normal(gain=5 / 3), 5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_normal": (init.he_normal(), math.sqrt(2 / FAN_IN)),
    "lecun_normal": (init.lecun_normal(), math.sqrt(1 / FAN_IN)),
    "normal": (init.normal(), 1.0),
}


@pytest.mark.parametrize("name", UNIFORMS)
def test_uniform_initializers_fill_their_interval_evenly(name: str) -> None:
    initializer, a = UNIFORMS[name]
    x = draws(initializer)
    assert x.min() >= -a and x.max() <= a  # never outside U[-a, a]
    assert x.min() < -0.99 * a and x.max() > 0.99 * a  # and reaching both ends
    assert abs(x.std() / (a / math.sqrt(3)) - 1) < 0.03  # U[-a, a] has std a/√3
    assert abs(x.mean()) < 5 * a / math.sqrt(3 * DRAWS)
    # Evenly spread: each tenth of the interval holds about a tenth of the draws.
    counts, _ = np.histogram(x, bins=10, range=(-a, a))
    assert np.all(np.abs(counts / DRAWS - 0.1) < 0.015)


@pytest.mark.parametrize("name", NORMALS)
def test_normal_initializers_have_the_stated_std_and_a_bell_shape(name: str) -> None:
    initializer, std = NORMALS[name]
    x = draws(initializer)
    assert abs(x.std() / std - 1) < 0.03
    assert abs(x.mean()) < 5 * std / math.sqrt(DRAWS)
    # A normal puts 68.3% within one std and 95.4% within two (a uniform of the same std: 57.7%, 100%).
    assert abs(np.mean(np.abs(x) < std) - 0.6827) < 0.015
    assert abs(np.mean(np.abs(x) < 2 * std) - 0.9545) < 0.01
    assert np.abs(x).max() > 3 * std  # tails exist


def test_uniform_and_normal_with_explicit_parameters() -> None:
    x = draws(init.uniform(2.0, 5.0))
    assert x.min() >= 2.0 and x.max() <= 5.0
    assert abs(x.std() / (3.0 / math.sqrt(12)) - 1) < 0.03
    assert abs(x.mean() - 3.5) < 0.02
    y = draws(init.normal(mean=-1.0, std=0.5))
    assert abs(y.mean() + 1.0) < 0.02
    assert abs(y.std() / 0.5 - 1) < 0.03


def test_constants() -> None:
    assert init.zeros().sample(3, 2, 4, random.Random(0)) == [0.0] * 4
    assert init.ones().sample(3, 2, 2, random.Random(0)) == [1.0, 1.0]
    assert init.constant(-0.25).sample(1, 1, 3, random.Random(0)) == [-0.25] * 3


@given(st.integers(1, 500), st.integers(1, 500))
def test_bounds_follow_the_fans(fan_in: int, fan_out: int) -> None:
    rng = random.Random(fan_in * 1000 + fan_out)
    expected = {
        "xavier_uniform": math.sqrt(6 / (fan_in + fan_out)),
        "he_uniform": math.sqrt(6 / fan_in),
        "lecun_uniform": math.sqrt(3 / fan_in),
    }
    for name, a in expected.items():
        initializer = init.get(name)
        assert isinstance(initializer, Uniform)
        low, high = initializer.bounds(fan_in, fan_out)
        assert math.isclose(high, a) and math.isclose(low, -a)
        assert all(abs(x) <= a for x in initializer.sample(fan_in, fan_out, 50, rng))
    stds = {
        "xavier_normal": math.sqrt(2 / (fan_in + fan_out)),
        "he_normal": math.sqrt(2 / fan_in),
        "lecun_normal": math.sqrt(1 / fan_in),
    }
    for name, std in stds.items():
        normal = init.get(name)
        assert isinstance(normal, Normal)
        assert math.isclose(normal.std(fan_in, fan_out), std)


def test_every_name_maps_to_a_fresh_default_instance() -> None:
    for name, factory in init.NAMES.items():
        a, b = init.get(name), init.get(name)
        assert isinstance(a, Initializer)
        assert repr(a) == repr(factory()) and a.name == repr(a)
        assert a.sample(4, 3, 5, random.Random(7)) == b.sample(4, 3, 5, random.Random(7))
    assert isinstance(init.get("zeros"), Constant)
    assert repr(init.get("he_uniform")) == f"he_uniform(gain={math.sqrt(2)!r})"
    obj = init.normal(0.0, 0.1)
    assert init.get(obj) is obj


def test_unknown_names_and_wrong_types_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown initializer 'kaiming'.*he_uniform"):
        init.get("kaiming")
    with pytest.raises(TypeError, match="must be a name or an Initializer"):
        init.get(3)  # type: ignore[arg-type]


def test_calculate_gain_uses_pytorch_conventions() -> None:
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        init.calculate_gain("gelu")


def test_sampling_uses_only_the_generator_it_is_given() -> None:
    before = random.getstate()
    a = init.he_normal().sample(10, 10, 100, random.Random(3))
    b = init.he_normal().sample(10, 10, 100, random.Random(3))
    assert a == b
    assert random.getstate() == before
    assert a != init.he_normal().sample(10, 10, 100, random.Random(4))


BAD_FACTORIES: list[tuple[Callable[[], Initializer], type[Exception], str]] = [
    (lambda: init.uniform(1.0, -1.0), ValueError, "a must be <= b"),
    (lambda: init.uniform(math.nan, 1.0), ValueError, "must be finite"),
    (lambda: init.normal(0.0, -1.0), ValueError, "std must be >= 0"),
    (lambda: init.constant(math.inf), ValueError, "must be finite"),
    (lambda: init.constant("1"), TypeError, "must be a real number"),  # type: ignore[arg-type]
    (lambda: init.he_uniform(gain=0.0), ValueError, "gain must be > 0"),
    (lambda: init.xavier_normal(gain=-1.0), ValueError, "gain must be > 0"),
]


@pytest.mark.parametrize(("factory", "error", "message"), BAD_FACTORIES)
def test_bad_initializer_arguments(
    factory: Callable[[], Initializer], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        factory()


def test_bad_sample_arguments() -> None:
    he = init.he_uniform()
    with pytest.raises(ValueError, match="fan_in must be an integer >= 1 and <= 10,000,000, got 0"):
        he.sample(0, 1, 1, random.Random(0))
    with pytest.raises(ValueError, match="count must be an integer >= 0"):
        he.sample(1, 1, -1, random.Random(0))
    with pytest.raises(TypeError, match=r"rng must be a random\.Random"):
        he.sample(1, 1, 1, 42)  # type: ignore[arg-type]
    assert he.sample(3, 3, 0, random.Random(0)) == []


def test_a_custom_initializer_is_a_small_subclass() -> None:
    class Alternating(Initializer):
        name = "alternating"

        def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
            return [(-1.0) ** i / fan_in for i in range(count)]

    model = tg.MLP(2, [3, 1], init=Alternating(), seed=0)
    assert [w.data for w in model.layers[0].neurons[0].w] == [0.5, -0.5]
    assert repr(Alternating()) == "alternating"
    with pytest.raises(ValueError, match=r"alternating\.sample: fan_out must be an integer >= 1"):
        Alternating().sample(1, 0, 1, random.Random(0))


def test_finite_settings_that_would_draw_infinities_are_refused() -> None:
    # U[-1e308, 1e308] is 2e308 wide: too wide for a float, refused when it is made.
    with pytest.raises(
        tg.ArgumentError, match=r"^uniform: the width b - a of \[-1e\+308, 1e\+308\] is too large"
    ):
        init.uniform(-1e308, 1e308)
    # A normal whose scale overflows on a large draw: the draw is checked, never returned as inf.
    with pytest.raises(tg.NonFiniteError, match=r"^normal\(0\.0, 1e\+308\)\.sample: got -?inf"):
        init.normal(0.0, 1e308).sample(1, 1, 50, random.Random(0))
    with pytest.raises(tg.NonFiniteError, match=r"^xavier_uniform\(gain=1e\+308\)\.sample"):
        init.xavier_uniform(gain=1e308).sample(1, 1, 5, random.Random(0))


def test_a_custom_draw_must_return_finite_numbers_in_a_list() -> None:
    class Broken(Initializer):
        name = "broken"

        def __init__(self, values: object) -> None:
            self.values = values

        def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
            return self.values  # type: ignore[return-value]

    with pytest.raises(tg.NonFiniteError, match=r"^broken\.sample: got nan"):
        Broken([math.nan]).sample(1, 1, 1, random.Random(0))
    with pytest.raises(tg.OperandTypeError, match=r"^broken\.sample: expected a real number"):
        Broken(["0.5"]).sample(1, 1, 1, random.Random(0))
    with pytest.raises(tg.ShapeError, match=r"^broken\.draw: asked for a list of 1 values, returned 'ab'"):
        Broken("ab").sample(1, 1, 1, random.Random(0))
    assert Broken([np.float32(0.5)]).sample(1, 1, 1, random.Random(0)) == [0.5]


def test_huge_counts_and_wrong_types_are_refused() -> None:
    with pytest.raises(
        tg.ArgumentError,
        match=r"^he_uniform\(gain=.*\)\.sample: count must be an integer >= 0 and <= 10,000,000",
    ):
        init.he_uniform().sample(1, 1, 10**12, random.Random(0))
    with pytest.raises(tg.OperandTypeError, match=r"^calculate_gain: activation must be a name"):
        init.calculate_gain(["relu"])  # type: ignore[arg-type]
