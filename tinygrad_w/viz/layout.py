"""One Graphviz layout for many pictures of the same graph (the step-through's frames).

Laying out a graph is the slow part of Graphviz (seconds for a few hundred nodes); drawing nodes at
known places is fast. So :func:`lay_out` runs ``dot`` once and reads where every node and edge went,
and :func:`render_pinned` draws any number of variants (other labels and colours, same places) with one
run of ``neato -n2``, which skips the layout. Nodes keep the size they had in the layout
(``fixedsize``), so the layout should be made with each node's widest label.

Each variant may hold only the nodes that changed: every drawing includes two invisible corner nodes,
so that all of them share one coordinate system, and :func:`svg_parts` cuts an SVG into the pieces of
its nodes and edges (by their ``id``), ready to be swapped into another frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinygrad_w.errors import RenderError
from tinygrad_w.viz.dot import run_graphviz
from tinygrad_w.viz.figure import Figure, Node

__all__ = [
    "CORNERS",
    "FramePieces",
    "PinnedLayout",
    "SvgParts",
    "frame_pieces",
    "lay_out",
    "pinned_source",
    "render_pinned",
    "render_pinned_png",
    "svg_parts",
]

CORNERS = ("corner0", "corner1")  # invisible nodes at two corners of every pinned drawing
_POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class PinnedLayout:
    """Where things went: per node its ``pos`` (points), ``width`` and ``height`` (inches); per edge, in
    the figure's order, its ``pos`` (the spline) and ``lp`` (where its label goes, if it has one); the
    bounding box (x0, y0, x1, y1) in points."""

    nodes: dict[str, dict[str, str]]
    edges: list[dict[str, str]]
    box: tuple[float, float, float, float]

    def with_node(self, name: str, width: float, height: float, above: float) -> PinnedLayout:
        """The layout with one more node, ``width`` × ``height`` points, at the top left, ``above`` points
        above the rest (the bounding box grows to hold it)."""
        x0, y0, x1, y1 = self.box
        top = y1 + above + height
        nodes = dict(self.nodes)
        nodes[name] = {
            "pos": f"{x0 + width / 2:.2f},{top - height / 2:.2f}",
            "width": f"{width / _POINTS_PER_INCH:.4f}",
            "height": f"{height / _POINTS_PER_INCH:.4f}",
        }
        return PinnedLayout(nodes, self.edges, (x0, y0, max(x1, x0 + width), top))


def lay_out(figure: Figure, where: str) -> PinnedLayout | None:
    """Lay the figure out with ``dot`` once; None when Graphviz is not installed."""
    output = run_graphviz(figure.source(), ["-Tjson0"], where)
    if output is None:
        return None
    graph = json.loads(output)
    objects = graph.get("objects", [])
    nodes = {o["name"]: {key: o[key] for key in ("pos", "width", "height")} for o in objects if "pos" in o}
    placed: dict[tuple[str, str], list[dict[str, str]]] = {}
    for edge in graph.get("edges", []):
        ends = (objects[edge["tail"]]["name"], objects[edge["head"]]["name"])
        placed.setdefault(ends, []).append({key: edge[key] for key in ("pos", "lp") if key in edge})
    splines = [placed[(e.tail, e.head)].pop(0) for e in figure.edges()]  # a * a: two edges, in order
    x0, y0, x1, y1 = (float(x) for x in graph["bb"].split(","))
    return PinnedLayout(nodes, splines, (x0, y0, x1, y1))


def pinned_source(figure: Figure, layout: PinnedLayout, nodes: Sequence[Node], with_edges: bool) -> str:
    """DOT text that draws ``nodes`` (and the figure's edges, if asked) where the layout put them."""
    lines = [f"digraph {figure.name} {{\n", *(line + "\n" for line in figure.settings)]
    x0, y0, x1, y1 = layout.box
    for name, (x, y) in zip(CORNERS, ((x0, y0), (x1, y1))):
        lines.append(f'\t{name} [label="" style=invis fixedsize=true width=0.01 height=0.01 pos="{x},{y}"]\n')
    for node in nodes:
        pinned = {**layout.nodes[node.name], "fixedsize": "true", "id": node.name}
        lines.append(node.statement(pinned))
    if with_edges:
        for k, (edge, spline) in enumerate(zip(figure.edges(), layout.edges)):
            lines.append(edge.statement({**spline, "id": f"edge{k}"}))
    lines.append("}\n")
    return "".join(lines)


def render_pinned(sources: Sequence[str], where: str) -> list[str] | None:
    """SVG of each DOT text from :func:`pinned_source`, drawn by one run of ``neato -n2`` (no layout);
    None when Graphviz is not installed."""
    output = run_graphviz("".join(sources), ["-n2", "-Tsvg"], where, program="neato")
    if output is None:
        return None
    documents = ["<?xml" + part for part in output.decode("utf-8").split("<?xml")[1:]]
    if len(documents) != len(sources):
        raise RenderError(f"{where}: neato drew {len(documents)} pictures for {len(sources)} graphs")
    return documents


def render_pinned_png(sources: Sequence[str], where: str, dpi: float = 96.0) -> list[bytes] | None:
    """PNG of each DOT text from :func:`pinned_source`, drawn by one run of ``neato -n2`` at ``dpi``
    pixels per inch (rasterizing takes time in proportion to the pixels)."""
    output = run_graphviz("".join(sources), ["-n2", "-Tpng", f"-Gdpi={dpi:.1f}"], where, program="neato")
    if output is None:
        return None
    pictures = []
    start = 0
    while start < len(output):  # a PNG is its signature, then chunks (length, type, data, CRC) to IEND
        end = start + 8
        kind = b""
        while kind != b"IEND":
            if end + 8 > len(output):
                raise RenderError(f"{where}: neato's PNG output ends in the middle of a picture")
            length, kind = int.from_bytes(output[end : end + 4], "big"), output[end + 4 : end + 8]
            end += 12 + length
        pictures.append(output[start:end])
        start = end
    if len(pictures) != len(sources) or not all(p.startswith(b"\x89PNG") for p in pictures):
        raise RenderError(f"{where}: neato drew {len(pictures)} PNG pictures for {len(sources)} graphs")
    return pictures


@dataclass(frozen=True)
class SvgParts:
    """An SVG cut into the text before the first node or edge, each node's or edge's piece by id, and
    the text after them."""

    head: str
    parts: dict[str, str]
    tail: str

    def joined(self) -> str:
        return self.head + "".join(self.parts.values()) + self.tail


_PIECE = re.compile(r'<!-- .*? -->\n<g id="([^"]+)" class="(?:node|edge)">')


def svg_parts(svg: str) -> SvgParts:
    """Cut an SVG drawn by Graphviz at the start of each node's and edge's ``<g>`` (with its comment)."""
    starts = list(_PIECE.finditer(svg))
    if not starts:
        end = svg.rindex("</g>")
        return SvgParts(svg[:end], {}, svg[end:])
    end = svg.rindex("</g>\n</svg>")
    bounds = [m.start() for m in starts] + [end]
    parts = {m.group(1): svg[bounds[k] : bounds[k + 1]] for k, m in enumerate(starts)}
    return SvgParts(svg[: bounds[0]], parts, svg[end:])


@dataclass(frozen=True)
class FramePieces:
    """Frames for a page: the first as SVG markup to embed, then what each frame changes."""

    picture: str  # frame 0 as an <svg> element (no XML declaration), without the pieces left out
    changes: list[list[tuple[str, str]]]  # per frame, (piece id, markup) for each piece that differs
    base: dict[str, str]  # frame 0's markup of every piece that changes later


def frame_pieces(
    svgs: Sequence[str], leave_out: Sequence[str] = (), write: Callable[[int, str], None] | None = None
) -> FramePieces:
    """Cut pinned SVGs (the first whole, the others whole or only their changed pieces) into a page's
    frames. ``write(k, svg)`` receives each frame as a whole SVG (to save it), if given."""
    hidden = (*CORNERS, *leave_out)
    frame = svg_parts(svgs[0])
    first = {name: part for name, part in frame.parts.items() if name not in hidden}
    changes: list[list[tuple[str, str]]] = []
    base: dict[str, str] = {}
    for k, svg in enumerate(svgs):
        parts = {name: part for name, part in svg_parts(svg).parts.items() if name not in CORNERS}
        changed = [(n, p) for n, p in parts.items() if n not in hidden and k and frame.parts.get(n) != p]
        base.update({name: first[name] for name, _ in changed if name in first})
        frame.parts.update(parts)
        changes.append(changed)
        if write is not None:
            write(k, frame.joined())
    picture = frame.head[frame.head.find("<svg") :] + "".join(first.values()) + frame.tail
    return FramePieces(picture, changes, base)
