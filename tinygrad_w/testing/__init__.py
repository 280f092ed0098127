"""Gradient checking, for our own suite and for yours: finite differences (gradcheck.py), Hypothesis
strategies of random expressions (strategies.py, needs hypothesis) and a checker for an engine of
your own (adapter.py). They read graphs through the core's public API."""

from tinygrad_w.testing.gradcheck import (
    GradcheckError,
    GradientRow,
    central_difference,
    gradcheck,
    gradcheck_parameters,
    gradgradcheck,
    is_close,
    near_kinks_or_edges,
    numeric_gradient,
)

__all__ = [
    "GradcheckError",
    "GradientRow",
    "central_difference",
    "gradcheck",
    "gradcheck_parameters",
    "gradgradcheck",
    "is_close",
    "near_kinks_or_edges",
    "numeric_gradient",
]
