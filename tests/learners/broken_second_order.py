"""A learner's engine with one bug that only second derivatives show: sigmoid's derivative computed with
math.exp, which turns a Value into a plain float, so the rule leaves the graph. First derivatives are
right; the derivative of the derivative misses sigmoid's curvature."""

import math
from pathlib import Path

exec(Path(__file__).with_name("correct.py").read_text(encoding="utf-8"), globals())

DERIVATIVE["sigmoid"] = lambda out, x: (math.exp(-x) / (1.0 + math.exp(-x)) ** 2,)  # noqa: F821
