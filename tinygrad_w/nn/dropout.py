"""Dropout: while training, silence each unit at random so that no unit can rely on any other.

In training mode every input x_j is multiplied by its own random mask value

    m_j = 0              with probability p          (the unit is dropped)
    m_j = 1 / (1 - p)    with probability 1 - p      (kept, and scaled up: "inverted" dropout)

so E[m_j · x_j] = (1 - p) · x_j / (1 - p) = x_j: on average a unit's output keeps its size, and in
evaluation mode the layer can do nothing at all (the output is the input). A dropped unit passes no
gradient back (∂(m_j x_j)/∂x_j = m_j = 0), so each training step trains a random thinned network; the
full network at evaluation time behaves roughly like the average of them (Srivastava et al., 2014).

Put it after an activation inside a :class:`tinygrad_w.nn.Sequential`::

    model = Sequential(Layer(2, 32, "relu", rng=rng, index=1), Dropout(0.5, seed=0),
                       Layer(32, 1, "linear", rng=rng, index=2))
    model.eval()    # before measuring accuracy: no unit dropped, nothing scaled
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tinygrad_w.checks import flag_setting, real_setting
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.core.value import Value, operand
from tinygrad_w.errors import ShapeError, show
from tinygrad_w.nn.layers import ParameterFree, choose_rng

__all__ = ["Dropout"]


class Dropout(ParameterFree):
    """Drops each input with probability ``p`` in training mode and scales the kept ones by 1/(1 - p);
    passes its input through unchanged in evaluation mode. No parameters.

    The masks are drawn from ``rng`` if given, else from ``random.Random(seed)``, else from the global
    ``random`` module (as the layers do without a seed). ``p = 0`` drops nothing; ``p = 1`` drops
    everything (every output is 0). ``last_mask`` holds the mask of the latest training call.
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None, rng: random.Random | None = None) -> None:
        probability = real_setting(p, "p", "Dropout", low=0.0, high=1.0)
        self.p = probability
        self.name = f"dropout(p={probability:g})"  # drawings show it like an activation, unit by unit
        self.rng = choose_rng(seed, rng, "Dropout")
        self.training = True
        self.last_mask: list[float] = []

    def train(self, mode: bool = True) -> Dropout:
        """Training mode (drop and scale) or, with ``mode=False``, evaluation mode. Returns self."""
        self.training = flag_setting(mode, "mode", "Dropout.train")
        return self

    def eval(self) -> Dropout:
        """Evaluation mode: the output is the input. Returns self."""
        return self.train(False)

    @collector_paused
    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        """One sample's units ``x`` (Values or numbers) → ``m_j · x_j`` for each unit in training mode,
        the units themselves (numbers as Values) in evaluation mode."""
        if isinstance(x, (str, bytes, Value)) or not isinstance(x, Sequence):
            raise ShapeError(f"Dropout: expected a list of units (Values or numbers), got {show(x)}")
        units = [_as_value(xj) for xj in x]
        if not self.training:
            return units
        mask = self.mask(len(units))
        self.last_mask = mask
        return [xj * mj for xj, mj in zip(units, mask)]

    def mask(self, n: int) -> list[float]:
        """``n`` mask values, each 0 with probability p and 1/(1 - p) otherwise (one draw per unit)."""
        kept = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)  # p = 1: every unit dropped, no division
        return [0.0 if self.rng.random() < self.p else kept for _ in range(n)]

    def __repr__(self) -> str:
        return f"Dropout(p={self.p!r}, mode={'train' if self.training else 'eval'!r})"


def _as_value(x: object) -> Value:
    checked = operand(x, "Dropout")  # a finite real number or a Value, else a typed error
    return checked if isinstance(checked, Value) else Value(checked)
