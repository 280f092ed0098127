"""A drawing before it becomes DOT text: its nodes and edges, in the order they are drawn.

Drawings build a :class:`Figure` and turn it into DOT with :meth:`Figure.source`. Keeping the nodes
and edges as records (not text) lets a long drawing be wrapped into rows (:func:`wrap_rows`) and the
step-through re-draw one layout with different labels (:mod:`tinygrad_w.viz.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tinygrad_w.viz.dot import make_drawing
from tinygrad_w.viz.text import dot_string

if TYPE_CHECKING:
    import graphviz

__all__ = ["Edge", "Figure", "Node", "wrap_rows"]


@dataclass
class Node:
    """A Graphviz node: its name, HTML-like ``label`` markup (None: no label attribute), attributes."""

    name: str
    label: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def statement(self, extra: dict[str, str] | None = None) -> str:
        return _statement(self.name, self.label, {**self.attributes, **(extra or {})})


@dataclass
class Edge:
    """A Graphviz edge from ``tail`` to ``head``."""

    tail: str
    head: str
    attributes: dict[str, str] = field(default_factory=dict)

    def statement(self, extra: dict[str, str] | None = None) -> str:
        return _statement(f"{self.tail} -> {self.head}", None, {**self.attributes, **(extra or {})})


def _statement(name: str, label: str | None, attributes: dict[str, str]) -> str:
    """One DOT statement; the label is HTML-like markup, other attribute values are shown literally."""
    parts = [] if label is None else [f"label=<{label}>"]
    parts += [f"{key}={dot_string(value)}" for key, value in attributes.items()]
    return f"\t{name} [{' '.join(parts)}]\n" if parts else f"\t{name}\n"


@dataclass
class Figure:
    """Everything a drawing holds. ``settings`` are raw DOT lines (graph, node and edge defaults);
    ``caption`` is markup for the graph's label; ``ranks`` are groups of nodes kept in one column, in
    order (drawn as ``rank=same`` with invisible edges between neighbours); ``clusters`` are groups of
    nodes kept together (the rows of a wrapped drawing)."""

    name: str
    settings: list[str]
    caption: str = ""
    statements: list[Node | Edge] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)
    clusters: list[list[str]] = field(default_factory=list)  # groups of nodes kept together (rows)

    def nodes(self) -> list[Node]:
        return [s for s in self.statements if isinstance(s, Node)]

    def edges(self) -> list[Edge]:
        return [s for s in self.statements if isinstance(s, Edge)]

    def source_lines(self) -> list[str]:
        """The DOT statements of the graph's body."""
        lines = [line if line.endswith("\n") else line + "\n" for line in self.settings]
        if self.caption:
            lines.append(f"\tlabel=<{self.caption}>\n")
        lines += [s.statement() for s in self.statements]
        for k, cluster in enumerate(self.clusters):
            lines.append(f'\tsubgraph cluster_row{k} {{peripheries=0; label=""; {"; ".join(cluster)}}}\n')
        for column in self.ranks:
            lines.append(f"\t{{rank=same; {'; '.join(column)}}}\n")
            if len(column) > 1:
                lines.append(f"\t{' -> '.join(column)} [style=invis]\n")
        return lines

    def source(self) -> str:
        return self.drawing().source  # type: ignore[no-any-return]

    def drawing(self) -> graphviz.Digraph:
        return make_drawing(self.name, self.source_lines())


def wrap_rows(figure: Figure, ranks_per_row: int, longer_than: int, keep: Sequence[str] = ()) -> int:
    """Cut a drawing more than ``longer_than`` ranks long into rows of ``ranks_per_row`` ranks, stacked,
    so that a long chain reads like lines of text instead of one line 10,000 pixels long. Returns the
    number of rows.

    Each row is an invisible cluster (Graphviz keeps a cluster's nodes together, so rows do not mix);
    an edge from one row into another is kept but does not constrain the layout (``constraint=false``),
    so each row starts again at the left. Nodes named in ``keep`` (a legend) go in the first row.
    """
    rank = _ranks(figure)
    longest = max(rank.values(), default=0) + 1
    if longest <= longer_than:
        return 1
    row = {name: 0 if name in keep else r // ranks_per_row for name, r in rank.items()}
    for column in figure.ranks:  # nodes kept in one column stay in one row
        first = min(row[name] for name in column)
        row.update(dict.fromkeys(column, first))
    for edge in figure.edges():
        if row[edge.tail] != row[edge.head]:
            edge.attributes["constraint"] = "false"
    rows = max(row.values()) + 1
    figure.clusters = [[node.name for node in figure.nodes() if row[node.name] == r] for r in range(rows)]
    return rows


def _ranks(figure: Figure) -> dict[str, int]:
    """Each node's rank as Graphviz would give it, the longest path from a node without inputs, except
    that such nodes (leaves, constants) sit just before their first user instead of all at rank 0."""
    edges = figure.edges()
    rank = {node.name: 0 for node in figure.nodes()}
    incoming: dict[str, list[str]] = {name: [] for name in rank}
    outgoing: dict[str, list[str]] = {name: [] for name in rank}
    for edge in edges:
        incoming[edge.head].append(edge.tail)
        outgoing[edge.tail].append(edge.head)
    for name in _heads_after_tails(edges, list(rank)):
        rank[name] = max((rank[tail] + 1 for tail in incoming[name]), default=0)
    for name in rank:
        if not incoming[name] and outgoing[name]:
            rank[name] = min(rank[head] for head in outgoing[name]) - 1
    return rank


def _heads_after_tails(edges: Sequence[Edge], names: Sequence[str]) -> list[str]:
    """The nodes in an order where every edge's tail comes before its head (Kahn's algorithm; drawings
    have no cycles). Ties keep the order of ``names``, so the result is the same every run."""
    indegree = dict.fromkeys(names, 0)
    outgoing: dict[str, list[str]] = {name: [] for name in names}
    for edge in edges:
        indegree[edge.head] = indegree.get(edge.head, 0) + 1
        outgoing.setdefault(edge.tail, []).append(edge.head)
        indegree.setdefault(edge.tail, 0)
    ready = [name for name, degree in indegree.items() if degree == 0][::-1]
    order: list[str] = []
    while ready:
        name = ready.pop()
        order.append(name)
        for head in outgoing.get(name, []):
            indegree[head] -= 1
            if indegree[head] == 0:
                ready.append(head)
    return order
