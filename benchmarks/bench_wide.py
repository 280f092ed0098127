"""A wide expression: Σ_i a_i·b_i over many Value pairs, forward + backward.

tinygrad_w builds it node by node (one * and one + per pair, as micrograd does) or as one fused
``tinygrad_w.linear`` node. micrograd's recursive topological sort runs in a thread with a large stack.

    python benchmarks/bench_wide.py [--n 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, machine, timing_table, worker_main
from bench_chain import in_big_thread


def worker(name: str) -> Any:
    def run(argv: list[str]) -> dict[str, Any]:
        n = int(argv[argv.index("--n") + 1])
        if name == "micrograd":
            from micrograd.engine import Value
        else:
            from tinygrad_w import Value, linear
        a = [Value(0.001 * i) for i in range(n)]
        b = [Value(1.0 - 0.0005 * i) for i in range(n)]

        def work() -> dict[str, Any]:
            t0 = time.perf_counter()
            if name == "tinygrad_w linear":
                total = linear(a, b, 0.0)
            else:
                total = sum((x * y for x, y in zip(a, b)), Value(0.0))
            total.backward()
            return {"total": time.perf_counter() - t0, "value": total.data, "grad_a0": a[0].grad}

        return in_big_thread(work) if name == "micrograd" else work()

    return run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    names = ["micrograd", "tinygrad_w", "tinygrad_w linear"]
    results = compare(__file__, names, ["--n", str(args.n)], args.rounds)
    return timing_table(
        f"wide sum of {args.n:,} products, forward + backward (median)", results, "total", "micrograd"
    )


if __name__ == "__main__" and not worker_main(
    {name: worker(name) for name in ["micrograd", "tinygrad_w", "tinygrad_w linear"]}
):
    main()
