"""The hostile suite, part 2: networks' helpers and training (initializers, penalties, batch norm, losses,
optimizers, schedulers, clipping, data sets, fit) under hostile arguments. Rule: hostile_support."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from hostile_support import FAST, FEW, HOSTILE, clean, finite, numbers_of, scalars, sequences, values
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import MLP, Value
from tinygrad_w.nn import initializers as init
from tinygrad_w.nn import penalties
from tinygrad_w.nn.batchnorm import Activation, BatchNorm1d, Sequential
from tinygrad_w.train import data, losses, optim
from tinygrad_w.train.fit import History, fit

# ----------------------------------------------------------------------------------------------------
# Initializers, penalties, batch norm

FACTORIES: dict[str, Callable[..., init.Initializer]] = {
    "constant": init.constant, "uniform": init.uniform, "normal": init.normal,
    "xavier_uniform": init.xavier_uniform, "xavier_normal": init.xavier_normal,
    "he_uniform": init.he_uniform, "he_normal": init.he_normal,
}  # fmt: skip


@FAST
@given(st.sampled_from(sorted(FACTORIES)), st.lists(HOSTILE, min_size=1, max_size=2), st.integers(0, 3))
def test_initializers_made_and_sampled_with_anything(name: str, settings: list[Any], count: int) -> None:
    made = clean(lambda: FACTORIES[name](*settings[: 1 if name in ("constant",) or "_" in name else 2]), name)
    if isinstance(made, init.Initializer):
        clean(
            lambda: made.sample(3, 2, count, random.Random(0)),
            ".sample",
            correct=lambda drawn: len(drawn) == count and all(finite(x) for x in drawn),
        )


@FAST
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_sample_with_anything(fan_in: Any, fan_out: Any, count: Any, rng: Any) -> None:
    clean(
        lambda: init.he_normal().sample(fan_in, fan_out, count, rng),
        "he_normal",
        correct=lambda d: all(map(finite, d)),
    )


@FAST
@given(
    st.one_of(HOSTILE, st.lists(values(), max_size=3)), HOSTILE, st.sampled_from(["l1", "l2", "elastic_net"])
)
def test_penalties_of_anything(params: Any, strength: Any, name: str) -> None:
    call = {
        "l1": lambda: penalties.l1(params, strength),
        "l2": lambda: penalties.l2(params, strength),
        "elastic_net": lambda: penalties.elastic_net(params, strength, strength),
    }[name]
    leaves = [p for p in params if isinstance(p, Value)] if isinstance(params, (list, tuple)) else []

    def correct(out: Value) -> None:
        weights = [p.data for p in leaves]
        lam = float(strength)
        expected = {
            "l1": lam * sum(abs(w) for w in weights),
            "l2": lam * sum(w * w for w in weights),
            "elastic_net": lam * sum(abs(w) for w in weights) + lam * sum(w * w for w in weights),
        }[name]
        assert finite(out.data) and math.isclose(out.data, expected, rel_tol=1e-12, abs_tol=1e-300)

    clean(call, name, state=lambda: numbers_of(leaves), correct=correct)


@FAST
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_batchnorm_made_with_anything(features: Any, eps: Any, momentum: Any, label: Any) -> None:
    clean(lambda: BatchNorm1d(features, eps, momentum, label=label), "BatchNorm1d")


@FAST
@given(st.one_of(HOSTILE, sequences(sequences(scalars()))), st.booleans(), HOSTILE)
def test_batchnorm_called_on_anything(batch: Any, training: bool, mode: Any) -> None:
    bn = BatchNorm1d(2)
    bn.train(training)
    model = Sequential(bn, Activation("tanh"))
    state = lambda: (bn.running_state(), bn.training, numbers_of(bn.parameters()))
    clean(lambda: bn(batch), "BatchNorm1d", state=state, correct=lambda out: len(out) == len(batch))
    clean(lambda: model(batch), ("Sequential", "BatchNorm1d", "Activation", "tanh"), state=state)
    clean(lambda: bn.train(mode), "train", state=state, correct=lambda out: out is bn and bn.training is mode)


# ----------------------------------------------------------------------------------------------------
# Losses

LOSSES = {
    "mse": losses.mse, "hinge": losses.hinge, "bce_with_logits": losses.bce_with_logits,
    "softmax_cross_entropy": losses.softmax_cross_entropy, "accuracy": losses.accuracy,
    "multiclass_accuracy": losses.multiclass_accuracy,
}  # fmt: skip
LABELISH = st.one_of(st.sampled_from([-1, 0, 1, 2, 1.0, -1.0]), scalars())


@FAST
@given(
    st.sampled_from(sorted(LOSSES)),
    st.one_of(HOSTILE, sequences(st.one_of(values(), scalars()))),
    st.one_of(HOSTILE, sequences(LABELISH)),
)
def test_losses_of_anything(name: str, scores: Any, labels: Any) -> None:
    leaves = [s for s in scores if isinstance(s, Value)] if isinstance(scores, (list, tuple)) else []

    def correct(out: Any) -> None:
        if "accuracy" in name:
            assert isinstance(out, float) and 0.0 <= out <= 1.0
        else:
            assert (isinstance(out, Value) and finite(out.data) and out.data >= 0.0) or name == "mse"

    clean(lambda: LOSSES[name](scores, labels), name, state=lambda: numbers_of(leaves), correct=correct)


# ----------------------------------------------------------------------------------------------------
# Optimizers, schedulers, clipping

OPTIMIZERS: dict[str, Callable[..., optim.Optimizer]] = {
    "SGD": optim.SGD,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
}


@FAST
@given(st.sampled_from(sorted(OPTIMIZERS)), HOSTILE, st.lists(HOSTILE, min_size=1, max_size=3))
def test_optimizers_made_with_anything(name: str, params: Any, settings: list[Any]) -> None:
    clean(lambda: OPTIMIZERS[name](params, *settings), name)


@FAST
@given(
    st.sampled_from(sorted(OPTIMIZERS)),
    st.lists(HOSTILE, min_size=2, max_size=2),
    st.lists(HOSTILE, min_size=2, max_size=2),
)
def test_step_with_any_gradient_or_data(name: str, grads: list[Any], data: list[Any]) -> None:
    params = [Value(0.5, "a"), Value(-1.0, "b")]
    opt = OPTIMIZERS[name](params, lr=0.1)
    for p, g in zip(params, grads):
        p.grad = g
    if data[0] is not None:
        params[0].data = data[0]
    state = lambda: (numbers_of(params), repr(opt.state_dict()))

    def correct(_: None) -> None:
        assert opt.step_count == 1 and all(finite(p.data) for p in params)
        assert all(finite(v) for buffer in opt.state_dict()["state"].values() for v in buffer)

    clean(opt.step, f"{name}.step", state=state, correct=correct)


@FAST
@given(
    st.sampled_from(["SGD", "Adam"]),
    st.sampled_from(["type", "lr", "step_count", "state", "buffer", "extra"]),
    HOSTILE,
)
def test_load_state_dict_of_anything(name: str, field: str, value: Any) -> None:
    params = [Value(0.5, "a"), Value(-1.0, "b")]
    opt = OPTIMIZERS[name](params, lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    for p in params:
        p.grad = 1.0
    opt.step()
    saved = opt.state_dict()
    if field == "buffer":
        next(iter(saved["state"].values()))[0] = value
    else:
        saved[field] = value
    state = lambda: (numbers_of(params), repr(opt.state_dict()))

    def correct(_: None) -> None:
        loaded = opt.state_dict()
        assert finite(loaded["lr"]) and loaded["step_count"] >= 0
        assert all(finite(v) for buffer in loaded["state"].values() for v in buffer)

    clean(lambda: opt.load_state_dict(saved), "load_state_dict", state=state, correct=correct)


SCHEDULERS: dict[str, Callable[..., optim.LRScheduler]] = {
    "StepLR": lambda o, a, b: optim.StepLR(o, a, b), "ExponentialLR": lambda o, a, b: optim.ExponentialLR(o, a),
    "CosineAnnealingLR": lambda o, a, b: optim.CosineAnnealingLR(o, a, b),
    "LinearLR": lambda o, a, b: optim.LinearLR(o, a, b), "LambdaLR": lambda o, a, b: optim.LambdaLR(o, lambda k: a),
}  # fmt: skip


@FAST
@given(
    st.sampled_from(sorted(SCHEDULERS)),
    st.one_of(st.integers(1, 3), st.floats(0, 1e10), HOSTILE),
    st.one_of(st.floats(0, 1e10), HOSTILE),
)
def test_schedulers_with_anything_over_forty_epochs(name: str, a: Any, b: Any) -> None:
    opt = optim.SGD([Value(0.0)], lr=1.0)
    made = clean(lambda: SCHEDULERS[name](opt, a, b), (name, "SGD"), state=lambda: opt.lr)
    if isinstance(made, optim.LRScheduler):
        for _ in range(40):
            clean(
                made.step,
                name,
                state=lambda: (opt.lr, made.last_epoch),
                correct=lambda _: finite(opt.lr) and opt.lr >= 0,
            )


@FAST
@given(
    st.one_of(HOSTILE, st.lists(values(), max_size=3)), HOSTILE, st.lists(HOSTILE, max_size=3), st.booleans()
)
def test_clipping_anything(params: Any, limit: Any, grads: list[Any], by_norm: bool) -> None:
    leaves = [p for p in params if isinstance(p, Value)] if isinstance(params, (list, tuple)) else []
    for p, g in zip(leaves, grads):
        p.grad = g
    name = "clip_grad_norm" if by_norm else "clip_grad_value"
    call = (
        (lambda: optim.clip_grad_norm(params, limit))
        if by_norm
        else (lambda: optim.clip_grad_value(params, limit))
    )
    clean(call, name, state=lambda: numbers_of(leaves), correct=lambda _: all(finite(p.grad) for p in leaves))


# ----------------------------------------------------------------------------------------------------
# Data sets

GENERATORS: dict[str, Callable[..., data.Dataset]] = {
    "moons": data.moons, "circles": data.circles, "xor": data.xor, "blobs": data.blobs, "spirals": data.spirals,
}  # fmt: skip
SMALL_OR_HOSTILE = st.one_of(st.integers(1, 30), st.floats(0, 2), HOSTILE)


@FAST
@given(
    st.sampled_from(sorted(GENERATORS)),
    st.lists(SMALL_OR_HOSTILE, max_size=2),
    st.one_of(st.none(), st.integers(), HOSTILE),
)
def test_data_sets_with_anything(name: str, settings: list[Any], seed: Any) -> None:
    def correct(dataset: data.Dataset) -> None:
        X, y = dataset
        assert len(X) == len(y) == (settings[0] if settings else 100)
        assert all(finite(v) for point in X for v in point)

    clean(lambda: GENERATORS[name](*settings, seed=seed), name, correct=correct)


@FAST
@given(st.one_of(HOSTILE, sequences(LABELISH)), st.booleans())
def test_label_conversions_of_anything(labels: Any, to_01: bool) -> None:
    name = "to_01" if to_01 else "to_pm1"
    clean(
        lambda: getattr(data, name)(labels),
        name,
        correct=lambda out: set(out) <= ({0, 1} if to_01 else {-1, 1}),
    )


# ----------------------------------------------------------------------------------------------------
# fit

FIT_KEYWORDS = ["loss", "optimizer", "lr", "epochs", "batch_size", "penalty", "scheduler", "clip", "seed",
                "progress", "record_weights", "callback", "engine"]  # fmt: skip
ODD_CALLABLES = [lambda *a: 5.0, lambda *a: None, lambda *a: "x", lambda *a: [Value(1.0)], lambda *a: True]


@FEW
@given(
    st.sampled_from(FIT_KEYWORDS),
    st.one_of(HOSTILE, st.sampled_from(ODD_CALLABLES)),
    st.sampled_from(["X", "y", "model", "keyword"]),
)
def test_fit_with_one_hostile_argument(keyword: str, value: Any, where: str) -> None:
    model = MLP(2, [3, 1], "tanh", seed=0)
    X, y = data.moons(8, seed=1)
    arguments: dict[str, Any] = {"X": X, "y": y, "model": model}
    kwargs: dict[str, Any] = {"epochs": 2, "progress": False}
    if where == "keyword":
        if keyword == "epochs" and isinstance(value, int) and value > 5:
            return  # a legal epoch count is the user's wish, however long: not a hostile input
        kwargs[keyword] = value
    else:
        arguments[where] = value

    def correct(history: History) -> None:
        assert isinstance(history, History) and 1 <= len(history) <= kwargs["epochs"]
        assert all(finite(loss) for loss in history.loss)

    clean(
        lambda: fit(arguments["model"], arguments["X"], arguments["y"], **kwargs),
        ("fit", "SGD", "hinge", "MLP"),
        state=lambda: numbers_of(model.parameters()),
        correct=correct,
    )
