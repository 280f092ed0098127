"""The learning rate: too small, about right, too large; and schedulers that change it during training.

SGD moves every weight by -lr·∂loss/∂w. Too small a rate and the loss barely moves in the time given; too
large and each step overshoots the valley, so the loss jumps around or blows up. Schedulers start large
and shrink the rate (or warm up from a small one):

=====================  ===========================================================
scheduler              learning rate at epoch k (γ0 = the base rate, E = epochs)
=====================  ===========================================================
constant               γ0
StepLR                 γ0 · 0.5^⌊k / (E/4)⌋
ExponentialLR          γ0 · g^k, g = 0.1^(1/E) (down to γ0/10 at the end)
CosineAnnealingLR      γ0 · (1 + cos(π k / E)) / 2
LinearLR (warm-up)     γ0 · (0.1 + 0.9 · min(k, E/5) / (E/5))
micrograd's decay      γ0 · (1 - 0.9 k / E)   (LambdaLR)
=====================  ===========================================================

The same network (same seed, same data) is trained with each and the loss curves are compared.

    python demos/learning_rate.py [--quick] [--out DIR]
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import dead_unit_share, parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import Value, nn, train
from tinygrad_w.errors import DivergenceError
from tinygrad_w.train import data, optim

NAME = "learning_rate"
SEED = 0
LEARNING_RATES = {"too small": 0.001, "good": 0.3, "too large": 8.0}
BASE_LR = 0.5


def make_model(hidden: int) -> nn.MLP:
    return nn.MLP(2, [hidden, hidden, 1], activation="relu", seed=SEED, fused=True)


def run(
    X: list[list[float]],
    y: list[int],
    hidden: int,
    epochs: int,
    lr: float,
    make_scheduler: Callable[[optim.Optimizer], optim.LRScheduler] | None = None,
) -> dict[str, object]:
    """Train a fresh model; return the loss and learning rate per epoch and the final accuracy.

    If the loss overflows, fit stops with DivergenceError; the run is reported as diverged with the
    epochs it completed.
    """
    model = make_model(hidden)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    diverged_at = None
    try:
        history = train.fit(
            model,
            X,
            y,
            loss="hinge",
            optimizer=optimizer,
            epochs=epochs,
            scheduler=scheduler,
            seed=SEED,
            progress=False,
        )
    except DivergenceError as error:
        history = error.history
        diverged_at = error.epoch
    return {
        "loss": list(history.loss),
        "lr": list(history.lr),
        "accuracy": history.accuracy[-1] if history.accuracy else math.nan,
        "diverged_at": diverged_at,
        "dead_units": dead_unit_share(model, X),
    }


def main() -> int:
    args = parse_args(NAME, "too small, good and too large learning rates; learning-rate schedulers")
    samples, hidden, epochs = (30, 8, 16) if args.quick else (100, 16, 100)
    X, y = data.moons(samples, noise=0.1, seed=SEED)

    by_lr = {name: run(X, y, hidden, epochs, lr) for name, lr in LEARNING_RATES.items()}
    print_table(
        [
            "learning rate",
            "lr",
            "first loss",
            "min loss",
            "final loss",
            "accuracy (last epoch)",
            "diverged at epoch",
            "dead relu units",
        ],
        [
            [
                name,
                LEARNING_RATES[name],
                r["loss"][0],
                min(r["loss"]),
                r["loss"][-1],
                r["accuracy"],
                r["diverged_at"] or "-",
                f"{r['dead_units']:.0%}",
            ]
            for name, r in by_lr.items()
        ],
        title=f"constant learning rates, SGD, {epochs} epochs, MLP 2-{hidden}-{hidden}-1 on {samples} moons",
    )
    small, good, large = (by_lr[k] for k in LEARNING_RATES)
    print(
        f"too small: loss fell by {small['loss'][0] - small['loss'][-1]:.4f} "
        f"against {good['loss'][0] - good['loss'][-1]:.4f} for the good rate"
    )
    print(
        f"too large: final loss {large['loss'][-1]:.4f} against {large['loss'][0]:.4f} at the start "
        + ("(it ended higher than it began)" if large["loss"][-1] > large["loss"][0] else "")
    )
    large_loss = large["loss"]
    ups = sum(1 for a, b in itertools.pairwise(large_loss) if b > a)
    print(
        f"too large: the loss went up in {ups} of {len(large_loss) - 1} epochs"
        + (f", and diverged at epoch {large['diverged_at']}" if large["diverged_at"] else "")
    )
    print(
        f"too large: {large['dead_units']:.0%} of the hidden relu units died (output 0 for every sample, so "
        f"no gradient either), against {good['dead_units']:.0%} with the good rate"
    )
    print()

    quarter, fifth = max(1, epochs // 4), max(1, epochs // 5)
    schedulers: dict[str, Callable[[optim.Optimizer], optim.LRScheduler] | None] = {
        "constant": None,
        "StepLR": lambda o: optim.StepLR(o, step_size=quarter, gamma=0.5),
        "ExponentialLR": lambda o: optim.ExponentialLR(o, gamma=0.1 ** (1 / epochs)),
        "CosineAnnealingLR": lambda o: optim.CosineAnnealingLR(o, T_max=epochs),
        "LinearLR (warm-up)": lambda o: optim.LinearLR(
            o, start_factor=0.1, end_factor=1.0, total_iters=fifth
        ),
        "micrograd decay": lambda o: optim.LambdaLR(o, lambda k: 1.0 - 0.9 * k / epochs),
    }
    # micrograd's decay is also a LinearLR from factor 1 to 0.1: check that both give the same rates.
    as_lambda = optim.LambdaLR(optim.SGD([Value(0.0)], lr=BASE_LR), lambda k: 1.0 - 0.9 * k / epochs)
    as_linear = optim.LinearLR(optim.SGD([Value(0.0)], lr=BASE_LR), 1.0, 0.1, total_iters=epochs)
    largest_gap = 0.0
    for _ in range(epochs):
        largest_gap = max(largest_gap, abs(as_lambda.get_last_lr() - as_linear.get_last_lr()))
        as_lambda.step()
        as_linear.step()
    same = "the same schedule up to float rounding" if largest_gap < 1e-12 else "NOT the same schedule"
    print(
        f"LambdaLR(1 - 0.9·k/E) against LinearLR(1.0, 0.1, E): largest difference in lr {largest_gap:.3g} ({same})\n"
    )

    by_scheduler = {name: run(X, y, hidden, epochs, BASE_LR, make) for name, make in schedulers.items()}
    print_table(
        ["scheduler", "lr first", "lr last", "final loss", "accuracy (last epoch)"],
        [[name, r["lr"][0], r["lr"][-1], r["loss"][-1], r["accuracy"]] for name, r in by_scheduler.items()],
        title=f"schedulers, base lr {BASE_LR}, {epochs} epochs",
    )

    plot(by_lr, by_scheduler, args.out)

    runs = {**{f"lr {k}": v for k, v in by_lr.items()}, **by_scheduler}
    write_csv(
        args.out / "curves.csv",
        ["run", "epoch", "lr", "loss"],
        [
            [name, k, lr, loss]
            for name, r in runs.items()
            for k, (lr, loss) in enumerate(zip(r["lr"], r["loss"]))
        ],
    )
    write_json(
        args.out / "results.json",
        {
            "epochs": epochs,
            "learning_rates": LEARNING_RATES,
            "final_loss": {name: r["loss"][-1] for name, r in by_lr.items()},
            "diverged_at": {name: r["diverged_at"] for name, r in by_lr.items()},
            "scheduler_lrs": {name: r["lr"] for name, r in by_scheduler.items()},
            "scheduler_final_loss": {name: r["loss"][-1] for name, r in by_scheduler.items()},
            "lambda_vs_linear_lr_gap": largest_gap,
            "runs": runs,
        },
    )
    return 0


# Each scheduler's line style; the constant rate is drawn last, thick and dashed, so that no other line
# hides it where they coincide (StepLR before its first step, LinearLR after its warm-up).
STYLES: dict[str, dict[str, Any]] = {
    "constant": {"color": "k", "linestyle": "--", "linewidth": 2.2, "zorder": 5},
    "StepLR": {"color": "C1"},
    "ExponentialLR": {"color": "C2"},
    "CosineAnnealingLR": {"color": "C3"},
    "LinearLR (warm-up)": {"color": "C4", "linestyle": "-."},
    "micrograd decay": {"color": "C5", "linestyle": ":", "linewidth": 2},
}


def plot(by_lr: dict[str, dict[str, Any]], by_scheduler: dict[str, dict[str, Any]], out: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in by_lr.items():
        ax.plot(range(1, len(r["loss"]) + 1), r["loss"], label=f"{name} (lr {LEARNING_RATES[name]})")
    ax.set(xlabel="epoch", ylabel="hinge loss (log scale)", yscale="log")
    ax.legend()
    save_figure(fig, out / "learning_rates.png")

    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.6))
    for name in sorted(by_scheduler, key=lambda name: name == "constant"):  # the constant line on top
        r = by_scheduler[name]
        epochs = range(1, len(r["lr"]) + 1)
        ax_lr.plot(epochs, r["lr"], label=name, **STYLES[name])
        ax_loss.plot(epochs, r["loss"], label=name, **STYLES[name])
    ax_lr.set(xlabel="epoch", ylabel="learning rate", title="learning rate used in each epoch")
    ax_loss.set(xlabel="epoch", ylabel="hinge loss (log scale)", yscale="log", title="training loss")
    handles, labels = ax_lr.get_legend_handles_labels()
    order = [labels.index(name) for name in STYLES]
    fig.legend(
        [handles[i] for i in order],
        list(STYLES),
        loc="lower center",
        ncol=len(STYLES),
        fontsize=8,
        frameon=False,
    )
    save_figure(fig, out / "schedulers.png", rect=(0, 0.07, 1, 1))


if __name__ == "__main__":
    sys.exit(main())
