"""Weight initializers compared on a deep tanh network and a deep relu network.

A neuron adds up fan_in products w·x. If the weights have variance σ² and the inputs variance v, the sum
has variance fan_in·σ²·v, so the scale of the starting weights decides whether signals (and, going back,
gradients) keep their size through many layers, shrink to nothing or blow up. The schemes:

==========  ======================  =====================================================
scheme      weights                 idea
==========  ======================  =====================================================
zeros       0                       every unit the same: nothing to tell them apart
uniform     U[-1, 1]                micrograd's; ignores the layer's size
Xavier      U[±√(6/(nin+nout))]     variance 2/(nin+nout): keeps tanh/linear layers steady
He          U[±√(6/nin)]            variance 2/nin: makes up for relu zeroing half its inputs
LeCun       U[±√(3/nin)]            variance 1/nin
==========  ======================  =====================================================

Measured at initialization: the largest |w| of each layer against the formula's bound, the spread (standard
deviation) of each layer's activations over a batch, and each layer's gradient norm. Then each network is
trained and the loss curves are compared.

Speed: the measurements at initialization and the final accuracies come from one ``batched.compile``
replay per activation (the hinge loss on the batch, with every hidden unit's output kept), fed each
network's weights in turn, instead of one Value graph per sample; ``fit`` trains on its batched engine.

    python demos/initializers.py [--quick] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

# _common first: it says how to run the demos when a package is missing.
from _common import parse_args, print_table, pyplot, save_figure, write_csv, write_json

# isort: split
import numpy as np

from tinygrad_w import Value, batched, nn, train
from tinygrad_w.errors import DivergenceError
from tinygrad_w.train import data, losses, optim

NAME = "initializers"
SEED = 0
SCHEMES = ["zeros", "uniform", "xavier_uniform", "he_uniform", "lecun_uniform"]
# one colour per initializer, the same in every panel
COLOURS = {"zeros": "0.5", "uniform": "C0", "xavier_uniform": "C1", "he_uniform": "C2", "lecun_uniform": "C4"}


def formula_bound(scheme: str, nin: int, nout: int) -> float:
    """The bound a of U[-a, a], from the published formula (computed here, independently of the library)."""
    return {
        "zeros": 0.0,
        "uniform": 1.0,
        "xavier_uniform": math.sqrt(6.0 / (nin + nout)),
        "he_uniform": math.sqrt(6.0 / nin),
        "lecun_uniform": math.sqrt(3.0 / nin),
    }[scheme]


def make_model(depth: int, width: int, activation: str, scheme: str, seed: int = SEED) -> nn.MLP:
    return nn.MLP(2, [width] * (depth - 1) + [1], activation=activation, init=scheme, seed=seed, fused=True)


def mean_lists(lists: list[list[float]]) -> list[float]:
    """Element-wise mean of equally long lists."""
    return [sum(column) / len(column) for column in zip(*lists)]


class Probe:
    """A depth x width network's hinge loss relu(1 - y·score) on the batch, traced once, keeping every
    unit's output (hidden layers, then the score). Any network of that shape and activation is measured
    by copying its weights into the traced one: the replay reads the weights at each call."""

    def __init__(self, depth: int, width: int, activation: str, rows: list[list[float]], labels: list[int]):
        self.model = make_model(depth, width, activation, "he_uniform")
        self.X, self.y, self.width = np.array(rows), np.array(labels, dtype=float), width
        self.replay = batched.compile(self._sample_loss, self.model.parameters(), rows[0], float(labels[0]))
        where = {id(p): k for k, p in enumerate(self.model.parameters())}
        self.weight_indices = [[where[id(w)] for w in layer.weights()] for layer in self.model.layers]

    def _sample_loss(self, x: list[Value], label: Value) -> tuple[Value, list[Value]]:
        units: list[Value] = []
        values: list[Value] = x
        for layer in self.model.layers:
            out = layer(values)
            values = out if isinstance(out, list) else [out]  # the last layer's one neuron: a Value
            units += values
        return (1.0 - values[0] * label).relu(), units

    def measure(self, model: nn.MLP) -> tuple[list[float], list[float], list[float]]:
        """For ``model`` on the batch: the std of each hidden layer's outputs (over samples and units),
        ‖∂loss/∂W‖ of each layer, and the score of each sample."""
        for traced, own in zip(self.model.parameters(), model.parameters()):
            traced.data = own.data
        _, grads = self.replay.value_and_grad(self.X, self.y)
        outputs = self.replay.last_outputs  # one row per unit, one column per sample
        hidden = len(self.model.layers) - 1
        spreads = [float(outputs[k * self.width : (k + 1) * self.width].std()) for k in range(hidden)]
        norms = [float(np.sqrt(np.sum(grads[indices] ** 2))) for indices in self.weight_indices]
        return spreads, norms, outputs[-1].tolist()


def main() -> int:
    args = parse_args(NAME, "zeros, uniform, Xavier, He and LeCun initialization on deep tanh and relu nets")
    depth, width, samples, epochs = (6, 8, 24, 50) if args.quick else (8, 24, 100, 50)
    draws = 1 if args.quick else 5
    lr = 0.05
    rows, labels = data.moons(samples, noise=0.1, seed=SEED)

    # 1. The bounds: formula against the largest |w| actually drawn (one relu net per scheme; the weights
    #    do not depend on the activation).
    bound_rows = []
    for scheme in SCHEMES:
        model = make_model(depth, width, "relu", scheme)
        for i, layer in enumerate(model.layers):
            if i not in (0, 1, depth - 1):
                continue  # the middle layers all have the same fans as layer 1
            largest = max(abs(w.data) for w in layer.weights())
            bound = formula_bound(scheme, layer.nin, layer.nout)
            bound_rows.append([scheme, f"L{i + 1}", layer.nin, layer.nout, bound, largest, largest <= bound])
    print_table(
        ["init", "layer", "nin", "nout", "formula bound a", "measured max|w|", "max|w| <= a"],
        bound_rows,
        title="initial weight bounds: U[-a, a]",
    )

    # 2. Spread of activations and gradient norms per layer at initialization.
    at_init: dict[str, dict[str, dict[str, list[float]]]] = {}
    probes = {activation: Probe(depth, width, activation, rows, labels) for activation in ("tanh", "relu")}
    for activation in ("tanh", "relu"):
        at_init[activation] = {}
        for scheme in SCHEMES:
            # averaged over a few independently drawn networks: one draw of a narrow layer is noisy
            measured = [
                probes[activation].measure(make_model(depth, width, activation, scheme, SEED + k))
                for k in range(draws)
            ]
            at_init[activation][scheme] = {
                "activation_std": mean_lists([spreads for spreads, _, _ in measured]),
                "grad_norm": mean_lists([norms for _, norms, _ in measured]),
            }
        hidden = depth - 1
        print_table(
            ["layer", *SCHEMES],
            [
                [f"L{i + 1}", *(at_init[activation][s]["activation_std"][i] for s in SCHEMES)]
                for i in range(hidden)
            ],
            title=f"{activation}, {depth} layers of width {width}: std of each hidden layer's activations at init "
            f"(mean of {draws} networks)",
        )
        print_table(
            ["layer", *SCHEMES],
            [[f"L{i + 1}", *(at_init[activation][s]["grad_norm"][i] for s in SCHEMES)] for i in range(depth)],
            title=f"{activation}: gradient norm ‖∂loss/∂W‖ per layer at init (mean of {draws} networks)",
        )

    growth_rows = []
    for activation in ("tanh", "relu"):
        for scheme in SCHEMES[1:]:
            stds = at_init[activation][scheme]["activation_std"]
            grads = at_init[activation][scheme]["grad_norm"]
            growth_rows.append(
                [activation, scheme, stds[0], stds[-1], stds[-1] / stds[0], grads[0] / grads[-1]]
            )
    print_table(
        ["activation", "init", "std L1", f"std L{depth - 1}", "last / first std", "grad L1 / grad last"],
        growth_rows,
        title="how the signal changes with depth at init (1 = kept steady; zeros left out: all 0)",
    )

    # 3. Training: loss curves.
    curves: dict[str, dict[str, list[float]]] = {}
    final_rows = []
    for activation in ("tanh", "relu"):
        curves[activation] = {}
        for scheme in SCHEMES:
            model = make_model(depth, width, activation, scheme)
            diverged = "-"
            try:
                history = train.fit(
                    model,
                    rows,
                    labels,
                    loss="hinge",
                    optimizer=optim.SGD(model.parameters(), lr=lr),
                    epochs=epochs,
                    progress=False,
                )
            except DivergenceError as error:  # the loss or a weight overflowed: keep the epochs before
                history = error.history
                diverged = f"epoch {error.epoch}"
            curves[activation][scheme] = list(history.loss)
            accuracy = losses.accuracy(probes[activation].measure(model)[2], labels)  # the last good weights
            first = history.loss[0] if history.loss else math.nan
            last = history.loss[-1] if history.loss else math.nan
            final_rows.append([activation, scheme, first, last, accuracy, diverged])
    print_table(
        ["activation", "init", "first loss", "last loss", "accuracy", "diverged in"],
        final_rows,
        title=f"training: {epochs} epochs of full-batch SGD, lr {lr}, {samples} moons samples",
    )
    for activation in ("tanh", "relu"):
        finished = [s for s in SCHEMES if len(curves[activation][s]) == epochs]
        best = min(finished, key=lambda s: curves[activation][s][-1])
        print(
            f"{activation}: lowest final loss among the runs that finished: {best} ({curves[activation][best][-1]:.4f})"
        )

    plot(at_init, curves, depth, args.out / "initializers.png")

    write_csv(
        args.out / "bounds.csv",
        ["init", "layer", "nin", "nout", "formula_bound", "measured_max_abs_w", "within"],
        bound_rows,
    )
    write_json(
        args.out / "results.json",
        {
            "depth": depth,
            "width": width,
            "draws_at_init": draws,
            "bounds": [
                dict(zip(["init", "layer", "nin", "nout", "bound", "max_abs_w", "within"], r))
                for r in bound_rows
            ],
            "at_init": at_init,
            "loss_curves": curves,
            "growth": [
                dict(zip(["activation", "init", "std_first", "std_last", "std_ratio", "grad_ratio"], r))
                for r in growth_rows
            ],
            "final": [
                dict(zip(["activation", "init", "first_loss", "last_loss", "accuracy"], r))
                for r in final_rows
            ],
        },
    )
    return 0


def plot(
    at_init: dict[str, dict[str, dict[str, list[float]]]],
    curves: dict[str, dict[str, list[float]]],
    depth: int,
    path: Path,
) -> None:
    """Rows: tanh, relu. Columns: activation spread and gradient norm per layer at init, training loss.
    Each initializer keeps one colour in every panel; one legend above the panels names them all."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for row, activation in enumerate(("tanh", "relu")):
        ax_std, ax_grad, ax_loss = axes[row]
        for scheme in SCHEMES:
            stats, colour = at_init[activation][scheme], COLOURS[scheme]
            loss = curves[activation][scheme]
            ax_loss.plot(range(1, len(loss) + 1), loss, color=colour)
            if scheme != "zeros":  # all 0 at init: nothing to draw on a log scale
                ax_std.semilogy(range(1, depth), stats["activation_std"], color=colour, marker="o")
                ax_grad.semilogy(range(1, depth + 1), stats["grad_norm"], color=colour, marker="o")
        ax_std.set(
            title=f"{activation}: activation std per hidden layer (init)", xlabel="layer", ylabel="std (log)"
        )
        ax_grad.set(
            title=f"{activation}: gradient norm per layer (init)", xlabel="layer", ylabel="‖∂loss/∂W‖ (log)"
        )
        ax_loss.set(
            title=f"{activation}: training loss", xlabel="epoch", ylabel="hinge loss (log)", yscale="log"
        )
        ax_std.set_xticks(range(1, depth))
        ax_grad.set_xticks(range(1, depth + 1))
    handles = [
        plt.Line2D([], [], color=COLOURS[s], marker="o" if s != "zeros" else "", label=s) for s in SCHEMES
    ]
    handles[0].set_label("zeros (0 at init: only in the loss panels)")
    fig.legend(handles=handles, loc="upper center", ncol=len(SCHEMES), fontsize=10, frameon=False)
    save_figure(fig, path, rect=(0, 0, 1, 0.95))


if __name__ == "__main__":
    sys.exit(main())
