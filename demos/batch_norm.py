"""Batch normalization: the same deep sigmoid network with and without ``BatchNorm1d``.

A deep network of sigmoid units started with micrograd's U[-1, 1] weights: each layer's weighted sums
land wherever the layer below puts them and the sigmoid squashes them, so from layer to layer a unit's
output varies less and less from one sample to the next. The output then hardly depends on the input,
the gradients of the two classes' samples cancel, every layer's gradient is small, and plain SGD barely
moves. Batch normalization (``Linear → BatchNorm1d → sigmoid``) rescales each
unit's weighted sum over the batch to mean 0 and standard deviation 1 before the sigmoid (then γ·x̂ + β,
with γ = 1 and β = 0 at the start), so every layer works in the sigmoid's useful range.

Measured at initialization, layer by layer, for both networks: the mean and standard deviation of the
activations and their spread from sample to sample, and the norm of the weight gradient ‖∂loss/∂W_l‖;
then both are trained with the same full-batch SGD and their loss curves are compared.

    python demos/batch_norm.py [--quick] [--out DIR] [--activation sigmoid|tanh]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from typing import Any

from _common import parse_args, print_table, progress, pyplot, save_figure, write_csv, write_json

from tinygrad_w import Value
from tinygrad_w.nn import Activation, BatchNorm1d, Layer, Sequential
from tinygrad_w.train import data, fit, losses, optim

NAME = "batch_norm"
SEED = 0
RUNS = {"without batch norm": False, "with BatchNorm1d": True}
COLOURS = {"without batch norm": "C3", "with BatchNorm1d": "C0"}


def build(depth: int, width: int, activation: str, batch_norm: bool) -> Sequential:
    """``depth`` hidden layers of ``width`` units, each Linear [→ BatchNorm1d] → activation, then a linear
    output. Both versions draw the same weights (the same seed, in the same order)."""
    rng = random.Random(SEED)
    modules: list[Any] = []
    fan_in = 2
    for index in range(1, depth + 1):
        modules.append(Layer(fan_in, width, "linear", rng=rng, index=index, fused=True))
        if batch_norm:
            modules.append(BatchNorm1d(width, label=f"BN{index}"))
        modules.append(Activation(activation))
        fan_in = width
    modules.append(Layer(fan_in, 1, "linear", rng=rng, index=depth + 1, fused=True))
    return Sequential(*modules)


def at_init(model: Sequential, rows: list[list[float]], labels: list[int]) -> dict[str, list[float]]:
    """One forward pass of the whole batch, module by module as Sequential runs it. For every hidden layer:
    the mean of its activations (over samples and units) and their standard deviation over the samples
    (per unit, then averaged over the units). Then the hinge loss's gradient norm per weight layer."""
    batch: list[list[Any]] = [list(row) for row in rows]
    means, stds = [], []
    for module in model.layers:
        batch = module(batch) if getattr(module, "batchwise", False) else [as_list(module(x)) for x in batch]
        if isinstance(module, Activation):
            units = list(zip(*([v.data for v in sample] for sample in batch)))  # one tuple per unit
            means.append(statistics.fmean(x for unit in units for x in unit))
            # how much a unit's output changes from sample to sample: the signal the next layer gets
            stds.append(statistics.fmean(statistics.pstdev(unit) for unit in units))
    loss = losses.hinge([sample[0] for sample in batch], labels)
    model.zero_grad()
    loss.backward()
    weight_layers = [m for m in model.layers if isinstance(m, Layer)]
    norms = [math.sqrt(sum(w.grad**2 for w in layer.weights())) for layer in weight_layers]
    return {"activation_mean": means, "activation_std": stds, "grad_norm": norms}


def as_list(out: Value | list[Value]) -> list[Value]:
    return [out] if isinstance(out, Value) else out


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--activation", choices=["sigmoid", "tanh"], default="sigmoid", help="default sigmoid"
    )


def main() -> int:
    args = parse_args(NAME, "a deep sigmoid network with and without batch normalization", add_options)
    depth, width, samples, epochs = (4, 6, 24, 15) if args.quick else (6, 8, 48, 60)
    lr = 0.1
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)
    shape = f"{depth} hidden layers of {width} {args.activation} units"

    stats = {
        name: at_init(build(depth, width, args.activation, bn), rows, labels) for name, bn in RUNS.items()
    }
    print_table(
        ["layer", *(f"{kind} {short}" for short in ("plain", "BN") for kind in ("mean", "std"))],
        [
            [
                f"L{i + 1}",
                *(stats[name][kind][i] for name in RUNS for kind in ("activation_mean", "activation_std")),
            ]
            for i in range(depth)
        ],
        title=f"{shape}, U[-1, 1] weights: activations at init, {samples} samples (plain = without batch norm; "
        "mean over samples and units, std over samples per unit, averaged)",
    )
    print_table(
        ["layer", *RUNS],
        [[f"L{i + 1}", *(stats[name]["grad_norm"][i] for name in RUNS)] for i in range(depth + 1)],
        title="gradient norm ‖∂loss/∂W‖ per layer at init (hinge loss of the batch)",
    )
    std_ratio = {name: s["activation_std"][-1] / s["activation_std"][0] for name, s in stats.items()}
    for name in RUNS:
        print(
            f"{name}: std over samples, last hidden layer / first = {std_ratio[name]:.3g}; "
            f"gradient norm of layer 1 = {stats[name]['grad_norm'][0]:.3g}"
        )
    plain_stats, normed_stats = (stats[name] for name in RUNS)
    gain = normed_stats["grad_norm"][0] / plain_stats["grad_norm"][0]
    print(f"at init, layer 1's gradient is {gain:.3g}x larger with batch norm\n")

    histories = {}
    for name, bn in progress(RUNS.items(), "training", total=len(RUNS)):
        model = build(depth, width, args.activation, bn)
        optimizer = optim.SGD(model.parameters(), lr=lr)
        histories[name] = fit(
            model, rows, labels, loss="hinge", optimizer=optimizer, epochs=epochs, progress=False
        )
    print_table(
        ["network", "loss epoch 1", "final loss", "final accuracy", "seconds per epoch"],
        [
            [name, h.loss[0], h.loss[-1], h.accuracy[-1], statistics.fmean(h.seconds)]
            for name, h in histories.items()
        ],
        title=f"full-batch SGD, lr {lr}, {epochs} epochs, hinge loss, {samples} moons samples",
    )
    plain, normed = (histories[name] for name in RUNS)
    verdict = "lower" if normed.loss[-1] < plain.loss[-1] else "NOT lower"
    print(
        f"after {epochs} epochs the batch-normalized network's loss is {verdict}: "
        f"{normed.loss[-1]:.4f} against {plain.loss[-1]:.4f} without batch norm"
    )

    plot(stats, histories, depth, args.activation, args.out / "batch_norm.png")
    write_csv(
        args.out / "at_init.csv",
        ["network", "layer", "activation_mean", "activation_std", "grad_norm"],
        [
            [
                name,
                i + 1,
                s["activation_mean"][i] if i < depth else "",
                s["activation_std"][i] if i < depth else "",
                s["grad_norm"][i],
            ]
            for name, s in stats.items()
            for i in range(depth + 1)
        ],
    )
    write_json(
        args.out / "results.json",
        {
            "activation": args.activation,
            "depth": depth,
            "width": width,
            "samples": samples,
            "epochs": epochs,
            "lr": lr,
            "at_init": stats,
            "std_last_over_first": std_ratio,
            "layer1_grad_gain": gain,
            "loss": {name: list(h.loss) for name, h in histories.items()},
            "accuracy": {name: list(h.accuracy) for name, h in histories.items()},
        },
    )
    return 0


def plot(
    stats: dict[str, dict[str, list[float]]],
    histories: dict[str, Any],
    depth: int,
    activation: str,
    path: Any,
) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    (ax_mean, ax_std), (ax_grad, ax_loss) = axes
    hidden = list(range(1, depth + 1))
    for name, s in stats.items():
        style = {"color": COLOURS[name], "marker": "o", "label": name}
        ax_mean.plot(hidden, s["activation_mean"], **style)
        ax_std.semilogy(hidden, s["activation_std"], **style)
        ax_grad.semilogy(range(1, depth + 2), s["grad_norm"], **style)
        loss = histories[name].loss
        ax_loss.plot(range(1, len(loss) + 1), loss, color=COLOURS[name], label=name)
    ax_mean.set(
        title=f"{activation} activations at init: mean", xlabel="hidden layer", ylabel="mean activation"
    )
    ax_std.set(
        title="at init: how much a unit's output varies between samples",
        xlabel="hidden layer",
        ylabel="std over samples (log scale)",
    )
    ax_grad.set(
        title="weight gradient norm at init",
        xlabel=f"layer ({depth + 1} = output)",
        ylabel="‖∂loss/∂W‖ (log scale)",
    )
    ax_loss.set(title="training: full-batch SGD", xlabel="epoch", ylabel="hinge loss")
    for ax in (ax_mean, ax_std):
        ax.set_xticks(hidden)
    ax_grad.set_xticks(list(range(1, depth + 2)))
    for ax in axes.flat:
        ax.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
