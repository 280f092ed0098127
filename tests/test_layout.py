"""The architecture, checked: a small core that stands alone, one reverse-mode walk, no private name
crossing a module boundary, no function too long to read at once. (import-linter checks the layers.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_w"
CORE = PACKAGE / "core"
CORE_LIMIT = 300  # lines of code and docstrings; blank lines and comment-only lines do not count
FUNCTION_LIMIT = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def core_closure() -> list[Path]:
    """value.py and every core module it imports, directly or not, with the package's __init__."""
    todo, seen = [CORE / "value.py"], {CORE / "__init__.py"}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                todo += [CORE / f"{name}.py" for name in names if (CORE / f"{name}.py").exists()]
    return sorted(seen)


def counted_lines(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_the_core_a_learner_reads_is_at_most_300_lines() -> None:
    closure = core_closure()
    assert {p.name for p in closure} >= {"__init__.py", "value.py", "ops.py", "reverse.py", "errors.py"}
    total = sum(counted_lines(p) for p in closure)
    assert total <= CORE_LIMIT, {p.name: counted_lines(p) for p in closure}


def test_the_core_imports_only_the_standard_library_and_itself() -> None:
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            for top in tops:
                assert top in sys.stdlib_module_names or top == "__future__", f"{path.name} imports {top}"


def applies_derivative_rules(loop: ast.For) -> bool:
    """Does the loop's body ask for a derivative or a backward step, or pass a gradient through a pullback?"""
    for node in ast.walk(loop):
        if isinstance(node, ast.Attribute) and node.attr in ("derivative", "backward"):
            return True
        if isinstance(node, ast.Call) and "pullback" in ast.unparse(node.func):
            return True
    return False


def test_one_reverse_mode_loop_in_the_whole_package() -> None:
    """Every backward pass (backward, grad, the step-through drawings, the batched replay) runs the one
    walk in core/reverse.py: no other loop visits nodes in reverse and applies derivative rules."""
    loops = []
    for path in modules():
        for node in ast.walk(tree(path)):
            if (
                isinstance(node, ast.For)
                and any(
                    isinstance(call, ast.Call) and getattr(call.func, "id", "") == "reversed"
                    for call in ast.walk(node.iter)
                )
                and applies_derivative_rules(node)
            ):
                loops.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert [loop.split(":")[0] for loop in loops] == ["core/reverse.py"], loops


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = []
    for path in modules():
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("tinygrad_w")
            ):
                offenders += [
                    f"{path.relative_to(PACKAGE)}: {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def test_no_private_attribute_of_another_module_is_used() -> None:
    """``from tinygrad_w.x import y`` then ``y._name``: the same crossing, written as an attribute."""
    offenders = []
    for path in modules():
        module_tree = tree(path)
        imported_modules = {
            a.asname or a.name
            for node in ast.walk(module_tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinygrad_w")
            for a in node.names
            if (PACKAGE.parent / (node.module or "").replace(".", "/") / f"{a.name}.py").exists()
        }
        for node in ast.walk(module_tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []


def test_no_function_is_longer_than_60_lines() -> None:
    long = [
        f"{path.relative_to(PACKAGE)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in modules()
        for node in ast.walk(tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > FUNCTION_LIMIT
    ]
    assert long == []
