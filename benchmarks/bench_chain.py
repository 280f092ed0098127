"""A long chain x·1.0000001·1.0000001·...: time to build and to backpropagate, and bytes per node.

micrograd's topological sort is recursive, so it runs here in a thread with a large stack and a raised
recursion limit (without them it stops near 1,000 nodes). Memory is measured with tracemalloc in a
process of its own (tracing slows everything down, so it is never mixed with timing).

    python benchmarks/bench_chain.py [--n 1000000] [--rounds 3] [--longest 10000000]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, format_seconds, machine, print_table, timing_table, worker_main

FACTOR = 1.0000001


def value_class(name: str) -> Any:
    if name.startswith("micrograd"):
        from micrograd.engine import Value

        return Value
    from tinygrad_w import Value

    return Value


def build(value: Any, n: int) -> tuple[Any, Any]:
    x = value(1.0)
    y = x
    for _ in range(n):
        y = y * FACTOR
    return x, y


def in_big_thread(function: Any) -> Any:
    """Run function() in a thread with a 1 GB stack and no practical recursion limit (for micrograd)."""
    result: dict[str, Any] = {}
    sys.setrecursionlimit(10**8)
    threading.stack_size(1 << 30)

    def target() -> None:
        try:
            result["value"] = function()
        except BaseException as exc:  # reported, not raised, so the table still prints
            result["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise RuntimeError(result["error"])
    return result["value"]


def time_worker(name: str) -> Any:
    def run(argv: list[str]) -> dict[str, Any]:
        n = int(argv[argv.index("--n") + 1])
        value = value_class(name)

        def work() -> dict[str, Any]:
            t0 = time.perf_counter()
            x, y = build(value, n)
            t1 = time.perf_counter()
            y.backward()
            t2 = time.perf_counter()
            return {"build": t1 - t0, "backward": t2 - t1, "total": t2 - t0, "grad": x.grad}

        return in_big_thread(work) if name.startswith("micrograd") else work()

    return run


def memory_worker(name: str) -> Any:
    def run(argv: list[str]) -> dict[str, Any]:
        n = int(argv[argv.index("--n") + 1])
        value = value_class(name)

        def work() -> dict[str, Any]:
            tracemalloc.start()
            _, y = build(value, n)
            graph_bytes = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            y.backward()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return {"bytes_per_node": graph_bytes / n, "backward_peak_per_node": peak / n}

        return in_big_thread(work) if name.startswith("micrograd") else work()

    return run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="chain length")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--longest", type=int, default=0, help="also try one chain of this length")
    args = parser.parse_args(argv)
    script = __file__
    print(f"machine: {machine()}")
    names = ["micrograd", "tinygrad_w"]
    results = compare(script, names, ["--n", str(args.n)], args.rounds)
    title = f"chain of {args.n:,} multiplications: build + backward (median)"
    timing_table(title, results, "total", "micrograd")
    rows = []
    for name in names:
        runs = [r for r in results[name] if "build" in r]
        if runs:
            mid = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]
            rows.append(
                [name, format_seconds(mid["build"]), format_seconds(mid["backward"]), f"{mid['grad']:.9f}"]
            )
    print_table("  split", ["contender", "build", "backward", "∂y/∂x"], rows)

    # Bytes per node do not depend on the length; micrograd under tracemalloc is slow, so it gets 100,000.
    lengths = {"micrograd memory": min(args.n, 100_000), "tinygrad_w memory": args.n}
    memory = {name: compare(script, [name], ["--n", str(n)], 1)[name] for name, n in lengths.items()}
    rows = []
    for name, runs in memory.items():
        run = runs[0]
        if "error" in run:
            rows.append([name, f"{lengths[name]:,}", f"error: {run['error'][:60]}", "-"])
        else:
            per_node, peak = f"{run['bytes_per_node']:.1f}", f"{run['backward_peak_per_node']:.1f}"
            rows.append([name, f"{lengths[name]:,}", per_node, peak])
    print_table(
        "memory per node in a chain (tracemalloc)",
        ["contender", "chain length", "bytes per node (graph)", "extra peak during backward, per node"],
        rows,
    )
    summary: dict[str, Any] = {"bytes_per_node": memory["tinygrad_w memory"][0].get("bytes_per_node")}
    if args.longest:
        run = compare(script, ["tinygrad_w"], ["--n", str(args.longest)], 1)["tinygrad_w"][0]
        shown = format_seconds(run.get("total")) if "total" in run else f"error: {run.get('error')}"
        print(f"\nlongest chain tried: {args.longest:,} nodes, build + backward {shown}")
        summary["longest"] = run
    return summary


WORKERS = {
    "micrograd": time_worker("micrograd"),
    "tinygrad_w": time_worker("tinygrad_w"),
    "micrograd memory": memory_worker("micrograd"),
    "tinygrad_w memory": memory_worker("tinygrad_w"),
}

if __name__ == "__main__" and not worker_main(WORKERS):
    main()
