"""Convex vs non-convex: without a hidden layer descent always finds least squares; with one, seeds differ.

A model with no hidden layer and a linear output, ŷ = w·x + b, has a mean squared error that is a
quadratic bowl in (w, b): one minimum, the least-squares line, and from any starting point gradient
descent rolls down to it. ``numpy.linalg.lstsq`` computes that line directly, so the claim can be
checked number for number.

Put a hidden layer in between, ŷ = Σ_j v_j·tanh(w_j·x + b_j) + c, and the loss is no longer a bowl:
swapping two hidden units gives the same function from other weights, and between such copies the loss
rises; there are valleys of different depths and flat stretches (plateaus) where the gradient is nearly
zero. Gradient descent goes where the slope from its starting point leads: after the same number of
steps, different seeds sit at different losses, some in a deep valley, some still on a plateau where
the function fits only part of the data (the table gives each one's final gradient norm).

Both models are trained by full-batch gradient descent (p ← p - lr·∂loss/∂p, constant step) on
the same noisy samples of sin(3x); the loss is replayed on the whole batch with the batched path
(``tinygrad_w.batched.compile``), because the hidden-layer runs take tens of thousands of steps.

    python demos/convex_vs_nonconvex.py [--quick] [--out DIR]
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from typing import Any

# _common first: it says how to run the demos when a package is missing.
from _common import parse_args, print_table, progress, pyplot, save_figure, write_csv, write_json

# isort: split
import numpy as np

from tinygrad_w import Value, batched, nn

NAME = "convex_vs_nonconvex"
SEED = 0
LINEAR_LR, HIDDEN_LR = 0.2, 0.05


def noisy_sine(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n samples x ∈ U[-2, 2], y = sin(3x) + N(0, 0.05²), from a fixed seed."""
    rng = random.Random(SEED)
    xs = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    ys = [math.sin(3.0 * x) + rng.gauss(0.0, 0.05) for x in xs]
    return np.array(xs).reshape(-1, 1), np.array(ys)


def gradient_descent(model: nn.MLP, X: np.ndarray, y: np.ndarray, lr: float, steps: int) -> dict[str, Any]:
    """Full-batch gradient descent on the mean squared error; the loss before each step and, for a
    one-neuron model, the path of (w, b)."""
    parameters = model.parameters()

    def squared_error(x: list[Value], target: Value) -> Value:
        return (model(x) - target) ** 2

    # blas_threads=None: no BLAS thread limit switched on and off at every step (the arrays are tiny)
    mse = batched.compile(squared_error, parameters, [0.0], 0.0, blas_threads=None)
    losses, path = [], [[p.data for p in parameters]]
    for _ in range(steps):
        loss, gradient = mse.value_and_grad(X, y)
        losses.append(loss)
        for p, g in zip(parameters, gradient.tolist()):  # the step itself: p ← p - lr·∂loss/∂p
            p.data -= lr * g
        if len(parameters) == 2:
            path.append([p.data for p in parameters])
    final, gradient = mse.value_and_grad(X, y)  # the loss and gradient where descent ended
    grad_norm = float(np.linalg.norm(gradient))
    return {"losses": [*losses, final], "final_loss": final, "grad_norm": grad_norm, "path": path}


def linear_model(w: float, b: float) -> nn.MLP:
    """ŷ = w·x + b: one neuron, no hidden layer, linear output, started at (w, b)."""
    model = nn.MLP(1, [1], seed=SEED)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.b.data = w, b
    return model


def starting_points(centre: np.ndarray, count: int, radius: float) -> list[tuple[float, float]]:
    """``count`` starts on a circle around ``centre`` in the (w, b) plane."""
    angles = [2 * math.pi * k / count for k in range(count)]
    return [(centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a)) for a in angles]


def main() -> int:
    args = parse_args(NAME, "linear least squares is convex; a hidden layer makes the loss non-convex")
    samples, starts, linear_steps = (30, 6, 150) if args.quick else (40, 12, 300)
    hidden, seeds, hidden_steps = (2, 4, 6000) if args.quick else (2, 12, 20000)
    X, y = noisy_sine(samples)

    # 1. The convex case, checked against the closed-form least-squares solution.
    design = np.column_stack([X[:, 0], np.ones(samples)])
    exact, *_ = np.linalg.lstsq(design, y, rcond=None)
    exact_loss = float(np.mean((design @ exact - y) ** 2))
    linear_runs = []
    for w, b in progress(starting_points(exact, starts, 3.0), "linear model", total=starts):
        run = gradient_descent(linear_model(w, b), X, y, LINEAR_LR, linear_steps)
        end = np.array(run["path"][-1])
        run.update(start=[w, b], end=end.tolist(), distance=float(np.linalg.norm(end - exact)))
        linear_runs.append(run)
    print_table(
        ["start w", "start b", "end w", "end b", "|end - lstsq|", "final MSE"],
        [[*r["start"], *r["end"], r["distance"], r["final_loss"]] for r in linear_runs],
        title=f"no hidden layer, ŷ = w·x + b: {linear_steps} gradient-descent steps (lr {LINEAR_LR}) from "
        f"{starts} starts; numpy.linalg.lstsq: w = {exact[0]:.6f}, b = {exact[1]:.6f}, MSE {exact_loss:.6f}",
    )
    worst = max(r["distance"] for r in linear_runs)
    print(f"every start ends at the least-squares solution: largest distance {worst:.2e}\n")

    # 2. The non-convex case: the same data, a hidden layer, different seeds.
    hidden_runs = []
    for seed in progress(range(seeds), "hidden layer", total=seeds):
        model = nn.MLP(1, [hidden, 1], "tanh", seed=seed)
        run = gradient_descent(model, X, y, HIDDEN_LR, hidden_steps)
        grid = np.linspace(-2.0, 2.0, 121)
        run.update(seed=seed, curve=[model([float(x)]).data for x in grid])
        hidden_runs.append(run)
    print_table(
        ["seed", "final MSE", "gradient norm at the end"],
        [[r["seed"], r["final_loss"], r["grad_norm"]] for r in hidden_runs],
        title=f"one hidden layer of {hidden} tanh units: {hidden_steps} gradient-descent steps (lr {HIDDEN_LR}), "
        "same data",
    )
    finals = [r["final_loss"] for r in hidden_runs]
    linear_finals = [r["final_loss"] for r in linear_runs]
    spread = {
        "linear": max(linear_finals) - min(linear_finals),
        "hidden": max(finals) - min(finals),
        "hidden_max_over_min": max(finals) / min(finals),
    }
    print(
        f"final MSE over {starts} starts without a hidden layer: {min(linear_finals):.6f} to "
        f"{max(linear_finals):.6f} (spread {spread['linear']:.1e})"
    )
    print(
        f"final MSE over {seeds} seeds with a hidden layer: {min(finals):.6f} to {max(finals):.6f} "
        f"(largest {spread['hidden_max_over_min']:.2f}x the smallest; median {statistics.median(finals):.6f})"
    )
    near_best = sum(1 for f in finals if f <= 1.25 * min(finals))
    print(
        f"{near_best} of {seeds} seeds ended within 1.25x of the lowest loss; the other {seeds - near_best} "
        f"ended higher, up to {spread['hidden_max_over_min']:.2f}x: the start decides where descent ends"
    )

    plot(X, y, exact, linear_runs, hidden_runs, hidden, args.out / "convex_vs_nonconvex.png")
    write_csv(
        args.out / "runs.csv",
        ["model", "start_or_seed", "final_mse", "grad_norm"],
        [
            ["linear", f"({r['start'][0]:.4f}, {r['start'][1]:.4f})", r["final_loss"], r["grad_norm"]]
            for r in linear_runs
        ]
        + [[f"hidden {hidden}", r["seed"], r["final_loss"], r["grad_norm"]] for r in hidden_runs],
    )
    write_json(
        args.out / "results.json",
        {
            "samples": samples,
            "lstsq": {"w": float(exact[0]), "b": float(exact[1]), "mse": exact_loss},
            "linear": [
                {k: r[k] for k in ("start", "end", "distance", "final_loss", "grad_norm")}
                for r in linear_runs
            ],
            "hidden_units": hidden,
            "hidden": [{k: r[k] for k in ("seed", "final_loss", "grad_norm")} for r in hidden_runs],
            "spread": spread,
            "linear_steps": linear_steps,
            "hidden_steps": hidden_steps,
        },
    )
    return 0


def plot(
    X: np.ndarray,
    y: np.ndarray,
    exact: np.ndarray,
    linear_runs: list[dict[str, Any]],
    hidden_runs: list[dict[str, Any]],
    hidden: int,
    path: Any,
) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    (ax_bowl, ax_fits), (ax_curves, ax_finals) = axes
    # the bowl: MSE over a (w, b) grid, with each descent path
    ws = np.linspace(exact[0] - 3.6, exact[0] + 3.6, 120)
    bs = np.linspace(exact[1] - 3.6, exact[1] + 3.6, 120)
    W, B = np.meshgrid(ws, bs)
    mse = ((W[..., None] * X[:, 0] + B[..., None] - y) ** 2).mean(axis=-1)
    ax_bowl.contour(
        W, B, mse, levels=np.geomspace(mse.min() + 1e-3, mse.max(), 14), colors="0.7", linewidths=0.7
    )
    for run in linear_runs:
        steps = np.array(run["path"])
        ax_bowl.plot(steps[:, 0], steps[:, 1], color="C0", linewidth=1)
        ax_bowl.plot(*run["start"], "o", color="C0", markersize=4)
    ax_bowl.plot(*exact, "*", color="C3", markersize=14, label="numpy.linalg.lstsq")
    ax_bowl.set(title="no hidden layer: every descent path ends at lstsq", xlabel="w", ylabel="b")
    ax_bowl.legend(loc="upper right", fontsize=8)

    grid = np.linspace(-2.0, 2.0, 121)
    ax_fits.scatter(X[:, 0], y, s=12, color="k", label="data: sin(3x) + noise", zorder=3)
    ax_fits.plot(
        grid, exact[0] * grid + exact[1], color="C0", linewidth=2, label="no hidden layer (all starts)"
    )
    colours = colour_by_loss(hidden_runs)
    for run, colour in zip(hidden_runs, colours):
        ax_fits.plot(grid, run["curve"], color=colour, linewidth=1, alpha=0.8)
    ax_fits.plot([], [], color=colours[0], label=f"{hidden} tanh units: one line per seed")
    ax_fits.set(title="the functions found", xlabel="x", ylabel="ŷ")
    ax_fits.legend(fontsize=8, loc="lower right")

    for run, colour in zip(hidden_runs, colours):
        ax_curves.semilogy(range(len(run["losses"])), run["losses"], color=colour, linewidth=1)
    ax_curves.semilogy(
        range(len(linear_runs[0]["losses"])), linear_runs[0]["losses"], color="C0", linewidth=2
    )
    ax_curves.set(
        title="loss during descent (blue: no hidden layer)",
        xlabel="gradient-descent step",
        ylabel="MSE (log scale)",
    )

    finals = [r["final_loss"] for r in hidden_runs]
    ax_finals.scatter([r["seed"] for r in hidden_runs], finals, c=colours, s=40, label=f"{hidden} tanh units")
    linear_final = linear_runs[0]["final_loss"]
    ax_finals.axhline(
        linear_final, color="C0", linestyle="--", label=f"no hidden layer, every start: {linear_final:.4f}"
    )
    ax_finals.set(title="where each run ended", xlabel="seed", ylabel="final MSE")
    ax_finals.set_xticks([r["seed"] for r in hidden_runs])
    ax_finals.legend(fontsize=8)
    save_figure(fig, path)


def colour_by_loss(runs: list[dict[str, Any]]) -> list[Any]:
    """One colour per run from its final loss (viridis: dark = low), so the groups show in every panel."""
    plt = pyplot()
    finals = [r["final_loss"] for r in runs]
    low, high = min(finals), max(finals)
    return [plt.cm.viridis(0.85 * (f - low) / (high - low) if high > low else 0.0) for f in finals]


if __name__ == "__main__":
    sys.exit(main())
