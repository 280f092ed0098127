"""A learner's engine with one bug: sub's forward computes b - a (the correct engine, then the bug)."""

from pathlib import Path

exec(Path(__file__).with_name("correct.py").read_text(encoding="utf-8"), globals())

FORWARD["sub"] = lambda a, b: b - a  # noqa: F821 (FORWARD comes from correct.py)
