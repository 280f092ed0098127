"""Weight initializers: where a network's numbers start before training.

An initializer is a small object with a ``name`` and one method,
``sample(fan_in, fan_out, count, rng) -> list[float]``: ``count`` independent draws for a layer with
``fan_in`` inputs per neuron and ``fan_out`` neurons. Randomness always comes from the ``random.Random``
passed in, never from the global ``random`` module, so a seeded model is reproducible.

Why the scale matters: a neuron sums ``fan_in`` products w·x. If every w has variance σ² and the inputs
have variance v, the sum has variance ``fan_in · σ² · v``. The schemes below pick σ² so that this stays
about v from layer to layer (signals neither explode nor die out):

==================  ==========================================  =========================================
scheme              uniform U[-a, a]                            normal N(0, σ²)
==================  ==========================================  =========================================
Xavier / Glorot     a = gain · √(6 / (fan_in + fan_out))        σ = gain · √(2 / (fan_in + fan_out))
He / Kaiming        a = gain · √(3 / fan_in)  (= √(6/fan_in))   σ = gain / √fan_in       (= √(2/fan_in))
LeCun               a = √(3 / fan_in)                           σ = √(1 / fan_in)
==================  ==========================================  =========================================

He's gain defaults to √2, the gain of relu (the values in parentheses). U[-a, a] has standard deviation
a/√3, so each uniform scheme has the same variance as its normal twin.

String names map to default instances (see :data:`NAMES`): ``"zeros"``, ``"ones"``, ``"uniform"``
(U[-1, 1], what micrograd uses), ``"normal"`` (N(0, 1)), ``"xavier_uniform"``, ``"xavier_normal"``,
``"he_uniform"``, ``"he_normal"``, ``"lecun_uniform"``, ``"lecun_normal"``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tinygrad_w.checks import count_setting, real_setting
from tinygrad_w.core.value import as_real
from tinygrad_w.errors import ArgumentError, OperandTypeError, ShapeError, show

__all__ = [
    "NAMES",
    "Constant",
    "Initializer",
    "Normal",
    "Uniform",
    "calculate_gain",
    "constant",
    "get",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


MAX_DRAWS = 10_000_000
"""The most values one ``sample`` call draws (far above any scalar network; a resource limit)."""


def _check_sizes(fan_in: int, fan_out: int, count: int, name: str) -> None:
    where = f"{name}.sample"
    for what, n, least in (("fan_in", fan_in, 1), ("fan_out", fan_out, 1), ("count", count, 0)):
        count_setting(n, what, where, minimum=least, maximum=MAX_DRAWS)


class Initializer:
    """Base class: draws ``count`` starting values for a layer with ``fan_in`` inputs and ``fan_out`` outputs.

    Call :meth:`sample`, which checks its arguments and then calls :meth:`draw`. To write your own
    initializer, subclass this, set ``name`` (what ``repr`` shows) and implement :meth:`draw`.
    """

    name: str = "initializer"

    def sample(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
        """``count`` independent draws, taken from ``rng`` only (never the global random state)."""
        _check_sizes(fan_in, fan_out, count, self.name)
        if not isinstance(rng, random.Random):
            raise OperandTypeError(
                f"{self.name}.sample: rng must be a random.Random, got {type(rng).__name__}"
            )
        values = self.draw(fan_in, fan_out, count, rng)
        if not isinstance(values, list) or len(values) != count:  # a miscount would shift every later weight
            size = len(values) if isinstance(values, list) else show(values)
            raise ShapeError(f"{self.name}.draw: asked for a list of {count} values, returned {size}")
        # A scale that is finite can still draw an infinity (U[-1e308, 1e308] is 2e308 wide).
        return [as_real(value, f"{self.name}.sample") for value in values]

    def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
        """The draws themselves, arguments already checked; subclasses implement it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Constant(Initializer):
    """Every value equal to ``value``. With zeros or any constant, all hidden units of a layer start
    equal, get equal gradients and stay equal forever: random initialization exists to break that symmetry."""

    def __init__(self, value: float) -> None:
        self.value = real_setting(value, "value", "constant")
        self.name = f"constant({self.value!r})"

    def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
        return [self.value] * count


class Uniform(Initializer):
    """U[low, high]: every value in the interval equally likely; standard deviation (high - low)/√12.

    The bounds can be fixed numbers or computed from the layer's fans (the Xavier/He/LeCun variants).
    """

    def __init__(self, name: str, bound: Callable[[int, int], tuple[float, float]]) -> None:
        self.name = name
        self._bound = bound

    def bounds(self, fan_in: int, fan_out: int) -> tuple[float, float]:
        """(low, high) for a layer with these fans."""
        return self._bound(fan_in, fan_out)

    def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
        low, high = self._bound(fan_in, fan_out)
        return [rng.uniform(low, high) for _ in range(count)]


class Normal(Initializer):
    """N(mean, std²): the bell curve; the standard deviation can depend on the layer's fans."""

    def __init__(self, name: str, mean: float, std: Callable[[int, int], float]) -> None:
        self.name = name
        self.mean = mean
        self._std = std

    def std(self, fan_in: int, fan_out: int) -> float:
        """The standard deviation for a layer with these fans."""
        return self._std(fan_in, fan_out)

    def draw(self, fan_in: int, fan_out: int, count: int, rng: random.Random) -> list[float]:
        std = self._std(fan_in, fan_out)
        return [rng.gauss(self.mean, std) for _ in range(count)]


# ----------------------------------------------------------------------------------------------------
# The initializers by name


def zeros() -> Initializer:
    """Every value 0 (the usual bias initialization)."""
    return Constant(0.0)


def ones() -> Initializer:
    """Every value 1."""
    return Constant(1.0)


def constant(value: float) -> Initializer:
    """Every value equal to ``value``."""
    return Constant(value)


def uniform(a: float = -1.0, b: float = 1.0) -> Initializer:
    """U[a, b], whatever the layer's size. The default U[-1, 1] is micrograd's initialization."""
    low, high = real_setting(a, "a", "uniform"), real_setting(b, "b", "uniform")
    if low > high:
        raise ArgumentError(f"uniform: a must be <= b, got a={low!r}, b={high!r}")
    if not math.isfinite(high - low):  # rng.uniform computes a + (b - a)·u
        raise ArgumentError(f"uniform: the width b - a of [{low!r}, {high!r}] is too large for a float")
    return Uniform(f"uniform({low!r}, {high!r})", lambda fan_in, fan_out: (low, high))


def normal(mean: float = 0.0, std: float = 1.0) -> Initializer:
    """N(mean, std²), whatever the layer's size."""
    mu, sigma = real_setting(mean, "mean", "normal"), real_setting(std, "std", "normal", low=0.0)
    return Normal(f"normal({mu!r}, {sigma!r})", mu, lambda fan_in, fan_out: sigma)


def _gain(gain: float, name: str) -> float:
    return real_setting(gain, "gain", name, low=0.0, low_open=True)


def xavier_uniform(gain: float = 1.0) -> Initializer:
    """Xavier/Glorot uniform: U[-a, a] with a = gain · √(6 / (fan_in + fan_out))."""
    g = _gain(gain, "xavier_uniform")

    def bound(fan_in: int, fan_out: int) -> tuple[float, float]:
        a = g * math.sqrt(6.0 / (fan_in + fan_out))
        return -a, a

    return Uniform(f"xavier_uniform(gain={g!r})", bound)


def xavier_normal(gain: float = 1.0) -> Initializer:
    """Xavier/Glorot normal: N(0, σ²) with σ = gain · √(2 / (fan_in + fan_out))."""
    g = _gain(gain, "xavier_normal")
    return Normal(
        f"xavier_normal(gain={g!r})", 0.0, lambda fan_in, fan_out: g * math.sqrt(2.0 / (fan_in + fan_out))
    )


def he_uniform(gain: float = math.sqrt(2.0)) -> Initializer:
    """He/Kaiming uniform: U[-a, a] with a = gain · √(3 / fan_in); the default gain √2 (relu) gives √(6 / fan_in)."""
    g = _gain(gain, "he_uniform")

    def bound(fan_in: int, fan_out: int) -> tuple[float, float]:
        a = g * math.sqrt(3.0 / fan_in)
        return -a, a

    return Uniform(f"he_uniform(gain={g!r})", bound)


def he_normal(gain: float = math.sqrt(2.0)) -> Initializer:
    """He/Kaiming normal: N(0, σ²) with σ = gain / √fan_in; the default gain √2 (relu) gives √(2 / fan_in)."""
    g = _gain(gain, "he_normal")
    return Normal(f"he_normal(gain={g!r})", 0.0, lambda fan_in, fan_out: g / math.sqrt(fan_in))


def lecun_uniform() -> Initializer:
    """LeCun uniform: U[-a, a] with a = √(3 / fan_in) (variance 1/fan_in)."""

    def bound(fan_in: int, fan_out: int) -> tuple[float, float]:
        a = math.sqrt(3.0 / fan_in)
        return -a, a

    return Uniform("lecun_uniform", bound)


def lecun_normal() -> Initializer:
    """LeCun normal: N(0, σ²) with σ = √(1 / fan_in)."""
    return Normal("lecun_normal", 0.0, lambda fan_in, fan_out: math.sqrt(1.0 / fan_in))


NAMES: dict[str, Callable[[], Initializer]] = {
    "zeros": zeros,
    "ones": ones,
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
}
"""Initializer names accepted wherever an initializer is, each mapped to its default instance's factory."""


def get(spec: str | Initializer) -> Initializer:
    """An initializer object from a name in :data:`NAMES` or an initializer (returned as is)."""
    if isinstance(spec, Initializer):
        return spec
    if isinstance(spec, str):
        if spec in NAMES:
            return NAMES[spec]()
        raise ArgumentError(
            f"initializers.get: unknown initializer {show(spec)}; known: {', '.join(sorted(NAMES))}"
        )
    raise OperandTypeError(
        f"initializers.get: an initializer must be a name or an Initializer, got {type(spec).__name__} {show(spec)}"
    )


# ----------------------------------------------------------------------------------------------------
# Gains


def calculate_gain(activation: str, param: float | None = None) -> float:
    """The gain that keeps a signal's variance steady through ``activation`` (PyTorch's conventions).

    ====================  =====================================================
    activation            gain
    ====================  =====================================================
    linear, sigmoid       1
    tanh                  5/3
    relu                  √2
    leaky_relu            √(2 / (1 + slope²)), slope = ``param`` (default 0.01)
    softplus              1 (no established value; treated like linear)
    ====================  =====================================================

    Multiply it into an initializer: ``xavier_uniform(gain=calculate_gain("tanh"))``.
    """
    if not isinstance(activation, str):
        raise OperandTypeError(f"calculate_gain: activation must be a name, got {type(activation).__name__}")
    if activation in ("linear", "sigmoid", "softplus"):
        return 1.0
    if activation == "tanh":
        return 5.0 / 3.0
    if activation == "relu":
        return math.sqrt(2.0)
    if activation == "leaky_relu":
        slope = 0.01 if param is None else real_setting(param, "the leaky_relu slope", "calculate_gain")
        return math.sqrt(2.0 / (1.0 + slope**2))
    known = "linear, sigmoid, softplus, tanh, relu, leaky_relu"
    raise ArgumentError(f"calculate_gain: unknown activation {show(activation)}; known: {known}")
