"""Monitoring the weights of a small 2-3-1 network, epoch by epoch: Σw, Σ|w| and Σw².

Three numbers summarize a network's weights (biases are not included):

* Σw, the plain sum: positive and negative weights cancel, so it says little about their size;
* Σ|w|, the L1 norm: the total size of the weights;
* Σw², the squared L2 norm: dominated by the largest weights (what an L2 penalty keeps small).

``fit`` records ``model.weight_stats()`` after every epoch, so these come for free. The network is trained
twice on the two moons, without and with an L2 penalty λ·Σw², to see what the penalty does to the sums.

    python demos/weight_sums.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
from typing import Any

from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import nn, train
from tinygrad_w.nn import penalties
from tinygrad_w.train import data, optim

NAME = "weight_sums"
SEED = 0
STATS = ("sum", "abs_sum", "sq_sum")
STAT_NAMES = {"sum": "Σw", "abs_sum": "Σ|w|", "sq_sum": "Σw²"}


def run(rows: list[list[float]], labels: list[int], epochs: int, lr: float, lam: float) -> dict[str, Any]:
    """Train a fresh 2-3-1 tanh network; return the weight sums before training and after every epoch."""
    model = nn.MLP(2, [3, 1], activation="tanh", seed=SEED)
    history = train.fit(
        model,
        rows,
        labels,
        loss="hinge",
        optimizer=optim.SGD(model.parameters(), lr=lr),
        epochs=epochs,
        penalty=(lambda m: penalties.l2(m, lam)) if lam > 0 else None,
        progress=False,
    )
    snapshots = [history.initial_weight_stats, *history.weight_stats]  # epoch 0 = before training
    per_epoch = []
    for epoch, stats in enumerate(snapshots):
        row: dict[str, Any] = {"epoch": epoch, **{s: stats["total"][s] for s in STATS}}
        for index, layer in enumerate(stats["layers"], start=1):
            row.update({f"L{index}.{s}": layer[s] for s in STATS})
        row["loss"] = history.loss[epoch - 1] if epoch > 0 else None
        row["accuracy"] = history.accuracy[epoch - 1] if epoch > 0 else None
        per_epoch.append(row)
    return {"per_epoch": per_epoch, "accuracy": history.accuracy[-1], "final_loss": history.loss[-1]}


def main() -> int:
    args = parse_args(NAME, "a 2-3-1 network: sum of weights, Σ|w| and Σw² monitored every epoch")
    samples, epochs = (30, 12) if args.quick else (100, 200)
    lr, lam = 0.2, 0.01
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)

    runs = {
        "no penalty": run(rows, labels, epochs, lr, 0.0),
        f"L2 λ={lam}": run(rows, labels, epochs, lr, lam),
    }
    plain = runs["no penalty"]["per_epoch"]
    step = max(1, epochs // 10)
    shown = [row for row in plain if row["epoch"] % step == 0 or row["epoch"] == epochs]
    print_table(
        ["epoch", "Σw", "Σ|w|", "Σw²", "layer 1 Σw", "layer 2 Σw", "loss", "accuracy"],
        [
            [
                r["epoch"],
                r["sum"],
                r["abs_sum"],
                r["sq_sum"],
                r["L1.sum"],
                r["L2.sum"],
                r["loss"] or "-",
                r["accuracy"] or "-",
            ]
            for r in shown
        ],
        title=f"MLP 2-3-1 (tanh), {samples} moons, SGD lr {lr}: weight sums (9 weights: 6 in layer 1, 3 in layer 2)",
    )
    print_table(
        ["run", "Σw start", "Σw end", "Σ|w| start", "Σ|w| end", "Σw² start", "Σw² end", "accuracy"],
        [
            [
                name,
                r["per_epoch"][0]["sum"],
                r["per_epoch"][-1]["sum"],
                r["per_epoch"][0]["abs_sum"],
                r["per_epoch"][-1]["abs_sum"],
                r["per_epoch"][0]["sq_sum"],
                r["per_epoch"][-1]["sq_sum"],
                r["accuracy"],
            ]
            for name, r in runs.items()
        ],
        title="start and end of training, without and with the L2 penalty",
    )
    start, end = plain[0], plain[-1]
    print(
        f"without a penalty: Σw changed by {end['sum'] - start['sum']:+.4f} while Σ|w| changed by "
        f"{end['abs_sum'] - start['abs_sum']:+.4f} and Σw² by {end['sq_sum'] - start['sq_sum']:+.4f} "
        "(in Σw, positive and negative weights cancel)"
    )
    free, penalized = (runs[name]["per_epoch"][-1]["sq_sum"] for name in runs)
    print(
        f"with the L2 penalty, Σw² ends at {penalized:.4f} against {free:.4f} without: "
        + ("smaller, as the penalty intends" if penalized < free else "NOT smaller in this run")
    )

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    for ax, stat in zip(axes, STATS):
        for colour, (name, r) in zip(("C0", "C3"), runs.items()):
            epoch_numbers = [row["epoch"] for row in r["per_epoch"]]  # 0 = before training
            ax.plot(
                epoch_numbers,
                [row[stat] for row in r["per_epoch"]],
                color=colour,
                label=f"{name}: all 9 weights",
            )
            for layer, style in (("L1", ":"), ("L2", "--")):
                ax.plot(
                    epoch_numbers,
                    [row[f"{layer}.{stat}"] for row in r["per_epoch"]],
                    color=colour,
                    linestyle=style,
                    label=f"{name}: layer {layer[1]} only",
                )
        ax.set(title=STAT_NAMES[stat], xlabel="epoch (0 = before training)", ylabel=STAT_NAMES[stat])
    # one legend for the three panels, below them, where it covers no curve
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)  # a column per run
    save_figure(fig, args.out / "weight_sums.png", rect=(0, 0.16, 1, 1))

    columns = list(plain[0])
    write_csv(
        args.out / "weight_sums.csv",
        ["run", *columns],
        [[name, *(row[c] for c in columns)] for name, r in runs.items() for row in r["per_epoch"]],
    )
    write_json(
        args.out / "results.json",
        {"epochs": epochs, "lr": lr, "lam": lam, "per_epoch": plain, "runs": runs},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
