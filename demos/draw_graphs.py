"""Example drawings: an expression, one neuron, a trained MLP's loss graph (collapsed), a network
diagram, a deep chain, backpropagation step by step, and training as an animation.

    python demos/draw_graphs.py [--out DIR]      (default out/draw_graphs)

Each picture is an SVG (in a browser, hovering over a box shows its numbers in full precision) and the
network also a PNG, which carries its numbers in the picture; the step-through and the training
animation are ``index.html`` pages to open in a browser (the animation also a GIF). Without Graphviz's
``dot`` program the DOT source is written instead, with a warning that says how to install Graphviz,
and the animation is skipped. Runs in a few seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# _common first: it says how to run the demos when a package is missing.
import _common  # noqa: F401

# isort: split
from tinygrad_w import Value, nn, viz
from tinygrad_w.errors import RenderError
from tinygrad_w.train import data, fit, losses, optim
from tinygrad_w.viz.stepper import backprop_frames


def expression() -> Value:
    """The classic first example: a neuron written out by hand, o = tanh(x0·w0 + x1·w1 + b). Inputs and
    weights count from 0 in every drawing, as tinygrad_w.nn numbers them."""
    x0, x1 = Value(2.0, "x0"), Value(0.0, "x1")
    w0, w1 = Value(-3.0, "w0"), Value(1.0, "w1")
    b = Value(6.8813735870195432, "b")
    out = (x0 * w0 + x1 * w1 + b).tanh()
    out.label = "o"
    out.backward()
    return out


def one_neuron() -> Value:
    """A tanh neuron with three inputs, as tinygrad_w.nn builds it (labels L1.N0.w0, ...)."""
    neuron = nn.Neuron(3, activation="tanh", seed=1, label="L1.N0")
    inputs = [Value(x, f"x{k}") for k, x in enumerate([0.5, -1.0, 2.0])]
    out = neuron(inputs)
    out.backward()
    return out


def trained_mlp(epochs: int = 40) -> tuple[nn.MLP, Value]:
    """MLP(2, [8, 8, 1]) trained with full-batch gradient descent on 24 moons; returns the final loss."""
    X, y = data.moons(24, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss = Value(0.0)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = losses.mse([model(x) for x in X], [float(label) for label in y])
        loss.backward()
        optimizer.step()
    optimizer.zero_grad()
    loss = losses.mse([model(x) for x in X], [float(label) for label in y])
    loss.backward()
    return model, loss


def training_animation(folder: Path, epochs: int) -> Path:
    """MLP(2, [4, 4, 1]) trained on 40 moons with fit, its weights recorded every epoch, as a page to step
    through (index.html) and a GIF (training.gif)."""
    X, y = data.moons(40, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 4, 1], activation="tanh", seed=0)
    history = fit(model, X, y, loss="mse", lr=0.1, epochs=epochs, record_weights=True, progress=False)
    return viz.animate_training(model, history, folder)


def deep_chain(length: int = 50_000) -> Value:
    """A long chain x → tanh → ·0.9 → + 0.1 → tanh → ...: collapsed by depth."""
    v = Value(0.5, "x")
    for _ in range(length // 3):
        v = v.tanh() * 0.9 + 0.1
    v.backward()
    return v


def main() -> None:
    parser = argparse.ArgumentParser(prog="demos/draw_graphs.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out") / "draw_graphs", help="output folder")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry with the other demos")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    written = [viz.render(viz.draw_graph(expression()), out / "expression.svg")]

    neuron_out = one_neuron()
    written.append(viz.render(viz.draw_graph(neuron_out), out / "neuron.svg"))

    model, loss = trained_mlp(epochs=20 if args.quick else 40)
    print(f"trained MLP(2, [8, 8, 1]) on 24 moons: final mean squared error {loss.data:.4f}")
    # Given the network, the drawing boxes each pass through a layer (one per sample).
    collapsed = viz.draw_graph(loss, network=model)
    written.append(viz.render(collapsed, out / "mlp_loss_collapsed.svg"))
    # With a smaller budget the 24 passes do not fit: two are drawn and the other 22 folded into one box.
    written.append(viz.render(viz.draw_graph(loss, max_nodes=60, network=model), out / "mlp_loss_folded.svg"))
    one_sample = model([0.5, -0.25])
    assert isinstance(one_sample, Value)
    model.zero_grad()
    one_sample.backward()
    written.append(
        viz.render(
            viz.draw_graph(one_sample, collapse="neurons", network=model), out / "mlp_one_sample_neurons.svg"
        )
    )
    model.zero_grad()
    loss.backward()  # the network diagram shows the loss gradients of the trained model
    written.append(viz.render(viz.draw_network(model), out / "network.svg"))  # 88 weights: heat maps
    written.append(viz.render(viz.draw_network(model), out / "network.png"))
    small = nn.MLP(2, [3, 1], activation="tanh", seed=4)
    small_loss = losses.mse([small(x) for x in ([0.5, -1.0], [-0.3, 0.8])], [1.0, -1.0])
    small_loss.backward()
    written.append(viz.render(viz.draw_network(small), out / "network_small.svg"))  # 9 weights: edge labels

    written.append(viz.render(viz.draw_graph(deep_chain()), out / "deep_chain_collapsed.svg"))
    written.append(backprop_frames(expression(), out / "backprop_steps"))
    written.append(backprop_frames(neuron_out, out / "backprop_neuron"))
    try:
        written.append(training_animation(out / "training", epochs=15 if args.quick else 40))
        written.append(out / "training" / "training.gif")
    except RenderError as error:  # the animation needs Graphviz's programs, not only their DOT text
        print(f"skipped the training animation: {error}")

    for path in written:
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
