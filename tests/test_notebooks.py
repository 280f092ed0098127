"""Every demo runs as a Jupyter notebook, and the README's Jupyter claims hold.

The notebooks are generated from demos/*.py by notebooks/build.py (so a new demo is covered as soon as
it exists) and executed in a real Jupyter kernel with nbclient, each demo in its --quick mode. A cell
that raises fails the test. Then: every figure the demo wrote is shown by the last cell; a drawing
displays inline as SVG; and without Graphviz's dot it shows its DOT source instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
CELL_SECONDS = 240  # a quick demo takes a few seconds; this only stops a hang


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebook_builder", ROOT / "notebooks" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = load_builder()
DEMO_NAMES = [demo.stem for demo in BUILD.demos()]


def execute(book: nbformat.NotebookNode, folder: Path, env: dict[str, str] | None = None) -> None:
    """Run every cell in a fresh python3 kernel started in ``folder``; a cell that raises fails."""
    client = NotebookClient(
        book, timeout=CELL_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env) if env is not None else client.execute()


def outputs(cell: nbformat.NotebookNode, mime: str) -> list[Any]:
    return [o["data"][mime] for o in cell.get("outputs", []) if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks")
    BUILD.build(folder)
    return folder


def test_there_is_a_notebook_for_every_demo(built: Path) -> None:
    assert DEMO_NAMES, "no demos found"
    assert sorted(p.stem for p in built.glob("*.ipynb")) == sorted(DEMO_NAMES)
    assert "*.ipynb" in (ROOT / "notebooks" / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_the_demo_runs_as_a_notebook(name: str, built: Path) -> None:
    book = nbformat.read(str(built / f"{name}.ipynb"), as_version=4)
    nbformat.validate(book)
    execute(book, built)
    written = [p.name for p in sorted((built / "out" / name).glob("*")) if p.suffix in (".png", ".svg")]
    shown = book.cells[-1]
    images = outputs(shown, "image/png") + outputs(shown, "image/svg+xml")
    assert len(images) == len(written), f"{name}: wrote {written}, showed {len(images)} images"
    printed = "".join(o.get("text", "") for c in book.cells for o in c.get("outputs", []))
    assert printed.strip(), f"{name} printed nothing"


def test_the_notebook_code_is_the_demo_code(built: Path) -> None:
    """Every function of a demo appears in its notebook as written: the notebook cannot drift."""
    for name in DEMO_NAMES:
        source = (ROOT / "demos" / f"{name}.py").read_text(encoding="utf-8")
        book = nbformat.read(str(built / f"{name}.ipynb"), as_version=4)
        code = "\n".join(cell.source for cell in book.cells if cell.cell_type == "code")
        for cell in BUILD.code_cells(source):
            assert cell in code and cell in source


DRAWINGS = """\
from tinygrad_w import Value, nn, viz

x, y = Value(0.5, "x"), Value(-1.5, "y")
f = (x * y + x).tanh()
f.backward()
model = nn.MLP(2, [3, 1], activation="tanh", seed=0)"""


def drawing_notebook() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_code_cell(DRAWINGS),
            new_code_cell("viz.draw_graph(f)"),
            new_code_cell("viz.draw_network(model)"),
        ]
    )


def test_a_drawing_displays_inline_as_svg(tmp_path: Path, dot_binary: str) -> None:
    book = drawing_notebook()
    execute(book, tmp_path)
    for cell in book.cells[1:]:
        (svg,) = outputs(cell, "image/svg+xml")
        assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert "tanh" in outputs(book.cells[1], "image/svg+xml")[0]


def test_without_dot_a_drawing_shows_its_dot_source(tmp_path: Path) -> None:
    book = drawing_notebook()
    python_only = str(Path(sys.executable).parent)  # the kernel's own Python, but no dot on the PATH
    execute(book, tmp_path, env={**os.environ, "PATH": python_only})
    (page,) = outputs(book.cells[1], "text/html")
    assert "Graphviz&#x27;s dot program is not available" in page or "dot program is not available" in page
    assert "digraph" in page
    assert not outputs(book.cells[1], "image/svg+xml")
