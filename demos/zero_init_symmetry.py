"""Why weights start random: zero or constant initialization keeps every hidden unit identical.

If all hidden units of a layer start with the same weights, they compute the same output for every input,
receive the same gradient, and take the same step: after any number of epochs they are still copies of
each other, and the layer works like a single unit. With all-zero weights it is worse: tanh(0) = 0 feeds
nothing forward and the gradients reaching the hidden weights are 0, so only the output bias learns.
Random initialization breaks the symmetry.

The same MLP 2-H-1 (tanh hidden units) is trained on the two moons from zeros, from the constant 0.5 and
from U[-1, 1]; after every epoch we measure the largest difference between any two hidden units' weights
(incoming weights and bias) and between their outgoing weights.

    python demos/zero_init_symmetry.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
from typing import Any

from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import nn, train
from tinygrad_w.nn import initializers as init
from tinygrad_w.train import data, losses, optim

NAME = "zero_init_symmetry"
SEED = 0
INITS: dict[str, str | init.Initializer] = {
    "zeros": "zeros",
    "constant(0.5)": init.constant(0.5),
    "uniform(-1, 1)": "uniform",
}


def unit_vectors(weights: dict[str, list[float]], hidden: int, epoch: int) -> list[list[float]]:
    """Hidden unit j as [w0, w1, b, outgoing weight] at ``epoch`` (0 = before training)."""
    labels = [[f"L1.N{j}.w0", f"L1.N{j}.w1", f"L1.N{j}.b", f"L2.N0.w{j}"] for j in range(hidden)]
    return [[weights[label][epoch] for label in unit] for unit in labels]


def max_difference(units: list[list[float]], columns: slice) -> float:
    """The largest |u_j[c] - u_0[c]| over units j and the chosen columns c (0 when all units are equal)."""
    first = units[0][columns]
    return max(abs(a - b) for unit in units[1:] for a, b in zip(unit[columns], first))


def main() -> int:
    args = parse_args(
        NAME, "zero/constant init keeps hidden units identical; random init breaks the symmetry"
    )
    samples, hidden, epochs = (30, 4, 15) if args.quick else (100, 6, 1000)
    lr = 0.3
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)

    runs: dict[str, dict[str, Any]] = {}
    for name, initializer in INITS.items():
        model = nn.MLP(2, [hidden, 1], activation="tanh", init=initializer, seed=SEED, fused=True)
        history = train.fit(
            model,
            rows,
            labels,
            loss="hinge",
            optimizer=optim.SGD(model.parameters(), lr=lr),
            epochs=epochs,
            record_weights=True,
            progress=False,
        )
        # every parameter's value before training (epoch 0) and after each epoch
        weights = {
            label: [history.initial_weights[label], *values] for label, values in history.weights.items()
        }
        per_epoch = [unit_vectors(weights, hidden, e) for e in range(epochs + 1)]
        runs[name] = {
            "weights": weights,
            "units": per_epoch,
            "max_unit_difference": [max_difference(units, slice(0, 3)) for units in per_epoch],
            "max_outgoing_difference": [max_difference(units, slice(3, 4)) for units in per_epoch],
            "final_loss": history.loss[-1],
            "accuracy": losses.accuracy([model(row) for row in rows], labels),
        }

    print_table(
        [
            "init",
            "max unit diff. (start)",
            "max unit diff. (end)",
            "max outgoing diff. (end)",
            "final loss",
            "accuracy",
        ],
        [
            [
                name,
                r["max_unit_difference"][0],
                r["max_unit_difference"][-1],
                r["max_outgoing_difference"][-1],
                r["final_loss"],
                r["accuracy"],
            ]
            for name, r in runs.items()
        ],
        title=f"MLP 2-{hidden}-1 (tanh) on {samples} moons, {epochs} epochs of SGD, lr {lr}: are the hidden units copies?",
    )
    for name, r in runs.items():
        identical = all(d == 0.0 for d in r["max_unit_difference"]) and all(
            d == 0.0 for d in r["max_outgoing_difference"]
        )
        verdict = "identical in every epoch" if identical else "different from each other"
        print(f"{name}: hidden units {verdict}; accuracy {r['accuracy']:.0%}")
    print()

    shown = sorted({0, 1, 2, epochs // 4, epochs // 2, epochs})
    for name, r in runs.items():
        print_table(
            ["epoch", *[f"N{j}.w0" for j in range(hidden)], *[f"N{j}.b" for j in range(hidden)]],
            [[e, *(u[0] for u in r["units"][e]), *(u[2] for u in r["units"][e])] for e in shown],
            title=f"{name}: first input weight and bias of each hidden unit",
        )

    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs), 3.8), sharey=False)
    for ax, (name, r) in zip(axes, runs.items()):
        for j in range(hidden):
            colour = f"C{j % 10}"  # one colour per unit: w0 solid, w1 dashed
            ax.plot([units[j][0] for units in r["units"]], color=colour, label=f"N{j}.w0")
            ax.plot([units[j][1] for units in r["units"]], color=colour, linestyle="--", label=f"N{j}.w1")
        ax.set_title(f"{name}: accuracy {r['accuracy']:.0%}", fontsize=10)
        ax.set_xlabel("epoch (0 = before training)")
    axes[0].set_ylabel(f"weights of the {hidden} hidden units\n(identical units draw on top of each other)")
    axes[-1].legend(fontsize=7, ncol=2)
    save_figure(fig, args.out / "symmetry.png")

    write_csv(
        args.out / "unit_weights.csv",
        ["init", "epoch", "unit", "w0", "w1", "b", "outgoing_w"],
        [
            [name, e, j, *unit]
            for name, r in runs.items()
            for e, units in enumerate(r["units"])
            for j, unit in enumerate(units)
        ],
    )
    write_json(
        args.out / "results.json",
        {
            "samples": samples,
            "hidden": hidden,
            "epochs": epochs,
            "lr": lr,
            "runs": {
                name: {
                    k: r[k]
                    for k in ("max_unit_difference", "max_outgoing_difference", "final_loss", "accuracy")
                }
                for name, r in runs.items()
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
