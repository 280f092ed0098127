"""Library calls that build graphs pause the cycle collector while they run, and only then."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tinygrad_w import MLP, Value, nn
from tinygrad_w.core.reverse import collector_paused
from tinygrad_w.errors import OperationOverflowError
from tinygrad_w.nn import penalties
from tinygrad_w.train import losses


@pytest.fixture
def eager_collector() -> Iterator[list[int]]:
    """The collector on with a threshold of 1, so that any container allocated while it is on starts a
    pass; yields the list of generations collected since."""
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    passes: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.enable()
    gc.set_threshold(1, 10, 10)
    gc.callbacks.append(note)
    try:
        yield passes
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*thresholds)
        (gc.enable if enabled else gc.disable)()


def test_the_decorator_pauses_during_the_call_and_restores_the_users_setting() -> None:
    seen = collector_paused(gc.isenabled)
    enabled = gc.isenabled()
    try:
        gc.enable()
        assert seen() is False and gc.isenabled() is True
        gc.disable()
        assert seen() is False and gc.isenabled() is False  # a user who turned it off keeps it off
    finally:
        (gc.enable if enabled else gc.disable)()


def test_the_collector_is_on_again_after_an_error_inside() -> None:
    def overflow() -> Value:
        return Value(1e300) * 1e300

    assert gc.isenabled()
    with pytest.raises(OperationOverflowError):
        collector_paused(overflow)()
    assert gc.isenabled()


def test_the_decorator_keeps_the_name_and_docstring() -> None:
    assert MLP.__call__.__name__ == "__call__" and losses.hinge.__name__ == "hinge"
    assert "Hinge loss" in (losses.hinge.__doc__ or "")


def _scores() -> list[Value]:
    return [Value(0.1 * i) for i in range(32)]


# name: (the library call, a function making its arguments)
CALLS: dict[str, tuple[Callable[..., Any], Callable[[], tuple[Any, ...]]]] = {
    "MLP": (MLP(2, [8, 8, 1], seed=0), lambda: ([0.5, -0.25],)),
    "MLP fused": (MLP(2, [8, 8, 1], seed=0, fused=True), lambda: ([0.5, -0.25],)),
    "Layer": (nn.Layer(4, 8, seed=0), lambda: ([0.5, -0.25, 1.0, 2.0],)),
    "Neuron": (nn.Neuron(16, seed=0), lambda: ([0.5] * 16,)),
    "BatchNorm1d": (
        nn.BatchNorm1d(3),
        lambda: ([[Value(float(i + j)) for j in range(3)] for i in range(8)],),
    ),
    "Dropout": (nn.Dropout(0.5, seed=0), lambda: ([Value(1.0)] * 32,)),
    "hinge": (losses.hinge, lambda: (_scores(), [1.0, -1.0] * 16)),
    "mse": (losses.mse, lambda: (_scores(), [1.0] * 32)),
    "l2": (penalties.l2, lambda: (_scores(), 1e-3)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_library_call_builds_its_graph_without_waking_the_collector(
    name: str, eager_collector: list[int]
) -> None:
    """With a threshold of 1 every container allocated while the collector is on starts a pass: the same
    work undecorated starts one per node; the library call starts none while it runs."""
    call, arguments = CALLS[name]
    undecorated = getattr(call, "__wrapped__", None) or functools.partial(
        type(call).__call__.__wrapped__, call
    )
    args = arguments()
    eager_collector.clear()
    call(*args)
    during_call = len(eager_collector)
    args = arguments()
    eager_collector.clear()
    undecorated(*args)
    unpaused = len(eager_collector)
    assert during_call == 0, f"{name}: {during_call} collector passes while it built its graph"
    assert unpaused > 10, f"{name}: undecorated, the same work should wake the collector, got {unpaused}"
