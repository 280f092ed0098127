"""L1 against L2 regularization: what each penalty does to the weights, at several strengths λ.

* L2 adds λ·Σw² to the loss. Its gradient 2λw is proportional to the weight: big weights shrink fast,
  small ones barely move, so weights get small but rarely exactly zero.
* L1 adds λ·Σ|w|. Its gradient λ·sign(w) has the same size for every weight: it pushes small weights all
  the way to zero, making the network sparse. (With plain SGD a weight near zero jumps back and forth
  across it by about lr·λ per step instead of settling at exactly 0, so sparsity is counted as |w| below
  a small threshold.)

The same MLP 2-16-16-1 (relu) is trained on the two moons with each penalty and strength; for each we
measure Σw, Σ|w|, Σw², how many weights are near zero, and the accuracy, and draw the weight histograms.

    python demos/l1_vs_l2.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
from typing import Any

from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import nn, train
from tinygrad_w.nn import penalties
from tinygrad_w.train import data, losses, optim

NAME = "l1_vs_l2"
SEED = 0
NEAR_ZERO = 0.01  # |w| below this counts as (practically) zero
LAMBDAS = [0.001, 0.01, 0.03]


def run(
    rows: list[list[float]], labels: list[int], hidden: int, epochs: int, lr: float, kind: str, lam: float
) -> dict[str, Any]:
    """Train a fresh network with penalty ``kind`` ("none", "l1" or "l2") of strength ``lam``."""
    model = nn.MLP(2, [hidden, hidden, 1], activation="relu", seed=SEED, fused=True)
    rule = {"l1": penalties.l1, "l2": penalties.l2}.get(kind)
    history = train.fit(
        model,
        rows,
        labels,
        loss="hinge",
        optimizer=optim.SGD(model.parameters(), lr=lr),
        epochs=epochs,
        penalty=(lambda m: rule(m, lam)) if rule is not None else None,  # the weights, not the biases
        progress=False,
    )
    weights = [w.data for w in model.weights()]
    stats = model.weight_stats()["total"]
    return {
        "penalty": kind,
        "lam": lam,
        "sum": stats["sum"],
        "abs_sum": stats["abs_sum"],
        "sq_sum": stats["sq_sum"],
        "near_zero": sum(1 for w in weights if abs(w) < NEAR_ZERO),
        "count": len(weights),
        "largest": max(abs(w) for w in weights),
        "data_loss": history.data_loss[-1],
        "accuracy": losses.accuracy([model(row) for row in rows], labels),
        "weights": weights,
    }


def main() -> int:
    args = parse_args(NAME, "L1 and L2 penalties at several strengths: sums, sparsity, accuracy, histograms")
    samples, hidden, epochs = (30, 8, 25) if args.quick else (100, 16, 300)
    lr = 0.1
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)

    results = [run(rows, labels, hidden, epochs, lr, "none", 0.0)]
    for kind in ("l1", "l2"):
        results += [run(rows, labels, hidden, epochs, lr, kind, lam) for lam in LAMBDAS]
    columns = ["penalty", "lam", "sum", "abs_sum", "sq_sum", "largest", "near_zero", "data_loss", "accuracy"]
    count = results[0]["count"]
    print_table(
        [
            "penalty",
            "λ",
            "Σw",
            "Σ|w|",
            "Σw²",
            "max|w|",
            f"|w| < {NEAR_ZERO} (of {count})",
            "hinge loss",
            "accuracy",
        ],
        [[r[c] for c in columns] for r in results],
        title=f"MLP 2-{hidden}-{hidden}-1 (relu), {samples} moons, {epochs} epochs of SGD, lr {lr}",
    )
    baseline = results[0]
    strongest = {
        kind: max((r for r in results if r["penalty"] == kind), key=lambda r: r["lam"])
        for kind in ("l1", "l2")
    }
    l1, l2 = strongest["l1"], strongest["l2"]
    print(
        f"near-zero weights: {baseline['near_zero']} without a penalty, {l1['near_zero']} with L1 λ={l1['lam']}, "
        f"{l2['near_zero']} with L2 λ={l2['lam']}"
    )
    sparser = (
        "L1"
        if l1["near_zero"] > l2["near_zero"]
        else "L2"
        if l2["near_zero"] > l1["near_zero"]
        else "neither"
    )
    print(f"at λ={l1['lam']}, the sparser network is: {sparser}")
    print(
        f"Σw² without a penalty {baseline['sq_sum']:.4f}; with L2 λ={l2['lam']} {l2['sq_sum']:.4f}; "
        f"max|w| {baseline['largest']:.4f} -> {l2['largest']:.4f}"
    )

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, column, title in zip(
        axes, ("abs_sum", "sq_sum", "near_zero"), ("Σ|w|", "Σw²", f"weights with |w| < {NEAR_ZERO}")
    ):
        for kind, marker in (("l1", "o"), ("l2", "s")):
            picked = [r for r in results if r["penalty"] == kind]
            ax.plot(
                [r["lam"] for r in picked], [r[column] for r in picked], marker=marker, label=kind.upper()
            )
        ax.axhline(baseline[column], color="grey", linestyle=":", label="no penalty")
        ax.set_xscale("log")
        ax.set(xlabel="λ (log scale)", ylabel=f"{title}, after training")
        ax.set_title(title)
        ax.legend(fontsize=8)
    save_figure(fig, args.out / "l1_vs_l2.png")

    fig, axes = plt.subplots(2, len(LAMBDAS) + 1, figsize=(3.4 * (len(LAMBDAS) + 1), 6), sharex=True)
    largest = max(r["largest"] for r in results)
    bins = [-largest + 2 * largest * k / 40 for k in range(41)]
    for row, kind in enumerate(("l1", "l2")):
        panels = [baseline, *(r for r in results if r["penalty"] == kind)]
        for ax, r in zip(axes[row], panels):
            ax.hist(r["weights"], bins=bins, color="tab:blue" if kind == "l1" else "tab:orange")
            name = "no penalty" if r["penalty"] == "none" else f"{kind.upper()} λ={r['lam']}"
            ax.set_title(f"{name}: {r['near_zero']} near 0", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("w after training")
    for ax in axes[:, 0]:
        ax.set_ylabel("number of weights")
    save_figure(fig, args.out / "histograms.png")

    write_csv(args.out / "summary.csv", columns, [[r[c] for c in columns] for r in results])
    write_json(
        args.out / "results.json",
        {"near_zero_threshold": NEAR_ZERO, "epochs": epochs, "lr": lr, "runs": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
