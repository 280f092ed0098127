"""The batched path as the work grows: steps at three sizes against PyTorch, compile time and memory.

1. Steps: 100 × 2-16-16-1, 1000 × 2-64-64-1 and 10,000 × 2-256-256-1 (hinge + 1e-4·Σp², forward,
   backward and SGD update, the step of bench_moons.py), for tinygrad_w batched (plain and fused models),
   PyTorch CPU float64 and the same step written by hand with numpy matrices (the floor). BLAS on one
   thread for every contender; the batched step is also run with numpy's default BLAS threading (what a
   user gets without setting anything). tinygrad_w.batched keeps freed memory in the process (glibc's
   malloc, see compiler.py: without it a step re-faults its pages); the numpy floor runs with the same
   malloc setting, and PyTorch both as shipped and with it.
2. Compile: ``batched.compile`` of an MLP 2-W-W-1 for growing W, each in a fresh process: seconds and
   the process's peak memory.
3. Memory of a compiled loss: bytes per parameter held after compiling (the traced graph and the plan),
   and bytes per sample at the peak of a step (tracemalloc, in a process of its own).

    python benchmarks/bench_scale.py [--rounds 3] [--widths 32,64,128,256,512,1024] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_moons
from _harness import compare, format_seconds, machine, median_of, print_table, worker_main

SIZES = [(100, "2,16,16,1"), (1000, "2,64,64,1"), (10_000, "2,256,256,1")]
CONTENDERS = {  # name in the table: (builder in bench_moons, BLAS threads)
    "tinygrad_w batched": ("tinygrad_w batched", "one"),
    "tinygrad_w batched fused": ("tinygrad_w batched fused", "one"),
    "tinygrad_w batched, numpy's default threads": ("tinygrad_w batched", "default"),
    "tinygrad_w batched fused, numpy's default threads": ("tinygrad_w batched fused", "default"),
    "torch": ("torch", "one"),
    "torch, malloc set as tinygrad_w sets it": ("torch", "one+malloc"),
    "numpy (by hand)": ("numpy (by hand)", "one+malloc"),
}


def _rss_bytes() -> int:
    """The resident memory of this process now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def _hinge_model(width: int, fused: bool) -> tuple[Any, Any, list[Any]]:
    from tinygrad_w import nn

    model = nn.MLP(2, [width, width, 1], seed=0, fused=fused)
    params = model.parameters()

    def sample_loss(x: Any, label: Any) -> Any:
        return (1.0 - label * model(x)).relu()

    return model, sample_loss, params


def compile_worker(argv: list[str]) -> dict[str, Any]:
    """``--width W [--fused]``: seconds and peak memory of one compile."""
    from tinygrad_w import batched

    width, fused = int(argv[argv.index("--width") + 1]), "--fused" in argv
    _, sample_loss, params = _hinge_model(width, fused)
    before = _rss_bytes()
    started = time.perf_counter()
    replay = batched.compile(
        sample_loss, params, [0.5, -0.5], 1.0, penalty=lambda: 1e-4 * sum(p * p for p in params)
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "compile": seconds,
        "peak": peak,
        "extra": peak - before,
        "params": len(params),
        "steps": replay.steps,
    }


def memory_worker(argv: list[str]) -> dict[str, Any]:
    """``--width W --samples N``: bytes held per parameter after compiling, bytes per sample in a step."""
    import numpy as np

    from tinygrad_w import batched

    width, samples = int(argv[argv.index("--width") + 1]), int(argv[argv.index("--samples") + 1])
    _, sample_loss, params = _hinge_model(width, False)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(samples, 2)), np.where(rng.normal(size=samples) > 0, 1.0, -1.0)
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    replay = batched.compile(
        sample_loss, params, [0.5, -0.5], 1.0, penalty=lambda: 1e-4 * sum(p * p for p in params)
    )
    held = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.reset_peak()
    before_step = tracemalloc.get_traced_memory()[0]
    replay.step(X, y)
    step_peak = tracemalloc.get_traced_memory()[1] - before_step
    tracemalloc.stop()
    return {"per_param": held / len(params), "per_sample": step_peak / samples, "params": len(params)}


def steps_table(rounds: int) -> dict[str, dict[str, float | None]]:
    """Median step per contender and size; ratios to PyTorch and to the numpy floor."""
    medians: dict[str, dict[str, float | None]] = {}
    for samples, sizes in SIZES:
        args = ["--samples", str(samples), "--sizes", sizes, "--repeat", "200"]
        threads = {name: t for name, (_, t) in CONTENDERS.items()}
        results = compare(__file__, list(CONTENDERS), args, rounds, threads)
        step = {name: median_of(runs, "step") for name, runs in results.items()}
        medians[f"{samples} × {sizes.replace(',', '-')}"] = step
        torch, floor = step.get("torch"), step.get("numpy (by hand)")
        rows = []
        for name, runs in results.items():
            value = step[name]
            error = next((run["error"][:60] for run in runs if "error" in run), "")
            rows.append([
                name, format_seconds(value) if value is not None else f"error: {error}", str(len(runs)),
                f"{value / torch:.2f}" if value and torch else "-", f"{value / floor:.2f}" if value and floor else "-",
            ])  # fmt: skip
        title = f"training step, {samples:,} samples × MLP {sizes.replace(',', '-')} (median)"
        print_table(title, ["contender", "median", "runs", "time / torch", "time / numpy floor"], rows)
    return medians


def compile_table(widths: list[int]) -> list[dict[str, Any]]:
    rows, found = [], []
    for width in widths:
        for fused in (False, True):
            args = ["--width", str(width)] + (["--fused"] if fused else [])
            run = compare(__file__, ["compile"], args, 1)["compile"][0]
            found.append({"width": width, "fused": fused, **run})
            if "error" in run:
                rows.append(
                    [
                        f"2-{width}-{width}-1",
                        "yes" if fused else "no",
                        "-",
                        f"error: {run['error'][:60]}",
                        "-",
                        "-",
                    ]
                )
                continue
            rows.append([
                f"2-{width}-{width}-1", "yes" if fused else "no", f"{run['params']:,}",
                format_seconds(run["compile"]), f"{run['peak'] / 2**20:,.0f} MB", f"{run['extra'] / 2**20:,.0f} MB",
            ])  # fmt: skip
    header = ["model", "fused", "parameters", "compile", "process peak", "peak growth while compiling"]
    print_table("batched.compile of hinge + 1e-4·Σp² (one fresh process each)", header, rows)
    return found


def memory_table(width: int, samples: int) -> dict[str, Any]:
    run = compare(__file__, ["memory"], ["--width", str(width), "--samples", str(samples)], 1)["memory"][0]
    if "error" in run:
        print(f"\nmemory: error: {run['error']}")
        return run
    print_table(
        f"memory of a compiled loss, MLP 2-{width}-{width}-1, {samples:,} samples (tracemalloc)",
        ["held after compiling, per parameter", "peak of one step, per sample"],
        [[f"{run['per_param']:,.0f} bytes", f"{run['per_sample']:,.0f} bytes"]],
    )
    return run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--widths", default="32,64,128,256,512,1024")
    parser.add_argument("--quick", action="store_true", help="one round, widths up to 256")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    widths = [int(w) for w in ("32,64,128,256" if args.quick else args.widths).split(",")]
    print(f"machine: {machine()}")
    summary = {"steps": steps_table(rounds), "compile": compile_table(widths)}
    summary["memory"] = memory_table(256, 10_000)
    return summary


WORKERS = {name: bench_moons.worker(builder) for name, (builder, _) in CONTENDERS.items()}
WORKERS.update({"compile": compile_worker, "memory": memory_worker})

if __name__ == "__main__" and not worker_main(WORKERS):
    main()
