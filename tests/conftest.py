"""Shared test set-up: Hypothesis profiles, and the rule that a test needing `dot` fails in CI instead of skipping."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Timing on a shared 2-core machine is noisy, so no per-example deadline. CI runs derandomized so that a
# red build is reproducible; locally every run explores new examples.
settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", deadline=None, max_examples=100, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "default"))


def require_tool(name: str) -> str:
    """Path of an external program a test needs: skip without it locally, fail without it in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"the {name!r} program is not installed (Debian: apt-get install graphviz)"
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test, not skip it")
        pytest.skip(message)
    return path


@pytest.fixture
def dot_binary() -> str:
    """Use in any test that runs Graphviz's `dot`."""
    return require_tool("dot")
