"""Graphviz: the drawing object Jupyter displays, running the ``dot`` program, and writing files.

Drawings are ``graphviz.Digraph`` objects (the ``graphviz`` package is imported only when a drawing is
made, so ``import tinygrad_w`` works without it). In Jupyter they display inline as SVG, and show their
DOT source instead of a traceback when ``dot`` is not installed.
"""

from __future__ import annotations

import functools
import html
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tinygrad_w.atomic import write_bytes_atomically
from tinygrad_w.errors import ArgumentError, OperandTypeError, RenderError

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "INSTALL_HINT",
    "RANKDIRS",
    "GraphvizMissingWarning",
    "HasSource",
    "check_settings",
    "make_drawing",
    "render",
    "run_graphviz",
    "svg_text",
    "write_file",
]

RANKDIRS = ("LR", "RL", "TB", "BT")
_FORMATS = ("svg", "png", "pdf", "dot", "gv")
_TIMEOUT_SECONDS = 600

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "Windows: winget install graphviz)"
)


class GraphvizMissingWarning(UserWarning):
    """Graphviz's ``dot`` program is not installed, so a drawing was saved as DOT source instead."""


class HasSource(Protocol):
    """A drawing: anything with DOT text in ``.source`` (a ``graphviz.Digraph``)."""

    @property
    def source(self) -> str: ...


def check_settings(where: str, decimals: object, rankdir: object) -> None:
    """The settings every drawing takes: digits after the point, and the direction of the layout."""
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 17:
        raise ArgumentError(f"{where}: decimals must be an int from 0 to 17, got {decimals!r}")
    if rankdir not in RANKDIRS:
        raise ArgumentError(f"{where}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")


@functools.lru_cache(maxsize=1)
def _drawing_class() -> type[Any]:
    """``graphviz.Digraph`` with a Jupyter display that shows the DOT source when ``dot`` is missing."""
    import graphviz

    class Drawing(graphviz.Digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph``: ``.source`` is the DOT text; in Jupyter it displays as SVG.

        When Graphviz's ``dot`` program is not installed, Jupyter shows the DOT source and how to
        install Graphviz instead of a traceback.
        """

        def _repr_mimebundle_(
            self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **kwargs: Any
        ) -> dict[str, Any]:
            try:
                bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
                return bundle
            except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError):
                note = f"Graphviz's dot program is not available, so here is the DOT source; {INSTALL_HINT}."
                return {
                    "text/plain": f"{note}\n\n{self.source}",
                    "text/html": f"<p>{html.escape(note)}</p><pre>{html.escape(self.source)}</pre>",
                }

    return Drawing


def make_drawing(name: str, body: list[str]) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` named ``name`` holding the DOT statements ``body``."""
    drawing: graphviz.Digraph = _drawing_class()(name=name, body=body)
    return drawing


def write_file(path: Path, data: bytes) -> None:
    """Create ``path``'s folder if needed, then write ``data`` atomically: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, data)


def run_graphviz(source: str, arguments: list[str], where: str, program: str = "dot") -> bytes | None:
    """Run a Graphviz program (``dot``, ``neato``) on DOT text; its output, or None when Graphviz is not
    installed. A failure raises :class:`RenderError` with Graphviz's own message."""
    executable = shutil.which(program)
    if executable is None:
        return None
    try:
        result = subprocess.run(
            [executable, *arguments],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=_TIMEOUT_SECONDS,
        )
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{where}: {program} took more than {_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        command = " ".join([program, *arguments])
        raise RenderError(f"{where}: {command} failed (exit {result.returncode}): {message}")
    return result.stdout


def render(graph: HasSource | str, path: str | os.PathLike[str]) -> Path:
    """Write a drawing (anything with ``.source``, or DOT text) to ``path``, by suffix: .svg .png .pdf .dot.

    The file is written atomically. When Graphviz's ``dot`` program is not installed, the DOT source is
    written next to ``path`` (same name, suffix ``.dot``), a :class:`GraphvizMissingWarning` says how to
    install Graphviz, and that ``.dot`` path is returned instead of raising.
    """
    source = graph if isinstance(graph, str) else getattr(graph, "source", None)
    if not isinstance(source, str):
        raise OperandTypeError(
            f"render: expected a drawing with .source or DOT text, got {type(graph).__name__}"
        )
    target = Path(path)
    file_format = target.suffix.lower().removeprefix(".")
    if file_format not in _FORMATS:
        raise ArgumentError(
            f"render: cannot tell the format of {str(target)!r}; use a suffix among .{', .'.join(_FORMATS)}"
        )
    if file_format in ("dot", "gv"):
        write_file(target, source.encode("utf-8"))
        return target
    picture = run_graphviz(source, [f"-T{file_format}"], f"render {target}")
    if picture is None:
        dot_path = target.with_suffix(".dot")
        write_file(dot_path, source.encode("utf-8"))
        warnings.warn(
            f"render: Graphviz's dot program was not found, so {target} was not drawn; its DOT source is in "
            f"{dot_path}. To draw it, {INSTALL_HINT}, then run: dot -T{file_format} {dot_path} -o {target}",
            GraphvizMissingWarning,
            stacklevel=2,
        )
        return dot_path
    write_file(target, picture)
    return target


def svg_text(graph: HasSource, where: str) -> str | None:
    """The SVG of a drawing as text (for pages that embed it), or None without ``dot``."""
    picture = run_graphviz(graph.source, ["-Tsvg"], where)
    return None if picture is None else picture.decode("utf-8")
