"""Write every demo of demos/ as a Jupyter notebook.

    python notebooks/build.py [--out DIR]        (default: this folder, notebooks/)

The notebooks are generated from the demos' source each time, never edited by hand, so they cannot
drift from the demos: edit a demo and build again. A notebook has

1. the demo's docstring, as text;
2. a settings cell: the demos/ folder on sys.path (for demos/_common.py), ``QUICK`` (the demo's
   ``--quick`` mode, True by default: seconds instead of minutes) and ``OUT``, where the figures go;
3. the demo's code, one cell per function or class (imports and constants together), without its
   ``if __name__ == "__main__":`` lines;
4. a cell that runs ``main()`` as the command line would (``--quick --out OUT``);
5. a cell that shows every figure the demo wrote.

tests/test_notebooks.py builds and runs every notebook in ``make test``. Needs nbformat (in the dev
extras); running them needs a Jupyter kernel (ipykernel) and, to open them, Jupyter itself.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "demos"

SHOW_FIGURES = """\
from IPython.display import SVG, Image, display

for figure in [*sorted(OUT.glob("*.png")), *sorted(OUT.glob("*.svg"))]:
    print(figure.name)
    display(Image(filename=figure) if figure.suffix == ".png" else SVG(filename=figure))"""


def demos(folder: Path = DEMOS) -> list[Path]:
    """The demos: every demos/*.py but the shared helpers (names starting with _)."""
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":``"""
    return (
        isinstance(node, ast.If)
        and "__name__" in ast.unparse(node.test)
        and "__main__" in ast.unparse(node.test)
    )


def code_cells(source: str) -> Iterator[str]:
    """The module's statements as cells: each function or class alone, the statements between them
    together (as written, blank lines and all); the docstring, ``from __future__`` imports and the main
    guard left out. Comments just above a statement go with it."""
    lines = source.splitlines()
    body = ast.parse(source).body
    span: list[int] = []  # first and last line (0-based, end exclusive) of the statements gathered
    for index, node in enumerate(body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring: the first cell shows it as text
        if (isinstance(node, ast.ImportFrom) and node.module == "__future__") or is_main_guard(node):
            continue
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        end = node.end_lineno or node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if span:
                yield "\n".join(lines[span[0] : span[1]])
                span = []
            yield "\n".join(lines[start:end])
        else:
            span = [span[0] if span else start, end]
    if span:
        yield "\n".join(lines[span[0] : span[1]])


def settings_cell(demo: Path, notebook_folder: Path, source: str) -> str:
    relative = Path(os.path.relpath(demo.parent, notebook_folder)).as_posix()
    docstring = ast.get_docstring(ast.parse(source), clean=False) or ""
    future = (
        "from __future__ import annotations\n\n" if "from __future__ import annotations" in source else ""
    )
    return (
        f"{future}# Generated from demos/{demo.name} by notebooks/build.py: edit the demo, not this notebook.\n"
        "import sys\nfrom pathlib import Path\n\n"
        f'sys.path.insert(0, str(Path("{relative}").resolve()))  # the demo imports demos/_common.py\n'
        "QUICK = True  # the demo's --quick mode: a few seconds; False runs the full experiment\n"
        f'OUT = Path("out") / "{demo.stem}"  # where the demo writes its figures and numbers\n'
        f"__doc__ = {docstring!r}"
    )


def run_cell(demo: Path, source: str) -> str:
    """main() with the command line the demo would get: --quick and --out for demos that read them."""
    flags = ', *(["--quick"] if QUICK else []), "--out", str(OUT)' if "parse_args(" in source else ""
    return (
        f'sys.argv = ["{demo.name}"{flags}]\n'
        "status = main()\n"
        'assert status in (0, None), f"main() returned {status}"'
    )


def notebook(demo: Path, notebook_folder: Path) -> nbformat.NotebookNode:
    """The demo as a notebook whose cells run from ``notebook_folder``."""
    source = demo.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    cells = [
        new_markdown_cell(f"# demos/{demo.name}\n\n{docstring}"),
        new_code_cell(settings_cell(demo, notebook_folder, source)),
        *(new_code_cell(cell) for cell in code_cells(source)),
        new_code_cell(run_cell(demo, source)),
        new_code_cell(SHOW_FIGURES),
    ]
    book = new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    return book


def build(out: Path, demo_folder: Path = DEMOS) -> list[Path]:
    """Write a notebook for every demo into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for demo in demos(demo_folder):
        path = out / f"{demo.stem}.ipynb"
        book = notebook(demo, out)
        nbformat.validate(book)
        temporary = path.with_name(path.name + ".tmp")
        nbformat.write(book, str(temporary))
        temporary.replace(path)  # atomically: a reader never sees half a notebook
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notebooks/build.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="folder for the notebooks"
    )
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
