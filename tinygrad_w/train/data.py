"""Small two-dimensional data sets for classification, generated from a seed (no scikit-learn needed).

Every generator returns ``(X, y)``: ``X`` a list of n points ``[x1, x2]`` (floats), ``y`` a list of n
integer labels, in shuffled order. The same arguments and seed give the same data, on every machine and
whatever PYTHONHASHSEED; nothing touches Python's global random state (each call uses its own
``random.Random(seed)``).

Labels:

- binary sets (``moons``, ``circles``, ``xor``) use **-1 / +1**, what the hinge loss and micrograd's
  moons demo expect; ``to_01`` converts them for ``bce_with_logits``;
- multi-class sets (``blobs``, ``spirals``) use class indices **0 .. K-1**, what
  ``softmax_cross_entropy`` expects.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Sequence

from tinygrad_w.checks import count_setting, real_setting, seed_setting
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, show

Dataset = tuple[list[list[float]], list[int]]

MAX_SAMPLES = 1_000_000
"""The most samples (and classes) a generator makes: a resource limit, far above what a scalar engine trains on."""


def _count(n: object, name: str, where: str, minimum: int = 1) -> int:
    return count_setting(n, name, where, minimum=minimum, maximum=MAX_SAMPLES)


def _nonnegative(x: object, name: str, where: str) -> float:
    return real_setting(x, name, where, low=0.0)


def _generator(seed: object, where: str) -> random.Random:
    """The data set's own generator (never the global one); the seed is an int or None."""
    return random.Random(seed_setting(seed, where))


def _finite(dataset: Dataset, where: str, settings: str) -> Dataset:
    """The data set, once every coordinate is known to be finite: finite settings can still overflow
    (noise 1e308 times a Gaussian draw of 2 is inf)."""
    for i, point in enumerate(dataset[0]):
        if not all(math.isfinite(x) for x in point):
            raise NonFiniteError(
                f"{where}: {settings} makes point {i} {point!r}, too large for a float; use smaller values"
            )
    return dataset


def _shuffled(points: list[list[float]], labels: list[int], rng: random.Random) -> Dataset:
    order = list(range(len(points)))
    rng.shuffle(order)
    return [points[i] for i in order], [labels[i] for i in order]


def _split(n: int, parts: int) -> list[int]:
    """n samples over ``parts`` groups as evenly as possible (the first groups get the extra ones)."""
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def moons(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Two interleaving half circles. Upper moon: (cos t, sin t), t ∈ [0, π], label -1; lower moon:
    (1 - cos t, 0.5 - sin t), label +1; then Gaussian noise of standard deviation ``noise`` on each
    coordinate. The lower moon gets the extra point when n is odd."""
    n = _count(n, "n", "moons", 2)
    noise = _nonnegative(noise, "noise", "moons")
    rng = _generator(seed, "moons")
    n_upper = n // 2
    n_lower = n - n_upper
    points, labels = [], []
    for count, label in [(n_upper, -1), (n_lower, 1)]:
        for k in range(count):
            t = math.pi * k / (count - 1) if count > 1 else 0.0
            if label == -1:
                x1, x2 = math.cos(t), math.sin(t)
            else:
                x1, x2 = 1.0 - math.cos(t), 0.5 - math.sin(t)
            points.append([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)])
            labels.append(label)
    return _finite(_shuffled(points, labels, rng), "moons", f"noise={noise!r}")


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0) -> Dataset:
    """Two concentric circles: radius 1 (label -1) and radius ``factor`` < 1 (label +1), points evenly
    spaced in angle, plus Gaussian noise of standard deviation ``noise``."""
    n = _count(n, "n", "circles", 2)
    noise = _nonnegative(noise, "noise", "circles")
    factor = _nonnegative(factor, "factor", "circles")
    if not factor < 1.0:
        raise ArgumentError(f"circles: factor must be in [0, 1), got {factor!r}")
    rng = _generator(seed, "circles")
    points, labels = [], []
    for count, radius, label in [(n // 2, 1.0, -1), (n - n // 2, factor, 1)]:
        for k in range(count):
            angle = 2.0 * math.pi * k / count
            x1, x2 = radius * math.cos(angle), radius * math.sin(angle)
            points.append([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)])
            labels.append(label)
    return _finite(_shuffled(points, labels, rng), "circles", f"noise={noise!r}")


def xor(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Points uniform in the square [-1, 1]²; label +1 where exactly one coordinate is positive (the XOR
    of the two signs: quadrants II and IV), -1 elsewhere; then Gaussian noise of standard deviation
    ``noise`` on the coordinates (labels are taken before the noise, so points near the axes overlap)."""
    n = _count(n, "n", "xor")
    noise = _nonnegative(noise, "noise", "xor")
    rng = _generator(seed, "xor")
    points, labels = [], []
    for _ in range(n):
        x1, x2 = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        labels.append(1 if (x1 > 0) != (x2 > 0) else -1)
        points.append([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)])
    return _finite((points, labels), "xor", f"noise={noise!r}")  # already in random order


def blobs(
    n: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    std: float = 0.5,
    box: float = 3.0,
    seed: int | None = 0,
) -> Dataset:
    """Gaussian clusters, one per class: class k is centre_k + Gaussian noise of standard deviation ``std``.

    ``centers`` is the number of classes (centres drawn uniformly in [-box, box]²) or the list of
    centres itself. Labels are class indices 0..K-1.
    """
    n = _count(n, "n", "blobs")
    std = _nonnegative(std, "std", "blobs")
    box = _nonnegative(box, "box", "blobs")
    rng = _generator(seed, "blobs")
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        count = _count(centers, "centers", "blobs")
        centre_points = [[rng.uniform(-box, box), rng.uniform(-box, box)] for _ in range(count)]
    elif (
        isinstance(centers, Sequence)
        and not isinstance(centers, (str, bytes))
        and 0 < len(centers) <= MAX_SAMPLES
    ):
        centre_points = [_centre(c, k) for k, c in enumerate(centers)]
    else:
        raise OperandTypeError(
            f"blobs: centers must be a count or a non-empty list of points, got {type(centers).__name__} "
            f"{show(centers)}"
        )
    points, labels = [], []
    for label, (centre, count) in enumerate(zip(centre_points, _split(n, len(centre_points)))):
        for _ in range(count):
            points.append([centre[0] + rng.gauss(0.0, std), centre[1] + rng.gauss(0.0, std)])
            labels.append(label)
    return _finite(_shuffled(points, labels, rng), "blobs", f"std={std!r}, box={box!r}")


def _centre(c: object, k: int) -> list[float]:
    """A centre given by the caller: two finite numbers."""
    if isinstance(c, (str, bytes)) or not isinstance(c, Sequence) or len(c) != 2:
        raise ArgumentError(f"blobs: centre {k} must be two finite numbers, got {show(c)}")
    return [real_setting(v, f"centre {k}", "blobs") for v in c]


def spirals(
    n: int = 100, classes: int = 3, noise: float = 0.2, turns: float = 0.65, seed: int | None = 0
) -> Dataset:
    """Interleaved spiral arms, one per class: along arm k, at radius r ∈ [0, 1], the angle is
    2πk/K + 2π·turns·r + Gaussian noise of standard deviation ``noise`` (radians); the point is
    (r cos angle, r sin angle). Labels are class indices 0..K-1."""
    n = _count(n, "n", "spirals")
    classes = _count(classes, "classes", "spirals")
    noise = _nonnegative(noise, "noise", "spirals")
    turns = _nonnegative(turns, "turns", "spirals")
    rng = _generator(seed, "spirals")
    settings = f"noise={noise!r}, turns={turns!r}"
    points, labels = [], []
    for label, count in enumerate(_split(n, classes)):
        for k in range(count):
            r = k / (count - 1) if count > 1 else 1.0
            angle = 2.0 * math.pi * (label / classes + turns * r) + rng.gauss(0.0, noise)
            if not math.isfinite(angle):  # cos(inf) is undefined
                raise NonFiniteError(
                    f"spirals: {settings} makes the angle of a point {angle!r}; use smaller values"
                )
            points.append([r * math.cos(angle), r * math.sin(angle)])
            labels.append(label)
    return _finite(_shuffled(points, labels, rng), "spirals", settings)


def to_01(labels: Sequence[int]) -> list[int]:
    """-1 / +1 labels as 0 / 1 (for ``bce_with_logits``): -1 → 0, +1 → 1."""
    return [(_binary(y, (-1, 1), "to_01", i) + 1) // 2 for i, y in enumerate(_labels(labels, "to_01"))]


def to_pm1(labels: Sequence[int]) -> list[int]:
    """0 / 1 labels as -1 / +1 (for ``hinge``): 0 → -1, 1 → +1."""
    return [2 * _binary(y, (0, 1), "to_pm1", i) - 1 for i, y in enumerate(_labels(labels, "to_pm1"))]


def _labels(labels: object, where: str) -> list[object]:
    if not isinstance(labels, (str, bytes)) and isinstance(labels, Iterable):
        try:
            return list(labels)
        except TypeError:  # a 0-d numpy array says it is iterable, then refuses
            pass
    raise OperandTypeError(f"{where}: expected a list of labels, got {type(labels).__name__} {show(labels)}")


def _binary(y: object, allowed: tuple[int, int], where: str, index: int) -> int:
    if isinstance(y, bool) or not isinstance(y, numbers.Real) or y not in allowed:
        raise ArgumentError(
            f"{where}: sample {index} has label {show(y)}; expected {allowed[0]} or {allowed[1]}"
        )
    return allowed[0] if y == allowed[0] else allowed[1]


__all__ = ["blobs", "circles", "moons", "spirals", "to_01", "to_pm1", "xor"]
