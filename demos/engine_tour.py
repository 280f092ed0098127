"""A tour of the engine in one screen: build an expression, backpropagate, check it, go to higher order.

    python demos/engine_tour.py

Every number printed is computed here; the finite-difference column is an independent check of the
gradients that backward() produced.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import _common  # noqa: F401  (first: it says how to run the demos if the package is missing)

import tinygrad_w as tg
from tinygrad_w import Value


def central_difference(f: Callable[..., float], xs: list[float], i: int, h: float = 1e-6) -> float:
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def main() -> None:
    # f(x, y) = tanh(x·y + x²) + y / x
    def f(x: float, y: float) -> float:
        return math.tanh(x * y + x**2) + y / x

    x, y = Value(0.8, "x"), Value(-1.3, "y")
    out = (x * y + x**2).tanh() + y / x
    out.backward()

    print("f(x, y) = tanh(x·y + x²) + y / x")
    print(f"  at x = {x.data}, y = {y.data}:  f = {out.data:.12f}")
    print(f"  {'input':<6}{'backward()':>18}{'finite difference':>22}")
    for i, v in enumerate((x, y)):
        numeric = central_difference(f, [x.data, y.data], i)
        print(f"  {v.label:<6}{v.grad:>18.12f}{numeric:>22.12f}")

    order = tg.topological_order(out)
    ops = [n.op.name for n in order if n.op is not None]
    print(f"\nThe graph has {len(order)} nodes; operations in topological order: {', '.join(ops)}")

    # Second and third derivatives come from differentiating the gradient itself.
    z = Value(0.5, "z")
    (d1,) = tg.grad(z.tanh(), [z], create_graph=True)
    (d2,) = tg.grad(d1, [z], create_graph=True)
    (d3,) = tg.grad(d2, [z])
    t = math.tanh(0.5)
    print("\nDerivatives of tanh at z = 0.5 (engine vs closed form):")
    print(f"  first   {d1.data:+.15f}   1 - t²            = {1 - t * t:+.15f}")
    print(f"  second  {d2.data:+.15f}   -2t(1 - t²)       = {-2 * t * (1 - t * t):+.15f}")
    print(f"  third   {d3:+.15f}   -2(1-t²)(1-3t²)   = {-2 * (1 - t * t) * (1 - 3 * t * t):+.15f}")

    print("\nBad input gets a typed error naming the operation and the value:")
    for text, attempt in [
        ("Value(0).log()", lambda: Value(0).log()),
        ("Value(1) / 0", lambda: Value(1) / 0),
        ("Value(-8) ** (1/3)", lambda: Value(-8) ** (1 / 3)),
        ("Value('abc')", lambda: Value("abc")),  # type: ignore[arg-type]
    ]:
        try:
            attempt()
        except tg.TinygradError as error:
            print(f"  {text:<20} -> {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
