"""The scalar moons step in a notebook-like process: numpy, scipy, scikit-learn and matplotlib imported (a
big heap of long-lived objects), the garbage collector on, as a user runs it.

Contenders: micrograd 0.1.0, tinygrad_w's scalar graph with the collector on, and the same with the collector
off (the target: within 1.3x of it). A second table shows where the collector's time goes during one step:
collections per generation and their time (gc.callbacks), and how many objects each node adds to the
collector's lists.

    python benchmarks/bench_notebook.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_moons
from _harness import compare, format_seconds, machine, print_table, timing_table, worker_main

NAMES = ["micrograd", "tinygrad_w scalar", "tinygrad_w scalar, GC off"]


def notebook_heap() -> int:
    """Import what a data-science notebook imports; return the number of objects the collector tracks."""
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import scipy.optimize
    import scipy.stats  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    return len(gc.get_objects())


def worker(name: str) -> Any:
    def run(argv: list[str]) -> dict[str, Any]:
        tracked = notebook_heap()
        builder = "micrograd" if name == "micrograd" else "tinygrad_w scalar"
        step = bench_moons.BUILDERS[builder](100, [2, 16, 16, 1])
        if name.endswith("GC off"):
            gc.disable()
        first = step(0)
        times = []
        for k in range(1, 8 if name == "micrograd" else 30):
            started = time.perf_counter()
            step(k)
            times.append(time.perf_counter() - started)
        times.sort()
        return {"step": times[len(times) // 2], "first_loss": first, "heap": tracked}

    return run


def collector_worker(argv: list[str]) -> dict[str, Any]:
    """Where the collector's time goes in one tinygrad_w scalar step (GC on, notebook heap)."""
    from tinygrad_w import Value

    notebook_heap()
    step = bench_moons.BUILDERS["tinygrad_w scalar"](100, [2, 16, 16, 1])
    step(0)
    counts, seconds, started = [0, 0, 0], [0.0, 0.0, 0.0], [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts[info["generation"]] += 1
            seconds[info["generation"]] += time.perf_counter() - started[0]

    gc.callbacks.append(watch)
    total = time.perf_counter()
    step(1)
    total = time.perf_counter() - total
    gc.callbacks.remove(watch)
    # Objects per node the collector tracks: the Value and its tuple of inputs.
    a, b = Value(1.0), Value(2.0)
    node = a * b
    gc.collect()
    tracked = int(gc.is_tracked(node)) + int(gc.is_tracked(node.children))
    return {"counts": counts, "seconds": seconds, "step": total, "tracked_per_node": tracked}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    results = compare(__file__, NAMES, [], args.rounds)
    heap = next((run["heap"] for run in results["micrograd"] if "heap" in run), None)
    title = f"scalar moons step in a notebook-like process ({heap:,} objects tracked by the collector)"
    medians = timing_table(title, results, "step", "micrograd", "tinygrad_w scalar, GC off")
    run = compare(__file__, ["collector"], [], 1)["collector"][0]
    if "error" not in run:
        rows = [
            [f"generation {g}", str(run["counts"][g]), format_seconds(run["seconds"][g])] for g in range(3)
        ]
        print_table(
            f"the collector during one tinygrad_w scalar step ({format_seconds(run['step'])}); "
            f"{run['tracked_per_node']} tracked objects per node",
            ["collections", "count", "time"],
            rows,
        )
    return {"step": medians, "collector": run}


WORKERS = {name: worker(name) for name in NAMES}
WORKERS["collector"] = collector_worker

if __name__ == "__main__" and not worker_main(WORKERS):
    main()
