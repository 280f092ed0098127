"""The benchmarks compare like with like: every contender of the moons step, given the same data and the same
initial weights, computes the same losses step after step (timing is left to ``make bench``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_moons


@pytest.mark.parametrize("name", sorted(bench_moons.BUILDERS))
@pytest.mark.parametrize("sizes", [[2, 4, 4, 1], [2, 8, 1]])
def test_every_moons_contender_takes_the_same_steps(name: str, sizes: list[int]) -> None:
    if name == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (make bench installs the CPU wheel)")
    reference = bench_moons.BUILDERS["numpy (by hand)"](20, sizes)
    contender = bench_moons.BUILDERS[name](20, sizes)
    expected = [reference(k) for k in range(4)]
    assert [contender(k) for k in range(4)] == pytest.approx(expected, rel=1e-12, abs=1e-12)
