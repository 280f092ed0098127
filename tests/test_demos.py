"""Run every demo in --quick mode and check what it claims against the numbers it saved.

Each demo runs once, in a subprocess, writing to a temporary folder; the tests then read its printed table,
its figures and its results.json. The claims checked are the demos' headline effects (zero init keeps
hidden units identical, L1 makes weights sparse, ...), computed from what the run measured.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "demos"

# demo -> the figures (and other files) it must write
EXPECTED_FILES: dict[str, list[str]] = {
    "moons": [
        "decision_boundary.png",
        "loss_curve.png",
        "network.dot",
        "curves.csv",
        "training/index.html",
        "training/training.gif",
    ],
    "zero_init_symmetry": ["symmetry.png", "unit_weights.csv"],
    "initializers": ["initializers.png", "bounds.csv"],
    "l1_vs_l2": ["l1_vs_l2.png", "histograms.png", "summary.csv"],
    "weight_sums": ["weight_sums.png", "weight_sums.csv"],
    "negative_weights": [
        "negative_weights.png",
        "time_to_target.png",
        "activations.csv",
        "time_to_target.csv",
    ],
    "vanishing_gradients": ["gradient_norms.png", "gradient_norms.csv"],
    "learning_rate": ["learning_rates.png", "schedulers.png", "curves.csv"],
    "weights_over_epochs": [
        "weights_over_epochs.png",
        "weights_over_epochs.csv",
        "training/index.html",
        "training/training.gif",
    ],
    "batch_norm": ["batch_norm.png", "at_init.csv"],
    "convex_vs_nonconvex": ["convex_vs_nonconvex.png", "runs.csv"],
    "dropout": ["dropout.png", "accuracy.csv"],
}


class DemoRun:
    def __init__(self, name: str, out: Path, completed: subprocess.CompletedProcess[str]) -> None:
        self.name = name
        self.out = out
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.returncode = completed.returncode

    def results(self) -> Any:
        return json.loads((self.out / "results.json").read_text(encoding="utf-8"))


def run_demo(name: str, out: Path, hash_seed: str = "0") -> DemoRun:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return DemoRun(name, out, completed)


_RUNS: dict[str, DemoRun] = {}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demos")


def quick_run(name: str, base: Path) -> DemoRun:
    """Each demo runs once per test session; later tests reuse the run."""
    if name not in _RUNS:
        _RUNS[name] = run_demo(name, base / name)
    run = _RUNS[name]
    assert run.returncode == 0, f"demos/{name}.py --quick failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_demo_runs_prints_a_table_and_writes_its_files(name: str, demo_dir: Path) -> None:
    run = quick_run(name, demo_dir)
    lines = run.stdout.splitlines()
    # print_table underlines the header with dashes: a table was printed.
    assert any(line.strip() and set(line.replace(" ", "")) == {"-"} for line in lines), run.stdout[-2000:]
    for filename in [*EXPECTED_FILES[name], "results.json"]:
        path = run.out / filename
        assert path.is_file(), f"{name} did not write {filename}"
        assert path.stat().st_size > 0, f"{name} wrote an empty {filename}"
        if filename.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in run.out.iterdir() if p.name.startswith(".")], (
        "a temporary file was left behind"
    )


def test_demo_list_matches_the_demos_folder() -> None:
    on_disk = {p.stem for p in DEMOS.glob("*.py") if not p.stem.startswith("_")}
    assert set(EXPECTED_FILES) <= on_disk


def test_moons_draws_the_trained_network(demo_dir: Path, dot_binary: str) -> None:
    run = quick_run("moons", demo_dir)
    assert "digraph" in (run.out / "network.dot").read_text(encoding="utf-8")
    assert (run.out / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_moons_counts_steps_from_one_like_fit_counts_epochs(demo_dir: Path) -> None:
    run = quick_run("moons", demo_dir)
    steps = [
        int(row.split(",")[0])
        for row in (run.out / "curves.csv").read_text(encoding="utf-8").splitlines()[1:]
    ]
    assert steps == list(range(1, run.results()["steps"] + 1))
    assert "step   1  loss" in run.stdout and "step   0" not in run.stdout


def test_moons_loss_decreases(demo_dir: Path) -> None:
    results = quick_run("moons", demo_dir).results()
    assert results["final_loss"] < results["first_loss"]
    assert results["final_accuracy"] > 0.5
    assert results["time_per_step_ms"] > 0


def test_zero_and_constant_init_keep_hidden_units_identical(demo_dir: Path) -> None:
    results = quick_run("zero_init_symmetry", demo_dir).results()["runs"]
    for name in ("zeros", "constant(0.5)"):
        # every epoch, the largest difference between two hidden units' weights is exactly 0
        assert max(results[name]["max_unit_difference"]) == 0.0, name
    assert min(results["uniform(-1, 1)"]["max_unit_difference"]) > 0.0
    assert results["uniform(-1, 1)"]["accuracy"] >= results["constant(0.5)"]["accuracy"]


def test_initial_weights_stay_within_the_formula_bounds(demo_dir: Path) -> None:
    results = quick_run("initializers", demo_dir).results()
    for row in results["bounds"]:
        assert row["max_abs_w"] <= row["bound"] + 1e-12, row
        assert row["within"] is True
    growth = {(r["activation"], r["init"]): r["std_ratio"] for r in results["growth"]}
    # relu with U[-1, 1] amplifies the signal layer after layer; Xavier's smaller weights shrink it
    assert growth[("relu", "uniform")] > 1.0 > growth[("relu", "xavier_uniform")]
    # zero init: every unit outputs 0 (tanh(0) = relu(0) = 0), so every weight gradient is 0
    for activation in ("tanh", "relu"):
        assert all(g == 0.0 for g in results["at_init"][activation]["zeros"]["grad_norm"])


def test_initializers_that_keep_the_signal_train_and_zeros_never_do(demo_dir: Path) -> None:
    results = quick_run("initializers", demo_dir).results()
    final = {(r["activation"], r["init"]): r for r in results["final"]}
    for activation in ("tanh", "relu"):
        assert final[(activation, "zeros")]["accuracy"] == 0.5
        assert final[(activation, "zeros")]["last_loss"] == 1.0  # it never moved
    assert all(final[("tanh", s)]["accuracy"] > 0.75 for s in ("uniform", "xavier_uniform", "he_uniform"))
    # relu in a deep narrow net: He keeps the signal's size and trains; Xavier shrinks it and stays at chance
    assert final[("relu", "he_uniform")]["accuracy"] > 0.6 > final[("relu", "xavier_uniform")]["accuracy"]


def test_l1_makes_more_weights_near_zero_than_no_penalty(demo_dir: Path) -> None:
    rows = quick_run("l1_vs_l2", demo_dir).results()["runs"]
    baseline = next(r for r in rows if r["lam"] == 0.0)
    strongest_l1 = max((r for r in rows if r["penalty"] == "l1"), key=lambda r: r["lam"])
    strongest_l2 = max((r for r in rows if r["penalty"] == "l2"), key=lambda r: r["lam"])
    assert strongest_l1["near_zero"] > baseline["near_zero"]
    assert strongest_l1["abs_sum"] < baseline["abs_sum"]
    assert strongest_l2["sq_sum"] < baseline["sq_sum"]


def test_weight_sums_are_consistent(demo_dir: Path) -> None:
    results = quick_run("weight_sums", demo_dir).results()
    rows = results["per_epoch"]
    assert len(rows) == results["epochs"] + 1  # the initial weights, then every epoch
    for row in rows:
        assert row["abs_sum"] >= abs(row["sum"]) - 1e-12
        assert row["sq_sum"] >= 0.0
    assert rows[0] != rows[-1]  # training moved the weights


def test_negative_weights_textbook_values_and_sign_constraints(demo_dir: Path) -> None:
    results = quick_run("negative_weights", demo_dir).results()
    for check in results["quoted_checks"]:
        assert check["agrees"], check
        assert math.isclose(check["measured"], check["quoted"], abs_tol=5e-5)
    table = (quick_run("negative_weights", demo_dir).out / "activations.csv").read_text(encoding="utf-8")
    lines = table.splitlines()
    assert lines[0] == "x,sigmoid,tanh,relu"
    by_x = {float(line.split(",")[0]): [float(v) for v in line.split(",")[1:]] for line in lines[1:]}
    assert math.isclose(by_x[-1.0][1], math.tanh(-1.0)) and by_x[-1.0][2] == 0.0
    training = results["training"]
    assert all(share == 0.0 for share in training["all positive"]["negative_after"])
    assert all(share == 1.0 or share > 0.99 for share in training["all negative"]["negative_after"])


def test_negative_weights_says_the_often_quoted_tanh_values_are_wrong(demo_dir: Path) -> None:
    run = quick_run("negative_weights", demo_dir)
    lines = (run.out / "activations.csv").read_text(encoding="utf-8").splitlines()[1:]
    tanh_of = {float(line.split(",")[0]): float(line.split(",")[2]) for line in lines}
    assert {-0.8, -0.6, -0.3, -0.2} <= set(tanh_of)
    assert all(math.isclose(t, math.tanh(x), rel_tol=1e-15) for x, t in tanh_of.items())
    assert all(round(t, 2) not in (-0.68, -0.42) for t in tanh_of.values())  # no input here gives them
    verdicts = run.results()["wrong_tanh_values"]
    assert [v["quoted"] for v in verdicts] == [-0.68, -0.42]
    for verdict in verdicts:
        assert verdict["given_by_a_table_input"] is False
        assert math.isclose(math.tanh(verdict["true_input"]), verdict["quoted"], rel_tol=1e-12)
        assert f"often-quoted tanh value {verdict['quoted']} is WRONG" in run.stdout


def test_weights_of_one_sign_take_longer_to_reach_the_target_accuracy(demo_dir: Path) -> None:
    results = quick_run("negative_weights", demo_dir).results()
    summary, seeds = results["time_to_target"], results["seeds"]
    free = summary["mixed (free)"]
    assert free[str(results["targets"][0])]["reached"] == seeds  # free signs: every seed, first target
    for target in map(str, results["targets"]):
        assert summary["all negative"][target]["reached"] == 0  # dead relu units: stuck at chance
        positive = summary["all positive"][target]
        assert positive["reached"] <= free[target]["reached"]
        if positive["median"] is not None:  # both got there with every seed: free signs got there sooner
            assert free[target]["median"] < positive["median"]
    for name, runs in results["runs"].items():
        for run, target in ((run, target) for run in runs for target in results["targets"]):
            epoch, accuracies = run["epochs_to"][str(target)], run["accuracies"]
            if epoch is None:  # the recorded epoch is the first whose accuracy reached the target
                assert max(accuracies) < target, name
            else:
                assert accuracies[epoch - 1] >= target > max(accuracies[: epoch - 1], default=0.0), name


def test_sigmoid_gradients_vanish_faster_than_relu_he(demo_dir: Path) -> None:
    results = quick_run("vanishing_gradients", demo_dir).results()
    ratios = results["first_over_last"]
    assert ratios["sigmoid + Xavier"] < ratios["relu + He"]
    free = results["clipping"]["no clipping"]
    clipped = next(v for k, v in results["clipping"].items() if k.startswith("clip"))
    assert free["failure"].startswith("step ")  # without clipping the weights blow up
    assert clipped["failure"] == ""  # with it every step is finite
    assert all(math.isfinite(x) for x in clipped["losses"])
    assert clipped["losses"][-1] < clipped["losses"][0] and clipped["accuracy"] > 0.6  # and it learns


def test_learning_rate_curves(demo_dir: Path) -> None:
    run = quick_run("learning_rate", demo_dir)
    results = run.results()
    runs = results["runs"]
    # what the README says of the too-large rate: its relu units died; the demo prints it
    assert runs["lr too large"]["dead_units"] > 0.5 > runs["lr good"]["dead_units"]
    assert "of the hidden relu units died" in run.stdout
    final = results["final_loss"]
    assert final["good"] < final["too small"]
    assert results["lambda_vs_linear_lr_gap"] < 1e-12  # LinearLR(1, 0.1, E) is micrograd's decay
    for name, lrs in results["scheduler_lrs"].items():
        assert len(lrs) == results["epochs"], name
        assert all(lr > 0 for lr in lrs) or name == "CosineAnnealingLR", name


def test_weights_over_epochs_table(demo_dir: Path) -> None:
    results = quick_run("weights_over_epochs", demo_dir).results()
    table = results["weights"]
    assert len(table) == results["epochs"] + 1
    assert table[0] != table[-1]


def _pixels_near(image: Any, colour: str, tolerance: int = 24) -> int:
    """How many pixels of an RGB image are within ``tolerance`` (per channel) of ``#rrggbb``."""
    target = [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
    return sum(
        count
        for count, pixel in image.getcolors(maxcolors=1 << 24)
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, target))
    )


@pytest.mark.parametrize(("name", "epochs_key"), [("moons", "steps"), ("weights_over_epochs", "epochs")])
def test_quick_runs_write_the_training_animation_with_the_network_and_the_loss_curve(
    name: str, epochs_key: str, demo_dir: Path, dot_binary: str
) -> None:
    from PIL import Image

    from tinygrad_w.viz.colours import HIGHLIGHT, NEGATIVE, POSITIVE
    from tinygrad_w.viz.gif import MAX_GIF_FRAMES

    run = quick_run(name, demo_dir)
    epochs = run.results()[epochs_key]
    folder = run.out / "training"
    assert f"wrote {folder / 'index.html'} and {folder / 'training.gif'}" in run.stdout
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "<svg" in page and 'src="http' not in page and 'href="http' not in page  # self-contained
    assert f"Epoch {epochs} of {epochs}" in page
    with Image.open(folder / "training.gif") as gif:
        assert gif.n_frames == min(epochs + 1, MAX_GIF_FRAMES)  # epoch 0 (before training) and every epoch
        gif.seek(gif.n_frames - 1)
        last = gif.convert("RGB")
    # the loss panel on the left: its curve and the marker of the current epoch
    curve = last.crop((0, 0, 420, 300))
    assert _pixels_near(curve, POSITIVE) > 100 and _pixels_near(curve, HIGHLIGHT) > 20
    # the network on the right: edges of positive and of negative weights
    network = last.crop((420, 0, last.width, last.height))
    assert _pixels_near(network, POSITIVE) > 500 and _pixels_near(network, NEGATIVE) > 500


def test_weights_over_epochs_rejects_an_unknown_label(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(DEMOS / "weights_over_epochs.py"),
            "--quick",
            "--out",
            str(tmp_path),
            "--weights",
            "L9.N0.w0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "L9.N0.w0" in completed.stderr


def test_demo_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    first = run_demo("weights_over_epochs", tmp_path / "a", hash_seed="1")
    second = run_demo("weights_over_epochs", tmp_path / "b", hash_seed="2")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    name = "weights_over_epochs.csv"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_batch_norm_keeps_the_signal_and_the_gradients_of_a_deep_sigmoid_network(demo_dir: Path) -> None:
    results = quick_run("batch_norm", demo_dir).results()
    plain, normed = "without batch norm", "with BatchNorm1d"
    # without: a unit's output varies less and less between samples, layer after layer
    assert results["std_last_over_first"][plain] < 0.2
    # with: the same spread at every layer (sigmoid of a standardized sum)
    assert 0.5 < results["std_last_over_first"][normed] < 2.0
    assert all(abs(m - 0.5) < 0.05 for m in results["at_init"][normed]["activation_mean"])
    assert results["layer1_grad_gain"] > 5.0
    assert results["loss"][normed][-1] < 0.8 * results["loss"][plain][-1]


def test_without_a_hidden_layer_descent_ends_at_lstsq_from_every_start(demo_dir: Path) -> None:
    results = quick_run("convex_vs_nonconvex", demo_dir).results()
    assert len(results["linear"]) >= 4
    for run in results["linear"]:
        assert run["distance"] < 1e-9, run
        assert math.isclose(run["final_loss"], results["lstsq"]["mse"], rel_tol=1e-12)
    assert results["spread"]["linear"] < 1e-12


def test_with_a_hidden_layer_seeds_end_at_different_losses(demo_dir: Path) -> None:
    results = quick_run("convex_vs_nonconvex", demo_dir).results()
    finals = [run["final_loss"] for run in results["hidden"]]
    assert max(finals) > 1.5 * min(finals)  # not one bowl: at least two clearly different end points
    assert min(finals) < results["lstsq"]["mse"]  # and a hidden layer fits better than the best line


def test_dropout_narrows_the_gap_between_train_and_held_out_accuracy(demo_dir: Path) -> None:
    results = quick_run("dropout", demo_dir).results()
    plain, dropped = results["summary"]["no dropout"], results["summary"]["Dropout(0.5)"]
    assert plain["train"] > plain["held_out"] + 0.1  # the problem over-fits without dropout
    assert dropped["gap"] < plain["gap"]
    assert dropped["held_out"] > plain["held_out"]
    # trained on a batched replay with the masks as inputs: in eval mode it is the Sequential itself
    assert results["replay_vs_model"] < 1e-9


def test_a_demo_run_without_the_package_says_how_to_run_it(tmp_path: Path) -> None:
    # -S: no site-packages, so neither tinygrad_w nor its dependencies can be imported
    for name in ("engine_tour", "moons", "draw_graphs"):
        completed = subprocess.run(
            [sys.executable, "-S", str(DEMOS / f"{name}.py"), "--quick", "--out", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 1
        assert "Traceback" not in completed.stderr
        assert "make setup" in completed.stderr and ".venv/bin/python " in completed.stderr
        assert f"demos/{name}.py" in completed.stderr and len(completed.stderr.splitlines()) == 1
