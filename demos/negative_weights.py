"""Negative weights: how many there are, what activations do with negative inputs, and whether a network
can do without them.

Three measurements:

1. sigmoid, tanh and relu evaluated on negative inputs with Values, next to the true values quoted by
   textbooks (tanh(-1) = -0.7616, tanh(-0.5) = -0.4621, sigmoid(-1) = 0.2689): sigmoid squeezes a
   negative input into (0, 0.5), tanh keeps its sign, relu turns it into 0.
2. The share of negative weights per layer of an MLP trained on the two moons, before and after training.
3. The same network trained with its weights kept all-positive or all-negative (after every SGD step each
   weight is projected back: w <- max(w, 0), or w <- min(w, 0); biases stay free), against an
   unconstrained (mixed-sign) network. Accuracy of each, measured.

    python demos/negative_weights.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np
from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

from tinygrad_w import Value, nn
from tinygrad_w.train import data, losses, optim

NAME = "negative_weights"
SEED = 0

# Values quoted by introductory texts, to 4 decimals, and the function they come from.
QUOTED = [("tanh", -1.0, -0.7616), ("tanh", -0.5, -0.4621), ("sigmoid", -1.0, 0.2689)]


def activation_table() -> tuple[list[list[object]], list[dict[str, object]]]:
    """sigmoid, tanh and relu on negative inputs, computed with Values; then the quoted values checked."""
    inputs = [-3.0, -1.0, -0.5, -0.1, 0.0]
    rows: list[list[object]] = []
    for x in inputs:
        v = Value(x)
        rows.append([x, v.sigmoid().data, v.tanh().data, v.relu().data])
    checks: list[dict[str, object]] = []
    for function, x, quoted in QUOTED:
        measured = getattr(Value(x), function)().data
        checks.append(
            {
                "function": function,
                "x": x,
                "quoted": quoted,
                "measured": measured,
                "agrees": round(measured, 4) == quoted,
            }
        )
    return rows, checks


def negative_share(model: nn.MLP) -> list[float]:
    """Fraction of each layer's weights (biases excluded) that are below zero."""
    return [layer["negative"] / layer["count"] for layer in model.weight_stats()["layers"]]


# The sign each weight must keep: +1 (w >= 0), -1 (w <= 0), or 0 for no constraint.
SIGNS = {"mixed (free)": 0, "all positive": 1, "all negative": -1}


def project(w: float, sign: int) -> float:
    """The nearest allowed value: max(w, 0) for sign +1, min(w, 0) for sign -1, w itself for 0."""
    if sign > 0:
        return max(w, 0.0)
    if sign < 0:
        return min(w, 0.0)
    return w


def train(
    model: nn.MLP, rows: list[list[float]], labels: list[int], steps: int, lr: float, sign: int
) -> tuple[list[float], float]:
    """Full-batch SGD on the hinge loss; after each step, project every weight onto its allowed sign."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    weights = model.weights()
    if sign != 0:
        for w in weights:  # start inside the allowed set: keep each initial weight's size, force its sign
            w.data = sign * abs(w.data)
    curve = []
    for _ in range(steps):
        scores = [model(row) for row in rows]
        loss = losses.hinge(scores, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if sign != 0:
            for w in weights:
                w.data = project(w.data, sign)
        curve.append(loss.data)
    scores = [model(row) for row in rows]
    return curve, losses.accuracy(scores, labels)


def is_monotone(model: nn.MLP, X: np.ndarray, points: int = 15) -> bool:
    """Does the score only rise, or only fall, along each input axis on a grid around the data?"""
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), points)
    ys = np.linspace(X[:, 1].min(), X[:, 1].max(), points)
    grid = np.array([[model([float(a), float(b)]).data for a in xs] for b in ys])
    monotone = True
    for differences in (np.diff(grid, axis=1), np.diff(grid, axis=0)):  # along input 0, along input 1
        monotone &= bool(np.all(differences >= -1e-12) or np.all(differences <= 1e-12))
    return monotone


def dead_share(model: nn.MLP, X: np.ndarray) -> float:
    """Share of hidden units whose relu output is 0 for every sample (they pass no gradient back)."""
    outputs: list[list[list[float]]] = [[] for _ in model.layers[:-1]]
    for x in X:
        values: list[float] = [float(v) for v in x]
        for i, layer in enumerate(model.layers[:-1]):
            values = [v.data for v in layer(values)]
            outputs[i].append(values)
    units = [unit for layer_outputs in outputs for unit in zip(*layer_outputs)]
    return sum(1 for unit in units if max(unit) <= 0.0) / len(units)


def main() -> int:
    args = parse_args(NAME, "negative weights: activations, share per layer, sign-constrained training")
    samples, hidden, steps = (40, 8, 25) if args.quick else (100, 16, 150)
    lr = 0.1

    activation_rows, checks = activation_table()
    print_table(
        ["x", "sigmoid(x)", "tanh(x)", "relu(x)"],
        activation_rows,
        title="activations of negative inputs (Values)",
    )
    print_table(
        ["function", "x", "quoted", "measured", "agrees to 4 d.p."],
        [[c["function"], c["x"], c["quoted"], c["measured"], c["agrees"]] for c in checks],
        title="textbook values checked",
    )

    rows, labels = data.moons(samples, noise=0.1, seed=SEED)
    X = np.array(rows)
    results: dict[str, dict[str, object]] = {}
    curves: dict[str, list[float]] = {}
    for name, sign in SIGNS.items():
        model = nn.MLP(2, [hidden, hidden, 1], activation="relu", seed=SEED, fused=True)
        before = negative_share(model)
        curve, accuracy = train(model, rows, labels, steps, lr, sign)
        after = negative_share(model)
        curves[name] = curve
        results[name] = {
            "negative_before": before,
            "negative_after": after,
            "accuracy": accuracy,
            "final_loss": curve[-1],
            "monotone": is_monotone(model, X),
            "dead_hidden_units": dead_share(model, X),
        }

    layer_count = len(results["mixed (free)"]["negative_before"])
    headers = ["training", *[f"L{i + 1} neg. before" for i in range(layer_count)]]
    headers += [f"L{i + 1} neg. after" for i in range(layer_count)] + ["final loss", "accuracy"]
    print_table(
        headers,
        [
            [name, *r["negative_before"], *r["negative_after"], r["final_loss"], r["accuracy"]]
            for name, r in results.items()
        ],
        title=f"MLP 2-{hidden}-{hidden}-1 (relu) on {samples} moons, {steps} SGD steps, lr {lr}: share of negative weights",
    )
    free = float(results["mixed (free)"]["accuracy"])
    for name in ("all positive", "all negative"):
        constrained = float(results[name]["accuracy"])
        verdict = "lower than" if constrained < free else "not lower than"
        print(f"{name}: accuracy {constrained:.0%}, {verdict} the mixed-sign network's {free:.0%}")
    print_table(
        ["training", "score monotone in each input", "dead hidden units"],
        [[name, r["monotone"], r["dead_hidden_units"]] for name, r in results.items()],
        title="why: checked on a grid around the data, and over the training samples",
    )
    print(
        "With every weight of one sign and monotone activations, the score can only rise (or only fall)\n"
        "with each input, so the boundary cannot curl around the moons. With all-negative weights, a layer\n"
        "fed by relu outputs (>= 0) gets sums <= its bias: its units start dead and pass back no gradient."
    )

    plt = pyplot()
    fig, (ax_act, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    xs = np.linspace(-4, 2, 121)
    for function in ("sigmoid", "tanh", "relu"):
        ax_act.plot(xs, [getattr(Value(float(x)), function)().data for x in xs], label=function)
    for check in checks:  # the textbook values, where the curves must pass
        ax_act.plot(check["x"], check["quoted"], "kx")
        ax_act.annotate(
            f"{check['function']}({check['x']:g}) = {check['quoted']}",
            (check["x"], check["quoted"]),
            xytext=(8, -4),
            textcoords="offset points",
            fontsize=7,
        )
    ax_act.axvline(0, color="grey", linewidth=0.5)
    ax_act.axhline(0, color="grey", linewidth=0.5)
    ax_act.set_title("activations (negative inputs on the left)")
    ax_act.legend()
    for name, curve in curves.items():
        ax_loss.plot(curve, label=f"{name}: {float(results[name]['accuracy']):.0%}")
    ax_loss.set_xlabel("SGD step")
    ax_loss.set_ylabel("hinge loss")
    ax_loss.set_title("sign-constrained training")
    ax_loss.legend()
    save_figure(fig, args.out / "negative_weights.png")

    write_csv(args.out / "activations.csv", ["x", "sigmoid", "tanh", "relu"], activation_rows)
    write_json(
        args.out / "results.json",
        {
            "quoted_checks": checks,
            "training": results,
            "samples": samples,
            "steps": steps,
            "lr": lr,
            "seed": SEED,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
