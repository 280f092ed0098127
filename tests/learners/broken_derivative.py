"""A learner's engine with one bug: tanh's derivative written 1 - tanh(x) instead of 1 - tanh(x)²."""

from pathlib import Path

exec(Path(__file__).with_name("correct.py").read_text(encoding="utf-8"), globals())

DERIVATIVE["tanh"] = lambda out, x: (1.0 - out,)  # noqa: F821 (DERIVATIVE comes from correct.py)
