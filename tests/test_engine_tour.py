"""The engine tour demo runs and its printed gradients agree with its finite differences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demos" / "engine_tour.py"


def test_engine_tour_runs_and_its_two_columns_agree() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, check=True, timeout=60
    )
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("x ", "y "))]
    assert len(rows) == 2
    for _, analytic, numeric in rows:
        assert abs(float(analytic) - float(numeric)) <= 1e-5 + 1e-3 * abs(float(numeric))
    assert "DomainError: log(0.0)" in result.stdout
    assert "OperationZeroDivisionError: div(1.0, 0.0)" in result.stdout
