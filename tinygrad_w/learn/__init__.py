"""The exercise grader of the reading path (docs/learn): ``tinygrad-w learn check FILE``.

A learner writes an engine of their own, chapter by chapter, in a copy of
``docs/learn/exercises/engine.py``. :func:`tinygrad_w.learn.grader.check_file` grades the chapters in
order and stops at the first one that is not finished; for the engine it names the wrong op, the smallest
failing expression (shrunk by Hypothesis) and draws that expression with the learner's numbers. The
engine is checked with :mod:`tinygrad_w.testing.adapter`, the check-your-own-engine tool.

Modules: grader.py (the chapters in order), engine_chapters.py (1-4), model_chapters.py (5-6),
tool_chapters.py (7-8), search.py (the smallest failing expression), mirror.py (the learner's graph
next to the right numbers, blamed and drawn), loading.py, report.py, command.py (the subcommand).
This package needs Hypothesis (``pip install tinygrad-w[testing]``); importing it alone does not.
"""
