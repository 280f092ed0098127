"""Collapsing a network's graph: one box per pass through a neuron, then one box per pass through a layer.

Which parameters belong to which neuron comes from the network itself (see
:mod:`tinygrad_w.viz.networks`), never from parsing labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tinygrad_w.core.value import Value
from tinygrad_w.viz.plan import DETAILED, HIDDEN, Group, Plan, UnionFind
from tinygrad_w.viz.text import plural

__all__ = ["layer_plan", "neuron_plan"]

Neuron = tuple[int, int]  # (layer number from 1, neuron number from 0)


@dataclass
class _Piece:
    neuron: Neuron
    parameters: set[int]  # parameters of the neuron this piece consumes (once each)
    activated: bool = False  # an activation was applied: the neuron is finished


class _PieceFinder:
    """Grows pieces of neuron passes node by node, in topological order.

    A node joins a piece when its inputs are one neuron's parameters or pieces of that same neuron using
    different parameters (so two samples through one neuron stay two pieces); once all of the neuron's
    parameters are used, only an activation (``op.activation``) may join. A node with a computed input
    outside every piece (a running total) joins nothing.
    """

    def __init__(self, order: Sequence[Value], index: dict[Value, int], neuron_of: dict[int, Neuron]) -> None:
        self.order, self.index, self.neuron_of = order, index, neuron_of
        self.parameter_count = Counter(neuron_of.values())
        self.pieces: list[_Piece] = []
        self.sets = UnionFind()
        self.piece_of = [DETAILED] * len(order)
        for i, v in enumerate(order):
            if v.op is not None:
                self.piece_of[i] = self._piece_for(v)

    def _new_piece(self, neuron: Neuron, parameters: list[int]) -> int:
        self.pieces.append(_Piece(neuron, set(parameters)))
        return self.sets.add()

    def _piece_for(self, v: Value) -> int:
        inputs = [self.index[c] for c in v.children if isinstance(c, Value)]
        direct = [j for j in inputs if j in self.neuron_of]
        inner = sorted({self.sets.find(self.piece_of[j]) for j in inputs if self.piece_of[j] >= 0})
        neurons = {self.neuron_of[p] for p in direct} | {self.pieces[p].neuron for p in inner}
        # A computed input outside every piece (a running total, say) keeps the node out of the pieces.
        outside = any(self.order[j].op is not None and self.piece_of[j] < 0 for j in inputs)
        joined = DETAILED
        if len(neurons) == 1 and not outside:
            joined = self._join(next(iter(neurons)), direct, inner, v)
        if joined == DETAILED and direct and len({self.neuron_of[p] for p in direct}) == 1:
            joined = self._new_piece(self.neuron_of[direct[0]], direct)  # w * x in the next layer starts one
        return joined

    def _join(self, neuron: Neuron, direct: list[int], inner: list[int], v: Value) -> int:
        """The piece ``v`` joins (merging ``inner`` pieces), or DETAILED."""
        pieces = self.pieces
        finished = [
            p
            for p in inner
            if pieces[p].activated or len(pieces[p].parameters) == self.parameter_count[neuron]
        ]
        if finished:
            only = pieces[finished[0]]
            if len(inner) == 1 and not direct and not only.activated and v.op is not None and v.op.activation:
                only.activated = True
                return inner[0]
            return DETAILED
        used = [p for piece in inner for p in pieces[piece].parameters] + direct
        if len(used) != len(set(used)):
            return DETAILED  # the same parameter twice: two passes, not one
        joined = inner[0] if inner else self._new_piece(neuron, direct)
        for other in inner[1:]:
            merged = self.sets.union(joined, other)
            pieces[merged].parameters |= pieces[joined].parameters | pieces[other].parameters
            joined = merged
        pieces[joined].parameters.update(direct)
        return joined


def neuron_plan(
    order: Sequence[Value], index: dict[Value, int], owners: dict[Value, tuple[int, int, str]]
) -> Plan | None:
    """One box per pass through a neuron; ``owners`` says which neuron each parameter belongs to (see
    :func:`tinygrad_w.viz.networks.neuron_of_parameters`). Parameters whose every use is inside boxes
    are not drawn: the boxes list them. None when the graph uses none of the network's parameters."""
    neuron_of = {i: owners[v][:2] for i, v in enumerate(order) if v.op is None and v in owners}
    if not neuron_of:
        return None
    finder = _PieceFinder(order, index, neuron_of)
    names = {owner[:2]: owner[2] for owner in owners.values()}
    group_number: dict[int, int] = {}
    groups: list[Group] = []
    group_of = [DETAILED] * len(order)
    for i, piece in enumerate(finder.piece_of):  # boxes are numbered in order of their first member
        if piece < 0:
            continue
        root = finder.sets.find(piece)
        if root not in group_number:
            group_number[root] = len(groups)
            neuron = finder.pieces[root].neuron
            groups.append(Group("neuron", f"neuron {names[neuron]}", layer=neuron[0], unit=neuron[1]))
        group_of[i] = group_number[root]
        groups[group_of[i]].members.append(i)
    rank = {v: k for k, v in enumerate(owners)}  # the network's own order of its parameters
    _hide_parameters(order, index, group_of, groups, sorted(neuron_of, key=lambda p: rank[order[p]]))
    plan = Plan(group_of, groups)
    plan.columns = _layer_columns(order, index, plan)
    return plan


def _layer_columns(order: Sequence[Value], index: dict[Value, int], plan: Plan) -> list[list[int]]:
    """The neuron boxes of each pass through a layer, in the neurons' order (N0, N1, ...), so that the
    drawing keeps them in that order instead of wherever Graphviz's crossing minimizer puts them."""
    sets = _merge_passes(order, index, plan)
    passes: dict[int, list[int]] = {}
    for g, group in enumerate(plan.groups):
        if group.kind == "neuron":
            passes.setdefault(sets.find(g), []).append(g)
    return [sorted(boxes, key=lambda g: plan.groups[g].unit) for boxes in passes.values() if len(boxes) > 1]


def _hide_parameters(
    order: Sequence[Value],
    index: dict[Value, int],
    group_of: list[int],
    groups: list[Group],
    params: list[int],
) -> None:
    """Parameters used only inside boxes are not drawn; each box lists them, in the network's order."""
    users: dict[int, set[int]] = {p: set() for p in params}
    for i, v in enumerate(order):
        for c in v.children:
            if isinstance(c, Value) and index[c] in users:
                users[index[c]].add(group_of[i])
    for parameter in params:
        if users[parameter] and DETAILED not in users[parameter]:
            group_of[parameter] = HIDDEN
            for g in sorted(users[parameter]):
                groups[g].hidden_parameters.append(parameter)


def layer_plan(order: Sequence[Value], index: dict[Value, int], neurons: Plan) -> Plan:
    """Merge the neuron boxes of one layer that share an input or a consumer (one pass of a sample).

    Other boxes (sums) are kept as they are.
    """
    sets = _merge_passes(order, index, neurons)
    group_number: dict[int, int] = {}
    groups: list[Group] = []
    parts: list[list[str]] = []  # the neuron boxes each new box is made of
    for g, old in enumerate(neurons.groups):
        root = sets.find(g)
        if root not in group_number:
            group_number[root] = len(groups)
            kind, title = ("layer", f"layer {old.layer}") if old.kind == "neuron" else (old.kind, old.title)
            groups.append(Group(kind, title, layer=old.layer))
            parts.append([])
        merged = group_number[root]
        parts[merged].append(old.title)
        groups[merged].hidden_parameters += old.hidden_parameters
    group_of = [g if g < 0 else group_number[sets.find(g)] for g in neurons.group_of]
    for i, g in enumerate(group_of):
        if g >= 0:
            groups[g].members.append(i)
    for group, titles in zip(groups, parts):
        group.hidden_parameters = list(dict.fromkeys(group.hidden_parameters))  # each once, in order
        if group.kind == "layer":
            group.title += f" ({_passes(len(set(titles)), len(titles))})"
    return Plan(group_of, groups)


def _passes(units: int, pieces: int) -> str:
    """'16 neurons', '1 neuron, 3 passes', or '5 parts of 2 neurons' (the w² terms of a penalty)."""
    if pieces == units:
        return plural(units, "neuron")
    if pieces % units == 0:
        return f"{plural(units, 'neuron')}, {pieces // units} passes"
    return f"{pieces} parts of {plural(units, 'neuron')}"


def _merge_passes(order: Sequence[Value], index: dict[Value, int], neurons: Plan) -> UnionFind:
    """Neuron boxes of one layer that meet the same input or the same consumer, in one set."""
    sets = UnionFind()
    for _ in neurons.groups:
        sets.add()
    first_with: dict[tuple[int, str, tuple[str, int]], int] = {}

    def end(i: int) -> tuple[str, int]:
        g = neurons.group_of[i]
        return ("group", g) if g >= 0 else ("value", i)

    def meet(g: int, how: str, other: tuple[str, int]) -> None:
        if neurons.groups[g].kind != "neuron":
            return
        key = (neurons.groups[g].layer, how, other)
        if key in first_with:
            sets.union(first_with[key], g)
        else:
            first_with[key] = g

    for i, v in enumerate(order):
        g_node = neurons.group_of[i]
        for c in v.children:
            if not isinstance(c, Value) or neurons.group_of[index[c]] == HIDDEN:
                continue
            g_child = neurons.group_of[index[c]]
            if g_node >= 0 and end(index[c]) != ("group", g_node):
                meet(g_node, "input", end(index[c]))
            if g_child >= 0 and g_child != g_node:
                meet(g_child, "consumer", end(i))
    return sets
