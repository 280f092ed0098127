"""Every tinygrad_w benchmark, one after the other: ``make bench`` runs this.

Tables: the moons training step (micrograd, tinygrad_w scalar / fused / batched, PyTorch, numpy), the
full 100-step moons demo, a deeper MLP, a long chain (time and bytes per node), a wide sum, the batched
path as the work grows (bench_scale.py) and the scalar step in a notebook-like heap (bench_notebook.py).
Each contender runs in its own process, alternating, median of several runs, garbage collector on.

    python benchmarks/bench_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_chain
import bench_moons
import bench_notebook
import bench_scale
import bench_wide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and a shorter chain")
    args = parser.parse_args()
    bench_moons.main(["--quick"] if args.quick else [])
    bench_chain.main(
        ["--n", "100000", "--rounds", "1"] if args.quick else ["--n", "1000000", "--rounds", "3"]
    )
    bench_wide.main(["--rounds", "2"] if args.quick else [])
    bench_scale.main(["--quick"] if args.quick else [])
    bench_notebook.main(["--rounds", "2"] if args.quick else [])


if __name__ == "__main__":
    main()
