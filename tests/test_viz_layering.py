"""The drawings' place in the package: viz reads graphs through the core and networks through its own
protocol (never importing nn, train or batched), no module takes another's private name, and every
function is short enough to read. Checked on the source with ast, so a regression names the line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIZ = sorted((ROOT / "tinygrad_w" / "viz").glob("*.py"))
VIZ_TESTS = [ROOT / "tests" / name for name in ("test_viz.py", "test_viz_network.py", "test_stepper.py")]
FORBIDDEN = (
    "tinygrad_w.nn",
    "tinygrad_w.train",
    "tinygrad_w.batched",
    "tinygrad_w.testing",
    "tinygrad_w.cli",
)
MAX_FUNCTION_LINES = 60


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def private_imports(tree: ast.AST) -> list[str]:
    """``from tinygrad_w... import _name`` and ``module._name`` where ``module`` is an imported package
    module: another module's private name."""
    modules = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinygrad_w"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {
                (a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("tinygrad_w")
            }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr != "_repr_mimebundle_"  # Jupyter's display protocol, public by convention
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", VIZ, ids=lambda p: p.name)
def test_viz_imports_no_networks_training_or_batched_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"line {line}: {name}" for line, name in imported_modules(tree) if name.startswith(FORBIDDEN)]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", VIZ + VIZ_TESTS, ids=lambda p: p.name)
def test_no_private_name_crosses_a_module(path: Path) -> None:
    assert private_imports(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", VIZ, ids=lambda p: p.name)
def test_every_viz_function_fits_on_a_screen(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[operator]
    ]
    assert long == [], f"{path.name}: {long}"


def test_the_checks_see_what_they_look_for() -> None:
    sample = "from tinygrad_w.viz.text import _hidden\nimport tinygrad_w\nx = tinygrad_w._secret\n"
    assert private_imports(ast.parse(sample)) == [
        "line 1: from tinygrad_w.viz.text import _hidden",
        "line 3: tinygrad_w._secret",
    ]
    assert "tinygrad_w.nn.layers" in dict(imported_modules(ast.parse("import tinygrad_w.nn.layers"))).values()
