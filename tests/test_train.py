"""Tests of tinygrad_w.train: what History records, determinism, every loss, saving and plotting, bad
input naming the sample, and divergence leaving the last good weights."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from tinygrad_w import Value, nn
from tinygrad_w.errors import ArgumentError, DivergenceError, NonFiniteError, OperandTypeError, ShapeError
from tinygrad_w.nn import penalties
from tinygrad_w.train import data, losses, optim
from tinygrad_w.train.fit import History, fit, progress_bar


def small_moons(n: int = 24) -> tuple[list[list[float]], list[int]]:
    return data.moons(n, noise=0.1, seed=3)


def small_model(seed: int = 0, nouts: tuple[int, ...] = (4, 1), activation: str = "tanh") -> nn.MLP:
    return nn.MLP(2, list(nouts), activation, seed=seed)


def without_times(history: History) -> dict[str, Any]:
    record = history.as_dict()
    del record["seconds"]
    return record


# ----------------------------------------------------------------------------------------------------
# What History records


def test_history_has_one_entry_per_epoch_and_adds_up() -> None:
    X, y = small_moons()
    model = small_model()
    history = fit(model, X, y, epochs=5, lr=0.1, penalty=1e-2, progress=False)
    assert len(history) == 5 and history.epoch == [1, 2, 3, 4, 5]
    for field in ("loss", "data_loss", "penalty", "accuracy", "lr", "grad_norm", "weight_stats", "seconds"):
        assert len(getattr(history, field)) == 5, field
    for total, part, pen in zip(history.loss, history.data_loss, history.penalty):
        assert total == pytest.approx(part + pen)
        assert pen > 0
    assert history.lr == [0.1] * 5
    assert history.layer_names == ["L1", "L2"]
    assert all(len(norms) == 2 for norms in history.grad_norm)
    assert all(0.0 <= a <= 1.0 for a in history.accuracy)
    assert history.weight_stats[-1] == model.weight_stats()
    assert len(history.initial_weight_stats["layers"]) == 2
    assert history.weights == {}


def test_first_epoch_is_exactly_one_gradient_step() -> None:
    X, y = small_moons(10)
    model, twin = small_model(seed=5), small_model(seed=5)
    # By hand on the twin: the hinge loss at the initial weights and one step θ ← θ - 0.5 ∂loss/∂θ.
    loss = losses.hinge([twin(x) for x in X], y)  # type: ignore[misc]
    loss.backward()
    expected = [p.data - 0.5 * p.grad for p in twin.parameters()]
    grad_norms = [math.hypot(*(p.grad for p in layer.parameters())) for layer in twin.layers]
    history = fit(model, X, y, epochs=1, lr=0.5, progress=False)
    assert history.loss == [pytest.approx(loss.data)]
    assert history.grad_norm == [pytest.approx(grad_norms)]
    assert [p.data for p in model.parameters()] == pytest.approx(expected)


def test_record_weights() -> None:
    X, y = small_moons()
    model = small_model()
    start = {p.label: p.data for p in model.parameters()}
    history = fit(model, X, y, epochs=3, lr=0.1, record_weights=True, progress=False)
    assert history.initial_weights == start
    assert set(history.weights) == set(start) and "L1.N0.w0" in history.weights
    assert all(len(values) == 3 for values in history.weights.values())
    assert {label: values[-1] for label, values in history.weights.items()} == {
        p.label: p.data for p in model.parameters()
    }


def test_same_seed_same_history_and_minibatch_shuffling_depends_on_it() -> None:
    X, y = small_moons()
    runs = [
        fit(small_model(), X, y, epochs=4, lr=0.1, batch_size=5, seed=s, progress=False) for s in (1, 1, 2)
    ]
    assert without_times(runs[0]) == without_times(runs[1])
    assert runs[0].loss != runs[2].loss


def test_minibatches_take_one_step_each() -> None:
    X, y = small_moons(23)
    model = small_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    fit(model, X, y, optimizer=optimizer, epochs=3, batch_size=5, progress=False)
    assert optimizer.step_count == 3 * 5  # ⌈23 / 5⌉ = 5 batches per epoch


def test_penalty_number_means_l2_of_the_weights() -> None:
    X, y = small_moons()
    a = fit(small_model(), X, y, epochs=3, lr=0.1, penalty=0.01, progress=False)
    b = fit(small_model(), X, y, epochs=3, lr=0.1, penalty=lambda m: penalties.l2(m, 0.01), progress=False)
    assert without_times(a) == without_times(b)


def test_scheduler_sets_the_lr_of_each_epoch() -> None:
    X, y = small_moons()
    model = small_model()
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, X, y, optimizer=optimizer, scheduler=scheduler, epochs=5, progress=False)
    assert history.lr == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_clip_limits_the_step_and_grad_norm_is_recorded_before_clipping() -> None:
    X, y = small_moons()
    model = small_model()
    before = [p.data for p in model.parameters()]
    history = fit(model, X, y, epochs=1, lr=1.0, clip=1e-3, progress=False)
    moved = math.hypot(*(p.data - b for p, b in zip(model.parameters(), before)))
    assert moved <= 1e-3 * (1 + 1e-9)
    assert math.hypot(*history.grad_norm[0]) > 1e-3


def test_callback_sees_each_epoch_and_can_stop() -> None:
    X, y = small_moons()
    seen: list[int] = []

    def stop_after_two(epoch: int, history: History) -> bool:
        seen.append(len(history))
        return epoch == 2

    history = fit(small_model(), X, y, epochs=10, lr=0.1, callback=stop_after_two, progress=False)
    assert seen == [1, 2] and len(history) == 2


# ----------------------------------------------------------------------------------------------------
# The losses, learning something


def test_moons_with_hinge_learns() -> None:
    X, y = data.moons(40, noise=0.05, seed=0)
    model = nn.MLP(2, [8, 1], "tanh", seed=2, fused=True)
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        epochs=60,
        progress=False,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] >= 0.9


def test_bce_with_01_labels() -> None:
    X, y = data.moons(30, seed=1)
    model = nn.MLP(2, [6, 1], "tanh", seed=0, fused=True)
    history = fit(model, X, data.to_01(y), loss="bce", lr=0.5, epochs=30, progress=False)
    twin = nn.MLP(2, [6, 1], "tanh", seed=0)
    first_loss = losses.bce_with_logits([twin(x) for x in X], data.to_01(y))  # type: ignore[misc]
    assert history.loss[0] == pytest.approx(first_loss.data)
    assert history.loss[-1] < history.loss[0] and history.accuracy[-1] > 0.7


def test_cross_entropy_on_blobs() -> None:
    X, y = data.blobs(45, centers=3, seed=4)
    model = nn.MLP(2, [8, 3], "tanh", seed=0, fused=True)
    history = fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        epochs=40,
        progress=False,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] >= 0.9


def test_mse_regression_has_no_accuracy() -> None:
    X = [[x / 10, 0.0] for x in range(10)]
    y = [2 * x[0] + 1 for x in X]
    model = nn.MLP(2, [1], seed=0)
    history = fit(model, X, y, loss="mse", lr=0.3, epochs=80, progress=False)
    assert history.accuracy == []
    assert history.loss[-1] < 1e-3


def test_custom_loss_function() -> None:
    X, y = small_moons()
    calls: list[int] = []

    def mean_score(scores: list[Value], labels: list[int]) -> Value:
        calls.append(len(scores))
        return losses.hinge(scores, labels) * 2.0

    history = fit(small_model(), X, y, loss=mean_score, epochs=2, lr=0.1, progress=False)
    assert calls == [24, 24] and len(history.accuracy) == 2  # ±1 labels: accuracy by sign


# ----------------------------------------------------------------------------------------------------
# Bad input


def test_bad_data_is_named() -> None:
    X, y = small_moons(6)
    model = small_model()
    with pytest.raises(ShapeError, match="X has 6 samples but y has 5 labels"):
        fit(model, X, y[:5], progress=False)
    with pytest.raises(ShapeError, match="sample 2 has 3 features but the model takes 2"):
        fit(model, [*X[:2], [1.0, 2.0, 3.0], *X[3:]], y, progress=False)
    with pytest.raises(NonFiniteError, match="sample 4, feature 1: got nan"):
        fit(model, [*X[:4], [0.0, math.nan], X[5]], y, progress=False)
    with pytest.raises(NonFiniteError, match="label of sample 0"):
        fit(model, X, [math.inf, *y[1:]], progress=False)
    with pytest.raises(ArgumentError, match=r"sample 3 has label 0.*to_pm1"):
        fit(model, X, [*y[:3], 0, *y[4:]], progress=False)
    with pytest.raises(ArgumentError, match=r"sample 1 has label -1.*to_01"):
        fit(model, X, [1, -1, 1, 1, 0, 0], loss="bce", progress=False)
    with pytest.raises(ShapeError, match="empty"):
        fit(model, [], [], progress=False)
    with pytest.raises(OperandTypeError, match="sample 1, feature 0"):
        fit(model, [X[0], ["a", 1.0], *X[2:]], y, progress=False)  # type: ignore[list-item]


def test_bad_settings() -> None:
    X, y = small_moons(6)
    model = small_model()
    with pytest.raises(ArgumentError, match="unknown loss"):
        fit(model, X, y, loss="huber", progress=False)
    with pytest.raises(ArgumentError, match="epochs"):
        fit(model, X, y, epochs=0, progress=False)
    with pytest.raises(ArgumentError, match="batch_size"):
        fit(model, X, y, batch_size=0, progress=False)
    with pytest.raises(ArgumentError, match="clip"):
        fit(model, X, y, clip=-1.0, progress=False)
    with pytest.raises(ArgumentError, match="not to fit"):
        fit(model, X, y, lr=0.1, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
    other = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ArgumentError, match="different optimizer"):
        fit(
            model,
            X,
            y,
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            scheduler=optim.StepLR(other, 2),
            progress=False,
        )
    with pytest.raises(ArgumentError, match="class 3"):
        fit(nn.MLP(2, [3], seed=0), X, [0, 1, 2, 3, 0, 1], loss="cross_entropy", progress=False)
    with pytest.raises(ShapeError, match="one output per class"):
        fit(model, X, [0, 1, 0, 1, 0, 1], loss="cross_entropy", progress=False)


def test_divergence_names_the_epoch_and_keeps_the_last_good_weights() -> None:
    X, y = small_moons(12)
    model = small_model(nouts=(4, 4, 1), activation="relu")
    optimizer = optim.SGD(model.parameters(), lr=1e120, momentum=0.5)
    good: list[tuple[list[float], dict[str, Any]]] = []

    def remember(epoch: int, history: History) -> None:
        good.append(([p.data for p in model.parameters()], optimizer.state_dict()))

    with pytest.raises(DivergenceError, match=r"diverged in epoch (\d+)") as caught:
        fit(model, X, y, optimizer=optimizer, epochs=50, callback=remember, progress=False)
    error = caught.value
    assert isinstance(error.history, History)
    assert error.epoch == len(error.history) + 1 == len(good) + 1
    assert error.epoch >= 2  # the first step succeeded and was kept
    assert f"epoch {error.epoch}" in str(error)
    weights, state = good[-1]
    assert [p.data for p in model.parameters()] == weights
    assert optimizer.state_dict() == state
    assert all(math.isfinite(p.data) for p in model.parameters())


@pytest.mark.parametrize("engine", ["scalar", "batched"])
def test_minibatches_are_shuffled_the_same_way_without_a_seed_and_as_the_seed_says(engine: str) -> None:
    """seed=None means seed 0, not fresh entropy: the same call gives the same weights, bit for bit."""
    X, y = small_moons(12)
    weights = []
    for seed in (None, None, 0, 1):
        model = small_model(nouts=(4, 4, 1), activation="relu")
        fit(model, X, y, lr=0.5, batch_size=4, epochs=3, seed=seed, engine=engine, progress=False)
        weights.append([p.data for p in model.parameters()])
    assert weights[0] == weights[1] == weights[2] != weights[3]


def test_divergence_in_a_minibatch_names_the_batch() -> None:
    X, y = small_moons(12)
    model = small_model(nouts=(4, 4, 1), activation="relu")
    with pytest.raises(DivergenceError, match=r"epoch \d+, batch \d+ of 3"):
        fit(model, X, y, lr=1e120, batch_size=4, epochs=50, progress=False)


# ----------------------------------------------------------------------------------------------------
# Saving, plotting, the progress bar


@pytest.fixture(scope="module")
def history() -> History:
    X, y = small_moons(12)
    return fit(small_model(), X, y, epochs=3, lr=0.1, penalty=1e-3, record_weights=True, progress=False)


def test_to_csv(history: History, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    history.to_csv(path)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert [float(r["loss"]) for r in rows] == history.loss
    assert float(rows[2]["grad_norm.L2"]) == history.grad_norm[2][1]
    assert float(rows[0]["weight_stats.total.sum"]) == history.weight_stats[0]["total"]["sum"]
    assert float(rows[1]["weight.L1.N0.w0"]) == history.weights["L1.N0.w0"][1]
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]  # no temporary file left


def test_to_json(history: History, tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    history.to_json(path)
    loaded = json.loads(path.read_text())
    assert loaded["loss"] == history.loss
    assert loaded["weights"] == history.weights
    assert loaded["weight_stats"][1]["layers"][0]["mean"] == history.weight_stats[1]["layers"][0]["mean"]


def test_plot_writes_a_png(history: History, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "history.png"
    history.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["history.png"]


def test_plot_without_matplotlib_says_what_to_install(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install tinygrad-w\[plot\]"):
        history.plot(tmp_path / "x.png")


class FakeTerminal:
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_bar_only_on_a_terminal_and_only_with_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    assert progress_bar(3, True) is None  # pytest captures stderr: not a terminal
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert progress_bar(3, False) is None
    bar = progress_bar(3, True)
    assert bar is not None
    bar.close()
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert progress_bar(3, True) is None


def test_fit_with_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    written: list[str] = []

    class Recording(FakeTerminal):
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    monkeypatch.setattr(sys, "stderr", Recording())
    X, y = small_moons(8)
    fit(small_model(), X, y, epochs=2, lr=0.1)
    assert any("loss=" in text and "acc=" in text for text in written)


# ----------------------------------------------------------------------------------------------------
# Hostile arguments: a typed error naming fit and the argument, and the model untouched


def weights_of(model: Any) -> list[tuple[float, float]]:
    return [(p.data, p.grad) for p in model.parameters()]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"penalty": lambda m: 5.0},
            OperandTypeError,
            r"fit: penalty\(model\) returned float 5.0, not a Value",
        ),
        ({"loss": lambda s, y: 1.0}, OperandTypeError, "fit: the loss returned float 1.0, not a Value"),
        (
            {"scheduler": "step"},
            OperandTypeError,
            "fit: scheduler must be a tinygrad_w.optim scheduler, got 'step'",
        ),
        ({"callback": 5}, OperandTypeError, "fit: callback must be a function"),
        ({"loss": 3}, OperandTypeError, "fit: loss must be a name or a function, got int 3"),
        ({"lr": 10**400}, NonFiniteError, "fit: lr must be finite"),
        ({"penalty": -1.0}, ArgumentError, r"fit: penalty \(an L2 strength, or a function\) must be >= 0"),
        ({"seed": "abc"}, OperandTypeError, "fit: seed must be an int or None, got str 'abc'"),
        ({"progress": "no"}, OperandTypeError, "fit: progress must be True or False"),
        ({"record_weights": 1}, OperandTypeError, "fit: record_weights must be True or False"),
        ({"epochs": 2.0}, OperandTypeError, "fit: epochs must be an integer, got float 2.0"),
        ({"clip": math.inf}, NonFiniteError, "fit: clip must be finite"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_bad_arguments_name_fit_and_change_nothing(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    X, y = small_moons(6)
    model = small_model()
    before = weights_of(model)
    with pytest.raises(error, match=f"^{message}"):
        fit(model, X, y, **{"epochs": 2, "progress": False, **kwargs})
    assert weights_of(model) == before


def test_a_model_must_be_a_model() -> None:
    X, y = small_moons(6)
    with pytest.raises(
        OperandTypeError, match=r"^fit: model must be callable and have parameters\(\), got str 'model'"
    ):
        fit("model", X, y, progress=False)  # type: ignore[arg-type]


def test_an_optimizer_over_another_models_parameters_is_refused() -> None:
    X, y = small_moons(6)
    model, other = small_model(0), small_model(1)
    before = weights_of(model)
    with pytest.raises(
        ArgumentError,
        match=r"^fit: the optimizer's parameter 0 \('L1.N0.w0'\) is not a parameter of this model",
    ):
        fit(model, X, y, optimizer=optim.SGD(other.parameters(), lr=0.1), progress=False)
    assert weights_of(model) == before
    # an optimizer over some of the model's parameters (a frozen first layer) is fine
    last = model.layers[-1].parameters()
    first = [p.data for p in model.layers[0].parameters()]
    fit(model, X, y, optimizer=optim.SGD(last, lr=0.1), epochs=2, progress=False)
    assert [p.data for p in model.layers[0].parameters()] == first


def test_numpy_data_and_labels_train_like_lists() -> None:
    np = pytest.importorskip("numpy")
    X, y = small_moons(12)
    reference = fit(small_model(), X, y, epochs=3, progress=False)
    for X_, y_ in [
        (np.array(X), np.array(y)),
        (X, [np.int64(label) for label in y]),
        (X, [np.float32(label) for label in y]),
        ([np.array(x) for x in X], tuple(y)),
    ]:
        history = fit(small_model(), X_, y_, epochs=3, progress=False)
        assert history.loss == reference.loss
    multiclass = fit(
        nn.MLP(2, [3], seed=0),
        X,
        np.array([i % 3 for i in range(12)]),
        loss="cross_entropy",
        epochs=1,
        progress=False,
    )
    assert len(multiclass.accuracy) == 1


def test_a_failing_step_is_undone_whatever_the_error() -> None:
    X, y = small_moons(6)
    model = small_model()
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    calls = []

    def flaky(scores: list[Value], labels: list[int]) -> Value:
        calls.append(1)
        if len(calls) == 3:
            raise KeyError("the user's loss broke")
        return losses.hinge(scores, labels)

    remembered: list[Any] = []
    with pytest.raises(KeyError):
        fit(model, X, y, loss=flaky, optimizer=optimizer, epochs=5, progress=False,
            callback=lambda e, h: remembered.append((weights_of(model), optimizer.state_dict())))  # fmt: skip
    assert (weights_of(model), optimizer.state_dict()) == remembered[-1]


def test_batch_norm_running_statistics_are_restored_after_divergence() -> None:
    import random as random_module

    from tinygrad_w.nn.batchnorm import Activation, BatchNorm1d, Sequential

    rng = random_module.Random(0)
    bn = BatchNorm1d(4, label="BN1")
    model = Sequential(
        nn.Layer(2, 4, "linear", rng=rng, index=1),
        bn,
        Activation("relu"),
        nn.Layer(4, 1, "linear", rng=rng, index=2),
    )
    X, y = small_moons(12)
    seen: list[Any] = []
    with pytest.raises(DivergenceError) as caught:
        fit(
            model,
            X,
            y,
            lr=1e150,
            epochs=20,
            progress=False,
            callback=lambda e, h: seen.append(bn.running_state()),
        )
    assert caught.value.epoch >= 2
    assert bn.running_state() == seen[-1]  # the failed step's batch statistics are gone


def test_plot_refuses_an_unknown_format_before_drawing(tmp_path: Path, history: History) -> None:
    with pytest.raises(
        ArgumentError, match=r"^History.plot: cannot tell the format of '.*h\.xyz'; use one of .*png"
    ):
        history.plot(tmp_path / "h.xyz")
    assert list(tmp_path.iterdir()) == []


def test_fit_pauses_the_collector_only_inside_its_steps() -> None:
    import gc

    X, y = data.moons(20, noise=0.1, seed=0)
    seen: list[bool] = []
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        model = nn.MLP(2, [4, 1], seed=0)
        fit(model, X, y, loss="hinge", epochs=2, engine="scalar", progress=False,
            callback=lambda *args: seen.append(gc.isenabled()))  # fmt: skip
        assert gc.isenabled() is enabled
    gc.enable()
    assert seen == [True, True, False, False]  # callbacks run between steps, with the user's setting
