"""The ``tinygrad-w`` command (main.py) and the safe formula parser it reads expressions with (expr.py)."""

from tinygrad_w.cli.command import main
from tinygrad_w.cli.expr import parse, parse_with_inputs, variable_names

__all__ = ["main", "parse", "parse_with_inputs", "variable_names"]
