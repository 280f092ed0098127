"""Moons training step, side by side: micrograd, tinygrad_w (scalar, fused, batched), PyTorch, numpy.

One step = forward on the whole batch, hinge loss mean(relu(1 - y·score)) + 1e-4·Σp² (every parameter),
backward, SGD update. Every contender starts from the same data and the same initial weights (those of
``tinygrad_w.nn.MLP(..., seed=0)``). Also: the full moons demo (100 steps) and a deeper MLP.

    python benchmarks/bench_moons.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, format_seconds, machine, print_table, timing_table, worker_main
from bench_chain import in_big_thread

ALPHA = 1e-4  # weight of the L2 penalty
CONTENDERS = [
    "micrograd",
    "tinygrad_w scalar",
    "tinygrad_w fused",
    "tinygrad_w batched",
    "tinygrad_w batched fused",
    "torch",
    "numpy (by hand)",
]


# ----------------------------------------------------------------------------------------------------
# The shared problem: data and initial weights


def problem(samples: int, sizes: list[int]) -> tuple[Any, Any, list[list[list[float]]], list[list[float]]]:
    """X (samples, sizes[0]), y in {-1, +1}, and per layer the weight rows and biases."""
    import numpy as np

    from tinygrad_w import nn
    from tinygrad_w.train import data

    if sizes[0] == 2:
        X, y = data.moons(samples, noise=0.1, seed=0)
        y = (
            np.where(np.asarray(y) > 0, 1.0, -1.0)
            if set(np.unique(y)) <= {0.0, 1.0}
            else np.asarray(y, float)
        )
    else:  # a deeper model gets random features and labels
        rng = np.random.default_rng(0)
        X = rng.normal(size=(samples, sizes[0]))
        y = np.where(rng.normal(size=samples) > 0, 1.0, -1.0)
    model = nn.MLP(sizes[0], sizes[1:], seed=0)
    weights = [[[w.data for w in neuron.w] for neuron in layer.neurons] for layer in model.layers]
    biases = [[neuron.b.data for neuron in layer.neurons] for layer in model.layers]
    return np.asarray(X, dtype=float), np.asarray(y, dtype=float), weights, biases


def learning_rate(k: int, steps: int = 100) -> float:
    return 1.0 - 0.9 * (k % steps) / steps  # micrograd's demo schedule (restarting after 100 steps)


# ----------------------------------------------------------------------------------------------------
# Contenders: each returns a function doing one training step (k = the step number)


def micrograd_step(samples: int, sizes: list[int]) -> Any:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    X, y, weights, biases = problem(samples, sizes)
    model = MLP(sizes[0], sizes[1:])
    for layer, rows, bs in zip(model.layers, weights, biases):
        for neuron, row, b in zip(layer.neurons, rows, bs):
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = b
    params = model.parameters()
    rows, labels = X.tolist(), y.tolist()

    def step(k: int) -> float:
        scores = [model(list(map(Value, row))) for row in rows]  # micrograd's demo wraps inputs in Values
        losses = [(1 + -label * score).relu() for label, score in zip(labels, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        return float(loss.data)

    # micrograd's recursive topological sort needs a deep stack once the graph is deep (a big model).
    return lambda k: in_big_thread(lambda: step(k))


def tinygrad_model(samples: int, sizes: list[int], fused: bool) -> Any:
    from tinygrad_w import nn

    X, y, _, _ = problem(samples, sizes)
    model = nn.MLP(sizes[0], sizes[1:], seed=0, fused=fused)
    return X, y, model, model.parameters()


def tinygrad_scalar_step(samples: int, sizes: list[int], fused: bool = False) -> Any:
    X, y, model, params = tinygrad_model(samples, sizes, fused)
    rows, labels = X.tolist(), y.tolist()

    def step(k: int) -> float:
        scores = [model(row) for row in rows]
        losses = [(1.0 - label * score).relu() for label, score in zip(labels, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        for p in params:
            p.grad = 0.0
        loss.backward()
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        return float(loss.data)

    return step


def tinygrad_batched_step(samples: int, sizes: list[int], fused: bool = False) -> Any:
    from tinygrad_w import batched

    X, y, model, params = tinygrad_model(samples, sizes, fused)

    def sample_loss(x: Any, label: Any) -> Any:
        return (1.0 - label * model(x)).relu()

    replay = batched.compile(
        sample_loss, params, X[0], y[0], penalty=lambda: ALPHA * sum(p * p for p in params)
    )

    def step(k: int) -> float:
        for p in params:
            p.grad = 0.0
        loss = replay.step(X, y)
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        return loss

    return step


def torch_step(samples: int, sizes: list[int]) -> Any:
    import torch

    torch.set_num_threads(1)
    X, y, weights, biases = problem(samples, sizes)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    params = []
    for rows, bs in zip(weights, biases):
        params.append(torch.tensor(rows, dtype=torch.float64, requires_grad=True))
        params.append(torch.tensor(bs, dtype=torch.float64, requires_grad=True))

    def step(k: int) -> float:
        h = Xt
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = torch.relu(h)
        loss = torch.relu(1.0 - yt * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            lr = learning_rate(k)
            for p in params:
                p -= lr * p.grad
        return float(loss.item())

    return step


def numpy_step(samples: int, sizes: list[int]) -> Any:
    """The same step written by hand with numpy matrices: the floor for this problem size."""
    import numpy as np

    X, y, weights, biases = problem(samples, sizes)
    Ws = [np.array(rows) for rows in weights]
    bs = [np.array(b) for b in biases]
    n = len(y)

    def step(k: int) -> float:
        activations, pre = [X], []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = activations[-1] @ W.T + b
            pre.append(z)
            activations.append(np.maximum(z, 0.0) if i + 1 < len(Ws) else z)
        margins = 1.0 - y * activations[-1][:, 0]
        loss = np.maximum(margins, 0.0).mean() + ALPHA * sum(
            (W * W).sum() + (b * b).sum() for W, b in zip(Ws, bs)
        )
        upstream = ((margins > 0) * -y / n)[:, None]
        for i in reversed(range(len(Ws))):
            if i + 1 < len(Ws):
                upstream = upstream * (pre[i] > 0)
            grad_W = upstream.T @ activations[i] + 2 * ALPHA * Ws[i]
            grad_b = upstream.sum(axis=0) + 2 * ALPHA * bs[i]
            upstream = upstream @ Ws[i]
            Ws[i] -= learning_rate(k) * grad_W
            bs[i] -= learning_rate(k) * grad_b
        return float(loss)

    return step


BUILDERS: dict[str, Any] = {
    "micrograd": micrograd_step,
    "tinygrad_w scalar": tinygrad_scalar_step,
    "tinygrad_w fused": lambda s, z: tinygrad_scalar_step(s, z, fused=True),
    "tinygrad_w batched": tinygrad_batched_step,
    "tinygrad_w batched fused": lambda s, z: tinygrad_batched_step(s, z, fused=True),
    "torch": torch_step,
    "numpy (by hand)": numpy_step,
}


def worker(name: str) -> Any:
    """A worker: ``--samples N --sizes a,b,c --repeat R --demo STEPS``."""

    def run(argv: list[str]) -> dict[str, Any]:
        parser = argparse.ArgumentParser()
        parser.add_argument("--samples", type=int, default=100)
        parser.add_argument("--sizes", default="2,16,16,1")
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--demo", type=int, default=0)
        args = parser.parse_args(argv)
        sizes = [int(s) for s in args.sizes.split(",")]
        started = time.perf_counter()
        step = BUILDERS[name](args.samples, sizes)
        setup = time.perf_counter() - started
        if args.demo:  # the whole training run, set-up (and compiling) included
            losses = [step(k) for k in range(args.demo)]
            return {"demo": time.perf_counter() - started, "setup": setup, "final_loss": losses[-1]}
        first_loss = step(0)  # warm-up; also the loss every contender must agree on
        times: list[float] = []
        budget = time.perf_counter() + 3.0  # at most ~3 s of timed steps per process, at least 3 steps
        for k in range(1, args.repeat + 1):
            t0 = time.perf_counter()
            step(k)
            times.append(time.perf_counter() - t0)
            if len(times) >= 3 and t0 > budget:
                break
        times.sort()
        return {"step": times[len(times) // 2], "setup": setup, "first_loss": first_loss}

    return run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="processes per contender (median taken)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller deep model")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    script = __file__
    print(f"machine: {machine()}")
    print("moons step: 100 samples, MLP 2-16-16-1, hinge + 1e-4·Σp², forward + backward + SGD update")

    fast = [c for c in CONTENDERS if c != "micrograd"]
    results = compare(script, ["micrograd"], ["--repeat", "3"], rounds)
    results.update(compare(script, fast, ["--repeat", "200"], rounds))
    results = {name: results[name] for name in CONTENDERS}
    step = timing_table("moons training step (median per step)", results, "step", "micrograd", "torch")
    losses = {name: runs[0].get("first_loss") for name, runs in results.items()}
    print(
        "first-step loss per contender (must agree):",
        {k: round(v, 12) for k, v in losses.items() if v is not None},
    )

    demo_names = [c for c in CONTENDERS if c != "micrograd"]
    demo = compare(script, demo_names, ["--demo", "100"], rounds)
    rows = [
        [
            "micrograd (100 × median step)",
            format_seconds(100 * step["micrograd"]) if step["micrograd"] else "-",
            "-",
        ]
    ]
    demo_medians: dict[str, float | None] = {}
    for name in demo_names:
        times = sorted(run["demo"] for run in demo[name] if "demo" in run)
        demo_medians[name] = times[len(times) // 2] if times else None
        final = demo[name][0].get("final_loss")
        rows.append([name, format_seconds(demo_medians[name]), f"{final:.6f}" if final is not None else "-"])
    print_table(
        "full moons demo, 100 steps (set-up and compiling included)",
        ["contender", "median", "final loss"],
        rows,
    )

    sizes = "8,32,32,32,32,32,1" if not args.quick else "8,32,32,1"
    deep_names = ["micrograd", "tinygrad_w scalar", "tinygrad_w fused", "tinygrad_w batched", "torch"]
    deep = compare(script, ["micrograd"], ["--samples", "32", "--sizes", sizes, "--repeat", "3"], rounds)
    deep.update(
        compare(script, deep_names[1:], ["--samples", "32", "--sizes", sizes, "--repeat", "30"], rounds)
    )
    deep_step = timing_table(
        f"deep MLP {sizes.replace(',', '-')}, 32 samples, one step", deep, "step", "micrograd", "torch"
    )
    return {"step": step, "demo": demo_medians, "deep": deep_step}


if __name__ == "__main__" and not worker_main({name: worker(name) for name in BUILDERS}):
    main()
