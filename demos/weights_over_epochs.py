"""Watching individual weights change, epoch by epoch.

``fit(..., record_weights=True)`` keeps every parameter's value after each epoch, by label
(``L{layer}.N{neuron}.w{input}`` and ``L{layer}.N{neuron}.b``). This demo trains an MLP 2-4-1 (tanh) on the
two moons and prints a few chosen weights as a table, one row per epoch, and plots them. Each SGD step
moves a weight by -lr·∂loss/∂w, so the steps are large while the loss is steep and shrink as training
settles. It also writes the whole network as an animation, epoch by epoch (``training/index.html``, a page
with a slider, and ``training/training.gif``): every weight's edge and value beside the loss curve.

    python demos/weights_over_epochs.py [--quick] [--out DIR] [--weights L1.N0.w0,L2.N0.b,...]
"""

from __future__ import annotations

import argparse
import itertools
import sys

from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import nn, train, viz
from tinygrad_w.train import data, optim

NAME = "weights_over_epochs"
SEED = 0
CHOSEN = ["L1.N0.w0", "L1.N0.w1", "L1.N0.b", "L1.N1.w0", "L2.N0.w0", "L2.N0.w1", "L2.N0.b"]


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        default=",".join(CHOSEN),
        help="comma-separated parameter labels to follow (default: %(default)s)",
    )


def main() -> int:
    args = parse_args(NAME, "chosen weights printed epoch by epoch, as a table and a plot", add_options)
    chosen = [label.strip() for label in args.weights.split(",") if label.strip()]
    samples, epochs = (30, 10) if args.quick else (100, 100)
    lr = 0.2
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=SEED)
    known = [label for label, _ in ((p.label, p) for p in model.parameters())]
    unknown = [label for label in chosen if label not in known]
    if unknown:
        print(
            f"unknown parameter labels: {', '.join(unknown)}; the model has: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2

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
    # epoch 0 is the starting point; epoch e the value after e epochs
    table = [[history.initial_weights[label] for label in chosen]]
    table += [[history.weights[label][e] for label in chosen] for e in range(epochs)]
    losses_by_epoch: list[object] = ["-", *history.loss]

    step = max(1, epochs // 20)
    shown = [e for e in range(epochs + 1) if e % step == 0 or e == epochs]
    print_table(
        ["epoch", *chosen, "loss"],
        [[e, *table[e], losses_by_epoch[e]] for e in shown],
        title=f"MLP 2-4-1 (tanh), {samples} moons, SGD lr {lr}: chosen weights after each epoch"
        + ("" if step == 1 else f" (every {step}th; all in weights_over_epochs.csv)"),
    )
    summary = []
    for k, label in enumerate(chosen):
        values = [row[k] for row in table]
        moves = [abs(b - a) for a, b in itertools.pairwise(values)]
        summary.append([label, values[0], values[-1], values[-1] - values[0], max(moves), moves[-1]])
    print_table(
        ["weight", "start", "end", "total change", "largest step", "last step"],
        summary,
        title="how far each weight moved",
    )
    shrinking = sum(1 for row in summary if row[5] < row[4])
    print(f"{shrinking} of {len(summary)} weights took a smaller last step than their largest one")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, label in enumerate(chosen):
        ax.plot(range(epochs + 1), [row[k] for row in table], label=label)
    ax.set_xlabel("epoch (0 = before training)")
    ax.set_ylabel("weight value")
    ax.set_title("chosen weights over epochs")
    ax.legend(fontsize=8)
    save_figure(fig, args.out / "weights_over_epochs.png")

    page = viz.animate_training(
        model,
        history,
        args.out / "training",
        input_names=["x0", "x1"],
        title="MLP 2-4-1: every weight, epoch by epoch",
    )
    print(f"wrote {page} and {page.with_name('training.gif')} (open the page in a browser)")

    write_csv(
        args.out / "weights_over_epochs.csv",
        ["epoch", *chosen, "loss"],
        [[e, *table[e], losses_by_epoch[e]] for e in range(epochs + 1)],
    )
    write_json(
        args.out / "results.json",
        {
            "epochs": epochs,
            "lr": lr,
            "chosen": chosen,
            "weights": table,
            "loss": history.loss,
            "summary": [
                dict(zip(["weight", "start", "end", "change", "largest_step", "last_step"], r))
                for r in summary
            ],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
