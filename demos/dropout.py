"""Dropout against over-fitting: train and held-out accuracy of the same network with and without it.

The problem is made to over-fit: few training samples of the two moons, a fifth of their labels flipped
(noise a network can memorize), and a network far larger than the boundary needs (2-H-H-1, relu). Trained
long enough, it learns the flipped points too, and its boundary curls around them: training accuracy
goes up, accuracy on fresh samples (held out, labels not flipped) goes down.

``Dropout(p)`` after each hidden layer silences every unit with probability p at each training step (and
scales the others by 1/(1 - p)), so no unit can count on any other and memorizing single points gets
hard. At evaluation (``model.eval()``) nothing is dropped. Both networks start from the same weights and
see the same data; accuracies are measured in evaluation mode, averaged over several seeds (each seed
draws its own data, label flips and weights).

Speed: the model is a ``Sequential`` with ``Dropout`` modules, but each step is not one Value graph per
sample (``fit``'s scalar path; a random mask cannot be traced into a replay). Instead the masks become
inputs: each step draws them from the Dropout modules themselves (``Dropout.mask``, in the order the
Sequential's training pass draws them) and a ``batched.compile`` replay of "layer, times mask, layer, times
mask, layer, hinge" runs the whole batch at once. Evaluation is the same replay with every mask 1, and
each run ends by checking it against the Sequential in evaluation mode. The loss curves are ``fit``'s to
rounding (compared once: at most 7e-16 apart), and the full run takes seconds instead of two minutes.

    python demos/dropout.py [--quick] [--out DIR]
"""

from __future__ import annotations

import random
import statistics
import sys
from typing import Any

# _common first: it says how to run the demos when a package is missing.
from _common import parse_args, print_table, progress, pyplot, save_figure, write_csv, write_json

# isort: split
import numpy as np

from tinygrad_w import Value, batched
from tinygrad_w.nn import Dropout, Layer, Sequential
from tinygrad_w.train import data, losses, optim

NAME = "dropout"
P = 0.5
FLIPPED = 0.2  # share of training labels flipped
HELD_OUT = 300
SETTINGS = {"no dropout": 0.0, f"Dropout({P})": P}
COLOURS = {"no dropout": "C3", f"Dropout({P})": "C0"}


def problem(
    seed: int, train_size: int
) -> tuple[list[list[float]], list[int], list[list[float]], list[int], list[int]]:
    """Noisy moons: a small training set with a share of its labels flipped, and a clean held-out set.
    Returns X_train, y_train, X_held_out, y_held_out and the indices of the flipped training labels."""
    X, y = data.moons(train_size + HELD_OUT, noise=0.2, seed=seed)
    X_train, y_train = X[:train_size], list(y[:train_size])
    flipped = sorted(random.Random(seed).sample(range(train_size), round(FLIPPED * train_size)))
    for i in flipped:
        y_train[i] = -y_train[i]
    return X_train, y_train, X[train_size:], y[train_size:], flipped


def build(hidden: int, p: float, seed: int) -> Sequential:
    """2-hidden-hidden-1 with relu; with p > 0 a Dropout(p) after each hidden layer. The weights depend only
    on the seed, so both settings start from the same network."""
    rng = random.Random(seed)
    modules: list[Any] = [Layer(2, hidden, "relu", rng=rng, index=1, fused=True)]
    if p > 0:
        modules.append(Dropout(p, seed=seed))
    modules.append(Layer(hidden, hidden, "relu", rng=rng, index=2, fused=True))
    if p > 0:
        modules.append(Dropout(p, seed=seed + 1))
    modules.append(Layer(hidden, 1, "linear", rng=rng, index=3, fused=True))
    return Sequential(*modules)


def replayed(model: Sequential, hidden: int) -> batched.BatchedLoss:
    """The model's hinge loss relu(1 - y·score) with the dropout masks as inputs, traced once: a sample's
    inputs are its 2 features, then the mask after layer 1, then the mask after layer 2 (``hidden`` each).
    A mask of ones is the network without dropout (h·1 = h exactly), as in evaluation mode."""
    layer1, layer2, layer3 = (m for m in model.layers if isinstance(m, Layer))

    def sample_loss(inputs: list[Value], label: Value) -> tuple[Value, list[Value]]:
        x, mask1, mask2 = inputs[:2], inputs[2 : 2 + hidden], inputs[2 + hidden :]
        h1 = [h * m for h, m in zip(layer1(x), mask1)]
        h2 = [h * m for h, m in zip(layer2(h1), mask2)]
        score = layer3(h2)  # one neuron: a Value
        return (1.0 - score * label).relu(), [score]

    # blas_threads=None: no BLAS thread limit switched on and off at every step (the arrays are tiny)
    return batched.compile(sample_loss, model.parameters(), [0.0] * (2 + 2 * hidden), 1.0, blas_threads=None)


def with_masks(model: Sequential, X: list[list[float]], hidden: int, training: bool) -> np.ndarray:
    """X with each sample's masks appended: in training, drawn by the model's Dropout modules as its
    training pass would draw them (module by module, sample by sample); else (or without dropout) ones."""
    dropouts = [m for m in model.layers if isinstance(m, Dropout)]
    if training and dropouts:
        masks = np.hstack([np.array([d.mask(hidden) for _ in X]) for d in dropouts])
    else:
        masks = np.ones((len(X), 2 * hidden))
    return np.hstack([np.array(X), masks])


def run(
    seed: int, p: float, hidden: int, train_size: int, epochs: int, lr: float, checks: int
) -> dict[str, Any]:
    """Full-batch Adam on the hinge loss, as ``fit`` would train the Sequential, on the batched replay."""
    X, y, X_held, y_held, flipped = problem(seed, train_size)
    model = build(hidden, p, seed)
    loss = replayed(model, hidden)
    evaluation = {"train": (with_masks(model, X, hidden, False), np.array(y, dtype=float)),
                  "held_out": (with_masks(model, X_held, hidden, False), np.array(y_held, dtype=float))}  # fmt: skip
    checkpoints: dict[str, list[float]] = {"epoch": [], "train": [], "held_out": []}
    optimizer = optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        history.append(loss.step(with_masks(model, X, hidden, True), np.array(y, dtype=float)))  # the mean
        optimizer.step()
        if epoch % max(1, epochs // checks) == 0 or epoch == epochs:
            checkpoints["epoch"].append(epoch)
            for part, (inputs, labels) in evaluation.items():
                loss.loss(inputs, labels)  # evaluation mode: every mask 1
                checkpoints[part].append(losses.accuracy(loss.last_outputs[0].tolist(), labels.tolist()))
    model.eval()
    return {
        "seed": seed,
        "p": p,
        "train": checkpoints["train"][-1],
        "held_out": checkpoints["held_out"][-1],
        "checkpoints": checkpoints,
        "loss": history,
        "model": model,
        "problem": (X, y, flipped),
        "replay_vs_model": replay_vs_model(model, X, loss, evaluation["train"]),
    }


def replay_vs_model(model: Sequential, X: list[list[float]], loss: batched.BatchedLoss, inputs: Any) -> float:
    """The largest difference between the replay's scores (masks 1) and the Sequential's own, in evaluation
    mode, on the training samples: the replay is that model (0 up to rounding)."""
    loss.loss(*inputs)
    return max(abs(a - s.data) for a, s in zip(loss.last_outputs[0].tolist(), model(X)))


def main() -> int:
    args = parse_args(NAME, "train and held-out accuracy with and without dropout on an over-fitting problem")
    seeds, hidden, train_size, epochs = (2, 16, 24, 150) if args.quick else (6, 32, 30, 300)
    checks = 5 if args.quick else 15  # accuracy measured this many times during training
    lr = 0.02 if args.quick else 0.01
    jobs = [(seed, name) for seed in range(seeds) for name in SETTINGS]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    for seed, name in progress(jobs, "training", total=len(jobs)):
        runs[name].append(run(seed, SETTINGS[name], hidden, train_size, epochs, lr, checks))

    print_table(
        ["seed", *(f"{name} {part}" for name in SETTINGS for part in ("train", "held-out"))],
        [
            [seed, *(runs[name][seed][part] for name in SETTINGS for part in ("train", "held_out"))]
            for seed in range(seeds)
        ],
        title=f"MLP 2-{hidden}-{hidden}-1 (relu), {train_size} training samples ({FLIPPED:.0%} of labels flipped), "
        f"{HELD_OUT} held-out samples; Adam lr {lr}, {epochs} epochs; accuracy in eval mode",
    )
    agreement = max(r["replay_vs_model"] for rs in runs.values() for r in rs)
    print(
        f"the batched replay (masks 1) and the Sequential in eval mode agree: largest difference {agreement:.1e}"
    )
    summary = {}
    for name in SETTINGS:
        train_acc = statistics.fmean(r["train"] for r in runs[name])
        held_acc = statistics.fmean(r["held_out"] for r in runs[name])
        summary[name] = {"train": train_acc, "held_out": held_acc, "gap": train_acc - held_acc}
    print_table(
        ["setting", "train accuracy", "held-out accuracy", "train - held-out"],
        [[name, s["train"], s["held_out"], s["gap"]] for name, s in summary.items()],
        title=f"mean over {seeds} seeds",
    )
    plain, dropped = (summary[name] for name in SETTINGS)
    better = sum(
        1 for a, b in zip(runs["no dropout"], runs[f"Dropout({P})"]) if b["held_out"] > a["held_out"]
    )
    print(
        f"with dropout the gap between train and held-out accuracy is {dropped['gap']:+.3f} against "
        f"{plain['gap']:+.3f}; held-out accuracy {dropped['held_out']:.3f} against {plain['held_out']:.3f} "
        f"(higher for {better} of {seeds} seeds)"
    )

    plot(runs, args.out / "dropout.png")
    write_csv(
        args.out / "accuracy.csv",
        ["setting", "seed", "train_accuracy", "held_out_accuracy"],
        [[name, r["seed"], r["train"], r["held_out"]] for name in SETTINGS for r in runs[name]],
    )
    write_json(
        args.out / "results.json",
        {
            "p": P,
            "flipped_share": FLIPPED,
            "hidden": hidden,
            "train_size": train_size,
            "held_out_size": HELD_OUT,
            "epochs": epochs,
            "lr": lr,
            "summary": summary,
            "held_out_higher_with_dropout": better,
            "replay_vs_model": agreement,
            "runs": {
                name: [{k: r[k] for k in ("seed", "train", "held_out", "checkpoints", "loss")} for r in rs]
                for name, rs in runs.items()
            },
        },
    )
    return 0


def plot(runs: dict[str, list[dict[str, Any]]], path: Any) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    ax_curve, ax_bars = axes[0], axes[1]
    for name, rs in runs.items():
        epochs = rs[0]["checkpoints"]["epoch"]
        for part, style in (("train", "--"), ("held_out", "-")):
            mean = np.mean([r["checkpoints"][part] for r in rs], axis=0)
            label = f"{name}: {'train' if part == 'train' else 'held-out'}"
            ax_curve.plot(
                epochs, mean, linestyle=style, color=COLOURS[name], marker="o", markersize=3, label=label
            )
    ax_curve.set(
        title=f"accuracy during training (mean of {len(rs)} seeds)",
        xlabel="epoch",
        ylabel="accuracy (eval mode)",
    )
    ax_curve.legend(fontsize=8)

    for k, (name, rs) in enumerate(runs.items()):
        for j, part in enumerate(("train", "held_out")):
            values = [r[part] for r in rs]
            x = j * 3 + k
            ax_bars.bar(
                x, statistics.fmean(values), color=COLOURS[name], alpha=0.35 if part == "train" else 0.8
            )
            ax_bars.plot([x] * len(values), values, "k.", markersize=5)
    ax_bars.set_xticks([0.5, 3.5], ["train", "held-out"])
    ax_bars.set_ylim(0.5, 1.02)
    ax_bars.set(title="final accuracy (bars: mean; dots: seeds)", ylabel="accuracy (eval mode)")
    ax_bars.legend(
        handles=[plt.Rectangle((0, 0), 1, 1, color=COLOURS[name]) for name in runs],
        labels=list(runs),
        fontsize=8,
    )

    for ax, (name, rs) in zip(axes[2:], runs.items()):
        boundary(ax, rs[0])
        ax.set_title(
            f"{name}, seed 0: train {rs[0]['train']:.0%}, held-out {rs[0]['held_out']:.0%}", fontsize=10
        )
    save_figure(fig, path)


def boundary(ax: Any, run: dict[str, Any], points: int = 40) -> None:
    """The model's decision regions on a grid, the training samples on top (flipped labels circled)."""
    X, y, flipped = run["problem"]
    Xa, ya = np.array(X), np.array(y)
    xs = np.linspace(Xa[:, 0].min() - 0.5, Xa[:, 0].max() + 0.5, points)
    ys = np.linspace(Xa[:, 1].min() - 0.5, Xa[:, 1].max() + 0.5, points)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = np.array(
        [s.data for s in run["model"]([[float(a), float(b)] for a, b in zip(grid_x.ravel(), grid_y.ravel())])]
    )
    ax.contourf(
        grid_x,
        grid_y,
        scores.reshape(grid_x.shape),
        levels=[-1e9, 0.0, 1e9],
        colors=["#9ecae1", "#fcbba1"],
        alpha=0.6,
    )
    for label, colour, name in ((-1, "#2166ac", "class -1"), (1, "#b2182b", "class +1")):
        ax.scatter(
            Xa[ya == label, 0], Xa[ya == label, 1], color=colour, edgecolors="k", s=25, label=f"train: {name}"
        )
    ax.scatter(Xa[flipped, 0], Xa[flipped, 1], facecolors="none", edgecolors="k", s=90, label="label flipped")
    ax.set(xlabel="x0 (first input)", ylabel="x1 (second input)")
    ax.legend(fontsize=7, loc="lower left")


if __name__ == "__main__":
    sys.exit(main())
