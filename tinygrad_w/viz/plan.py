"""What a collapsed drawing shows: a plan says which Values are drawn one by one and which are summarised
in a box, and whether that fits in the drawing's budget of Graphviz nodes and edges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tinygrad_w.core.value import Value

__all__ = ["DETAILED", "EDGES_PER_NODE", "HIDDEN", "Group", "Plan", "UnionFind", "fits", "node_cost", "uses"]

DETAILED, HIDDEN = -1, -2  # group_of[i] for a Value drawn itself, and for one not drawn at all
EDGES_PER_NODE = 10  # a drawing may have 10 edges per allowed node (dot takes ~1 s for 4,000 edges)


@dataclass
class Group:
    """Values drawn together as one box."""

    kind: str  # "neuron", "layer", "sum", "fold" or "depth"
    title: str
    members: list[int] = field(default_factory=list)  # indices into the topological order
    hidden_parameters: list[int] = field(default_factory=list)  # parameters shown only in this box
    layer: int = 0  # for neuron and layer boxes: the layer's number in the network
    unit: int = 0  # for neuron boxes: the neuron's number in its layer
    folded: bool = False  # for sum boxes: whether their terms were folded already


@dataclass
class Plan:
    """Where each Value goes: ``group_of[i]`` is DETAILED (drawn itself), a group number, or HIDDEN (not
    drawn: a parameter listed inside the neuron boxes that use it)."""

    group_of: list[int]
    groups: list[Group]
    caption: str = ""
    columns: list[list[int]] = field(default_factory=list)  # boxes drawn one above the other, in order


def node_cost(v: Value) -> int:
    """Graphviz nodes needed to draw a Value: its box, plus an op ellipse and one per constant input."""
    if v.op is None:
        return 1
    return 2 + sum(1 for c in v.children if not isinstance(c, Value))


def uses(order: Sequence[Value], index: dict[Value, int]) -> list[int]:
    """How many times each Value is an input of another (``a * a`` uses ``a`` twice)."""
    count = [0] * len(order)
    for v in order:
        for c in v.children:
            if isinstance(c, Value):
                count[index[c]] += 1
    return count


def fits(order: Sequence[Value], index: dict[Value, int], plan: Plan, max_nodes: int) -> bool:
    """Whether the plan needs at most ``max_nodes`` Graphviz nodes (one more for the legend) and at most
    ``EDGES_PER_NODE * max_nodes`` edges: layout time grows with both."""
    room = max_nodes - 1 - len(plan.groups)
    for v, g in zip(order, plan.group_of):
        if g == DETAILED:
            room -= node_cost(v)
            if room < 0:
                return False
    return _edge_count(order, index, plan.group_of, EDGES_PER_NODE * max_nodes) >= 0


def _edge_count(order: Sequence[Value], index: dict[Value, int], group_of: list[int], budget: int) -> int:
    """``budget`` minus the edges the plan draws; stops counting once below 0. Edges touching a box are
    drawn once per pair of ends."""
    between_boxes: set[tuple[int, int]] = set()
    for i, v in enumerate(order):
        if group_of[i] == HIDDEN or v.op is None:
            continue
        for c in v.children:
            j = index[c] if isinstance(c, Value) else i
            if group_of[i] == DETAILED and (j == i or group_of[j] == DETAILED):
                budget -= 1  # a constant's edge, or one between two drawn values
            elif group_of[j] != HIDDEN and (group_of[i] != group_of[j] or group_of[i] == DETAILED):
                end = i if group_of[i] == DETAILED else -1 - group_of[i]
                start = j if group_of[j] == DETAILED else -1 - group_of[j]
                if (start, end) not in between_boxes:
                    between_boxes.add((start, end))
                    budget -= 1
            if budget < 0:
                return budget
    return budget


class UnionFind:
    """Disjoint sets of numbers 0, 1, ... (merging pieces of neurons, then neurons into layers)."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        root = a
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[a] != root:  # path compression
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the older piece names the set: deterministic
        return min(a, b)
