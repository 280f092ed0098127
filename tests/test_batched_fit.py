"""``fit(engine=...)``: the batched replay gives the History of the scalar graph, and falls back when it must."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

from tinygrad_w import ArgumentError, Value, batchnorm, nn, penalties
from tinygrad_w.train import data, fit


def close(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
    return bool(a == b)


def histories(engine_kwargs: dict[str, Any], model_of: Any, X: Any, y: Any, **kwargs: Any) -> tuple[Any, Any]:
    results = []
    for engine in ("scalar", "batched"):
        history = fit(
            model_of(), X, y, engine=engine, progress=False, record_weights=True, **kwargs, **engine_kwargs
        )
        results.append(history.as_dict())
    return results[0], results[1]


@pytest.mark.parametrize(
    "loss, labels, outputs, settings",
    [
        ("hinge", "pm1", 1, {"batch_size": 7, "penalty": 1e-3}),
        ("mse", "real", 1, {"penalty": lambda m: penalties.l1(m, 1e-3)}),
        ("bce", "01", 1, {"batch_size": 10, "clip": 0.5}),
        ("cross_entropy", "class", 3, {"batch_size": 8}),
    ],
)
def test_batched_engine_gives_the_scalar_history(
    loss: str, labels: str, outputs: int, settings: dict[str, Any]
) -> None:
    X, y_pm1 = data.moons(30, noise=0.2, seed=3)  # labels -1 / +1
    y01 = data.to_01(y_pm1)
    y: list[Any] = {
        "pm1": list(y_pm1),
        "01": list(y01),
        "real": [x[0] * 0.5 - x[1] for x in X],
        "class": [int(t) + (1 if x[0] > 1.0 else 0) for x, t in zip(X, y01)],
    }[labels]
    scalar, replayed = histories(
        settings, lambda: nn.MLP(2, [6, 5, outputs], seed=1), X, y, loss=loss, epochs=4, lr=0.05, seed=2
    )
    for key in ("loss", "data_loss", "penalty", "accuracy", "lr", "grad_norm", "weight_stats", "weights"):
        assert close(scalar[key], replayed[key]), key


def test_auto_replays_a_branch_free_model_and_warns_once_for_a_branching_one() -> None:
    X, y = data.moons(20, noise=0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model that can be traced: no warning
        fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)

    class Branching(nn.MLP):
        def __call__(self, x: Any) -> Any:  # a branch on the data: the trace would follow one side
            out = super().__call__(x)
            return out * 2.0 if float(x[0].data if isinstance(x[0], Value) else x[0]) > 0.5 else out

    with pytest.warns(RuntimeWarning, match="scalar graph") as caught:
        auto = fit(Branching(2, [4, 1], seed=0), X, y, epochs=3, progress=False)
    assert len(caught) == 1
    scalar = fit(Branching(2, [4, 1], seed=0), X, y, epochs=3, progress=False, engine="scalar")
    assert auto.loss == scalar.loss  # it did fall back: exactly the scalar numbers
    with pytest.raises(ArgumentError, match="batched"):
        fit(Branching(2, [4, 1], seed=0), X, y, epochs=1, progress=False, engine="batched")


def test_batchwise_models_stay_on_the_scalar_graph_and_bad_engines_are_refused() -> None:
    X, y = data.moons(12, noise=0.2, seed=0)
    model = batchnorm.Sequential(
        nn.Layer(2, 4, seed=0), batchnorm.BatchNorm1d(4), nn.Layer(4, 1, "linear", seed=1)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = fit(model, X, y, epochs=1, progress=False)  # auto: quietly the scalar graph
    assert math.isfinite(history.loss[0])
    with pytest.raises(ArgumentError, match="batched"):
        fit(model, X, y, epochs=1, progress=False, engine="batched")
    for bad in ("fast", None, 1):
        with pytest.raises(ArgumentError, match="engine"):
            fit(nn.MLP(2, [1], seed=0), X, y, epochs=1, progress=False, engine=bad)  # type: ignore[arg-type]
