"""The benchmark runner shared by every bench_*.py script.

Each contender runs in its own Python process (micrograd's reference cycles would slow down anything that
shares its process), the contenders take turns (A B C, then C B A, ...) so that a busy moment of the
machine hits all of them, and each reports the median of its timed repetitions. Python's garbage
collector stays on, as users run it. A worker prints one JSON object on its last line of output.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """One line describing where the numbers come from."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"


# BLAS on one thread for every contender (numpy's OpenBLAS, and PyTorch through torch.set_num_threads).
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# glibc's malloc set as tinygrad_w.batched sets it for itself (blocks under 32 MB from the heap, up to 64 MB
# of free heap kept), for a contender that should run under the same conditions.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}


def run_worker(
    script: str, name: str, args: Sequence[str], timeout: float = 900, threads: str = "one"
) -> dict[str, Any]:
    """Run ``script --worker name args...`` in a fresh process; its last output line is JSON.
    ``threads="one"`` puts BLAS on one thread; ``"default"`` leaves numpy's own choice (what users get);
    a "+malloc" suffix also sets glibc's malloc as tinygrad_w.batched does (TUNED_MALLOC)."""
    command = [sys.executable, str(Path(script).resolve()), "--worker", name, *args]
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD and k not in TUNED_MALLOC}
    if threads.startswith("one"):
        env.update(ONE_THREAD)
    if threads.endswith("+malloc"):
        env.update(TUNED_MALLOC)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare(
    script: str, names: Sequence[str], args: Sequence[str], rounds: int, threads: dict[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` results per contender, the contenders alternating order from round to round.
    ``threads`` maps a contender to "default" to run it with numpy's default BLAS threading."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else list(reversed(names)):
            results[name].append(run_worker(script, name, args, threads=(threads or {}).get(name, "one")))
    return results


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    numbers = [run[key] for run in runs if key in run]
    return statistics.median(numbers) if numbers else None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def timing_table(
    title: str, results: dict[str, list[dict[str, Any]]], key: str, baseline: str, other: str | None = None
) -> dict[str, float | None]:
    """Print median times with the speed-up over ``baseline`` (and the ratio to ``other``); return medians."""
    medians = {name: median_of(runs, key) for name, runs in results.items()}
    base = medians.get(baseline)
    ref = medians.get(other) if other else None
    header = ["contender", "median", "runs", f"× faster than {baseline}"]
    if other:
        header.append(f"time / {other}")
    rows = []
    for name, runs in results.items():
        value = medians[name]
        errors = [run["error"] for run in runs if "error" in run]
        row = [
            name,
            format_seconds(value) if value is not None else f"error: {errors[0][:60]}",
            str(len(runs)),
        ]
        row.append(f"{base / value:.1f}×" if base and value else "-")
        if other:
            row.append(f"{value / ref:.2f}" if ref and value else "-")
        rows.append(row)
    print_table(title, header, rows)
    return medians


def worker_main(workers: dict[str, Callable[[list[str]], dict[str, Any]]]) -> bool:
    """If this process was started as a worker, run it, print its JSON and return True."""
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        result = workers[sys.argv[2]](sys.argv[3:])
        print(json.dumps(result))
        return True
    return False


def timed(function: Callable[[], Any], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``function()`` over ``repeat`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
