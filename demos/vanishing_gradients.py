"""Vanishing and exploding gradients, measured layer by layer in a 10-layer network.

Backpropagation multiplies, layer after layer, by the weights and by the activation's slope. The sigmoid's
slope is at most 1/4, so in a deep sigmoid network the gradient shrinks on its way back to the first
layers (it "vanishes"). relu's slope is 1 where the unit is on, and He initialization (U[±√(6/fan_in)])
picks weights that keep the signal's size from layer to layer. With weights that are too large the
product grows instead (it "explodes"); ``optim.clip_grad_norm`` rescales the whole gradient to a
maximum norm before each step, which keeps training finite.

Measured here:

1. the norm of each layer's weight gradient at initialization, ‖∂loss/∂W_l‖ = √(Σ (∂loss/∂w)²), for
   sigmoid + Xavier, relu + He and relu + U[-3, 3] (large weights);
2. SGD on the large-weight network with and without gradient-norm clipping.

    python demos/vanishing_gradients.py [--quick] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import nn
from tinygrad_w.nn import initializers as init
from tinygrad_w.train import data, losses, optim

NAME = "vanishing_gradients"
SEED = 0
DEPTH = 10  # layers with weights, the output layer included


def make_model(width: int, activation: str, initializer: object) -> nn.MLP:
    return nn.MLP(
        2, [width] * (DEPTH - 1) + [1], activation=activation, init=initializer, seed=SEED, fused=True
    )


def layer_grad_norms(model: nn.MLP, rows: list[list[float]]) -> list[float]:
    """For each layer l, the root mean square over the samples of ‖∂score/∂W_l‖ = √(Σ_w (∂score/∂w)²).

    Taken per sample, from the network's output: summed over a balanced batch, the gradients of a
    nearly constant output cancel between the classes, which would hide how much signal reaches a layer.
    """
    squares = [0.0] * len(model.layers)
    for row in rows:
        score = model(row)
        model.zero_grad()
        score.backward()
        for i, layer in enumerate(model.layers):
            squares[i] += sum(w.grad**2 for w in layer.weights())
    return [math.sqrt(total / len(rows)) for total in squares]


def loss_of(model: nn.MLP, rows: list[list[float]], labels: list[int]) -> object:
    return losses.hinge([model(row) for row in rows], labels)


def train_large_init(
    rows: list[list[float]], labels: list[int], width: int, steps: int, lr: float, max_norm: float | None
) -> dict[str, object]:
    """SGD on relu + U[-3, 3]; with ``max_norm`` the gradient is clipped to that norm before each step."""
    model = make_model(width, "relu", init.uniform(-3.0, 3.0))
    parameters = model.parameters()
    optimizer = optim.SGD(parameters, lr=lr)
    losses_seen: list[float] = []
    norms: list[float] = []
    failure = ""
    for step in range(steps):
        try:
            loss = loss_of(model, rows, labels)
            optimizer.zero_grad()
            loss.backward()
            if max_norm is None:
                norm = math.hypot(*(p.grad for p in parameters))
            else:
                norm = optim.clip_grad_norm(parameters, max_norm)  # the norm before clipping
            optimizer.step()  # refuses (NonFiniteError) to write a non-finite weight
        except (ArithmeticError, ValueError) as error:  # the weights blew up: overflow or non-finite
            failure = f"step {step + 1}: {type(error).__name__}"  # steps counted from 1, like epochs
            print(f"  stopped at step {step + 1}: {str(error)[:90]}...")
            break
        losses_seen.append(loss.data)
        norms.append(norm)
    try:
        accuracy = losses.accuracy([model(row) for row in rows], labels)
    except (ArithmeticError, ValueError):
        accuracy = math.nan  # the weights are no longer finite
    return {
        "losses": losses_seen,
        "grad_norms": norms,
        "failure": failure,
        "steps_done": len(losses_seen),
        "accuracy": accuracy,
    }


def main() -> int:
    args = parse_args(NAME, "vanishing and exploding gradients in a 10-layer network; clipping")
    samples, width, steps = (16, 16, 30) if args.quick else (64, 16, 60)
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)

    setups = {
        "sigmoid + Xavier": ("sigmoid", "xavier_uniform"),
        "relu + He": ("relu", "he_uniform"),
        "relu + U[-3,3]": ("relu", init.uniform(-3.0, 3.0)),
    }
    norms: dict[str, list[float]] = {}
    for name, (activation, initializer) in setups.items():
        norms[name] = layer_grad_norms(make_model(width, activation, initializer), rows)
    print_table(
        ["layer", *norms],
        [[f"L{i + 1}", *(norms[name][i] for name in norms)] for i in range(DEPTH)],
        title=f"RMS over samples of ‖∂score/∂W_l‖ per layer at initialization ({DEPTH} layers of width {width}, {samples} samples)",
    )
    ratios = {name: n[0] / n[-1] if n[-1] > 0 else math.inf for name, n in norms.items()}
    spreads = {name: max(n) / min(n) if min(n) > 0 else math.inf for name, n in norms.items()}
    for name in norms:
        print(
            f"{name}: first layer / last layer = {ratios[name]:.3g}; "
            f"largest / smallest layer = {spreads[name]:.3g}"
        )
    vanishes = ratios["sigmoid + Xavier"] < 1e-2
    print(
        "sigmoid: the first layer's gradient is "
        + (
            "more than 100x smaller than the last layer's: it vanishes"
            if vanishes
            else "NOT 100x smaller here"
        )
    )
    print()

    lr = 0.1
    max_norm = 1.0
    runs = {
        "no clipping": train_large_init(rows, labels, width, steps, lr, None),
        f"clip_grad_norm({max_norm})": train_large_init(rows, labels, width, steps, lr, max_norm),
    }
    print_table(
        [
            "relu + U[-3,3], SGD",
            "steps done",
            "first loss",
            "last loss",
            "max grad norm",
            "accuracy",
            "stopped because",
        ],
        [
            [
                name,
                r["steps_done"],
                r["losses"][0],
                r["losses"][-1],
                max(r["grad_norms"]),
                r["accuracy"],
                r["failure"] or "-",
            ]
            for name, r in runs.items()
        ],
        title=f"exploding case: lr {lr}, {steps} steps",
    )
    for name, r in runs.items():
        curve = r["losses"]
        if r["failure"]:
            print(
                f"{name}: blew up ({r['failure']}) after the gradient norm reached {max(r['grad_norms']):.3g}"
            )
        else:
            print(
                f"{name}: all {r['steps_done']} steps finite; loss {curve[0]:.4g} -> {curve[-1]:.4g}, "
                f"accuracy {r['accuracy']:.0%}"
            )

    plot(norms, runs, args.out / "gradient_norms.png")

    write_csv(
        args.out / "gradient_norms.csv",
        ["layer", *norms],
        [[i, *(norms[name][i] for name in norms)] for i in range(DEPTH)],
    )
    write_json(
        args.out / "results.json",
        {
            "layer_grad_norms": norms,
            "first_over_last": ratios,
            "largest_over_smallest": spreads,
            "clipping": runs,
            "width": width,
            "depth": DEPTH,
        },
    )
    return 0


def plot(norms: dict[str, list[float]], runs: dict[str, dict[str, Any]], path: Path) -> None:
    """Three panels: per-layer gradient norms at init; the unclipped run on its own log scale, up to its
    overflow; the clipped run on its own scale (on a shared axis the overflow would flatten it)."""
    plt = pyplot()
    fig, (ax_norms, ax_blowup, ax_clipped) = plt.subplots(1, 3, figsize=(15, 4))
    for name, values in norms.items():
        ax_norms.semilogy(range(1, DEPTH + 1), values, marker="o", label=name)
    ax_norms.set(
        title="gradient per layer at initialization",
        xlabel="layer (1 = next to the input)",
        ylabel="RMS over samples of ‖∂score/∂W‖",
    )
    ax_norms.set_xticks(range(1, DEPTH + 1))
    ax_norms.legend(fontsize=8)

    free, clipped = (runs[name] for name in runs)
    steps = range(1, free["steps_done"] + 1)
    ax_blowup.semilogy(steps, free["losses"], color="C3", marker="o", label="hinge loss")
    ax_blowup.semilogy(
        steps, free["grad_norms"], color="C3", marker="s", linestyle="--", label="gradient norm"
    )
    if free["failure"]:
        ax_blowup.axvline(free["steps_done"] + 1, color="k", linestyle=":")
        ax_blowup.annotate(
            f"overflow at step {free['steps_done'] + 1}", (free["steps_done"] + 1, 0.5), rotation=90, fontsize=8,
            xycoords=("data", "axes fraction"), xytext=(-12, 0), textcoords="offset points", va="center",
        )  # fmt: skip
    ax_blowup.set(title="relu + U[-3,3], no clipping", xlabel="SGD step", ylabel="log scale")
    ax_blowup.set_xticks(range(1, free["steps_done"] + 2))
    ax_blowup.legend(fontsize=8)

    steps = range(1, clipped["steps_done"] + 1)
    ax_clipped.plot(steps, clipped["losses"], color="C0", label=f"final accuracy {clipped['accuracy']:.0%}")
    ax_clipped.set(
        title="relu + U[-3,3], clip_grad_norm: every step finite", xlabel="SGD step", ylabel="hinge loss"
    )
    ax_clipped.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
