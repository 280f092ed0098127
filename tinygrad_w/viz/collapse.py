"""Collapsing big graphs so that Graphviz lays them out in seconds: choose the least collapsed plan that
fits. The steps, in order: one box per pass through a neuron (and one per long run of +), one per pass
through a layer, long sums folded after their first two terms, and last the middle summarised by depth.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError
from tinygrad_w.viz.neuron_boxes import layer_plan, neuron_plan
from tinygrad_w.viz.plan import DETAILED, Group, Plan, fits, node_cost, uses

__all__ = ["COLLAPSE_MODES", "FOLD_KEEP", "MAX_LEVELS_PER_END", "choose_plan"]

COLLAPSE_MODES = ("auto", "none", "neurons", "layers", "depth")
FOLD_KEEP = 2  # terms of a long sum drawn before the rest are folded into one box
MAX_LEVELS_PER_END = 12  # a graph summarised by depth shows this many levels at each end, at most
_DEPTH_BANDS = 5


def choose_plan(
    order: Sequence[Value],
    index: dict[Value, int],
    max_nodes: int,
    collapse: str,
    owners: dict[Value, tuple[int, int, str]] | None,
) -> Plan:
    """The least collapsed plan that fits in ``max_nodes`` (or the one ``collapse`` asks for). Neuron and
    layer boxes need ``owners``, which neuron each parameter belongs to (from ``draw_graph``'s network)."""
    full = Plan([DETAILED] * len(order), [])
    if collapse == "none" or (collapse == "auto" and fits(order, index, full, max_nodes)):
        return full
    if collapse == "auto":
        total = f"{len(order):,} values need more than max_nodes={max_nodes} boxes"
    else:
        total = f"{len(order):,} values, collapse={collapse!r}"
    if collapse in ("neurons", "layers") and not owners:
        raise ArgumentError(
            f"draw_graph: collapse={collapse!r} needs network=, the model whose neurons to draw as boxes"
        )
    base = None
    if collapse in ("auto", "neurons", "layers") and owners:
        neurons = neuron_plan(order, index, owners)
        if neurons is not None:
            collapse_sums(order, index, neurons)
            neurons.caption = f"{total}: each pass through a neuron is one box"
            if collapse == "neurons" or (collapse == "auto" and fits(order, index, neurons, max_nodes)):
                return neurons
            base = layer_plan(order, index, neurons)  # keeps the sum boxes
            base.caption = f"{total}: each pass through a layer is one box"
            if collapse == "layers" or (collapse == "auto" and fits(order, index, base, max_nodes)):
                return base
    if collapse == "auto":
        folded = _fold_until_it_fits(order, index, max_nodes, total, base)
        if folded is not None:
            return folded
    plan = depth_plan(order, index, max_nodes - 1)
    plan.caption = f"{total}: {plan.caption}"
    return plan


def _fold_until_it_fits(
    order: Sequence[Value], index: dict[Value, int], max_nodes: int, total: str, base: Plan | None
) -> Plan | None:
    """Fold the sums, longest first, until the drawing fits; None if it never does."""
    if base is None:
        base = Plan([DETAILED] * len(order), [], f"{total}: each long run of + is one sum box")
        collapse_sums(order, index, base)
    folded = fold_terms(order, index, base)
    while folded is not None:
        if fits(order, index, folded, max_nodes):
            return folded
        folded = fold_terms(order, index, folded)
    return None


def collapse_sums(order: Sequence[Value], index: dict[Value, int], plan: Plan) -> None:
    """Fold each long run of + nodes that add one term at a time (a loss summed over samples) into one
    "sum of n terms" box, so the samples lie side by side instead of in a staircase. Changes ``plan``."""
    used = uses(order, index)
    run_of = [-1] * len(order)  # the run each + node belongs to, named by its first node
    runs: dict[int, list[int]] = {}
    for i, v in enumerate(order):
        if plan.group_of[i] != DETAILED or v.op is None or v.op.name != "add":
            continue
        # continue the run of an input that is a + used only here, else start a new run
        inputs = [index[c] for c in v.children if isinstance(c, Value)]
        previous = next((j for j in inputs if run_of[j] >= 0 and used[j] == 1), None)
        run_of[i] = i if previous is None else run_of[previous]
        runs.setdefault(run_of[i], []).append(i)
    for members in runs.values():
        if len(members) < 3:
            continue
        terms = sum(
            1
            for i in members
            for c in order[i].children
            if not (isinstance(c, Value) and run_of[index[c]] == run_of[i])
        )
        for i in members:
            plan.group_of[i] = len(plan.groups)
        plan.groups.append(Group("sum", f"sum of {terms:,} terms", members))


def fold_terms(order: Sequence[Value], index: dict[Value, int], plan: Plan) -> Plan | None:
    """Draw the first terms of the longest sum not yet folded and fold its other terms (each term's own
    nodes) into one box.

    A loss summed over samples repeats the same subgraph once per sample; two of them show the pattern.
    A node belongs to a term when everything that uses it belongs to that term; nodes shared between
    terms (the parameters) or used outside the sum stay where they were. None if no sum is left to fold.
    """
    sums = [g for g, group in enumerate(plan.groups) if group.kind == "sum" and not group.folded]
    if not sums:
        return None
    target = max(sums, key=lambda g: (len(plan.groups[g].members), -g))
    plan.groups[target].folded = True
    owner, terms = _term_owners(order, index, plan.groups[target].members)
    if terms <= FOLD_KEEP + 1:
        return plan  # too short to fold; marked, so the next call looks at the next sum
    fold = len(plan.groups)
    group_of = [fold if owner[i] >= FOLD_KEEP else g for i, g in enumerate(plan.group_of)]
    title = f"{terms - FOLD_KEEP:,} more terms of the {plan.groups[target].title}, like the first {FOLD_KEEP}"
    groups = _renumber(group_of, [*plan.groups, Group("fold", title)])
    caption = f"{plan.caption}; the first {FOLD_KEEP} of the {terms:,} terms of a sum are drawn"
    return Plan(group_of, groups, caption)


_UNSEEN, _SHARED = -1, -2


def _term_owners(
    order: Sequence[Value], index: dict[Value, int], members: list[int]
) -> tuple[list[int], int]:
    """For each node, the term of the sum it belongs to (or _UNSEEN, _SHARED); and the number of terms."""
    in_sum = set(members)
    owner = [_UNSEEN] * len(order)
    terms = 0
    for m in members:
        for c in order[m].children:
            if isinstance(c, Value) and index[c] not in in_sum:
                j = index[c]
                owner[j] = terms if owner[j] == _UNSEEN else _SHARED
                terms += 1
    for i in range(len(order) - 1, -1, -1):
        if i in in_sum:
            continue
        passed = owner[i] if owner[i] >= 0 else _SHARED  # nodes outside every term make their inputs shared
        for c in order[i].children:
            if isinstance(c, Value):
                j = index[c]
                if owner[j] == _UNSEEN:
                    owner[j] = passed
                elif owner[j] != passed:
                    owner[j] = _SHARED
    return owner, terms


def _renumber(group_of: list[int], candidates: list[Group]) -> list[Group]:
    """Keep the boxes that still hold something, numbered in order of their first member (changes
    ``group_of`` to the new numbers)."""
    renumber: dict[int, int] = {}
    groups: list[Group] = []
    for i, g in enumerate(group_of):
        if g < 0:
            continue
        if g not in renumber:
            renumber[g] = len(groups)
            old = candidates[g]
            groups.append(replace(old, members=[], hidden_parameters=list(old.hidden_parameters)))
        group_of[i] = renumber[g]
        groups[group_of[i]].members.append(i)
    return groups


def depth_plan(order: Sequence[Value], index: dict[Value, int], budget: int) -> Plan:
    """Draw the Values nearest the output and nearest the inputs; summarise the middle in depth bands.

    depth = the longest path from the output (the root has depth 0); height = the longest path down to
    a leaf (leaves have height 0). Levels are added from both ends while they fit in ``budget`` boxes
    (an edge counts as half a box), up to ``MAX_LEVELS_PER_END`` levels per end.
    """
    depth, height = _depths_and_heights(order, index)
    shown, levels = _levels_shown(order, index, depth, height, max(budget - _DEPTH_BANDS - 2, 0))
    counts = Counter(depth[i] for i in range(len(order)) if not shown[i])
    hidden_total = sum(counts.values())
    per_band = math.ceil(hidden_total / _DEPTH_BANDS) if hidden_total else 1
    band_of_depth: dict[int, int] = {}
    bands: list[list[int]] = [[]]
    filled = 0
    for d in sorted(counts):
        if filled >= per_band:
            bands.append([])
            filled = 0
        bands[-1].append(d)
        band_of_depth[d] = len(bands) - 1
        filled += counts[d]
    groups = [
        Group("depth", f"depths {b[0]:,}–{b[-1]:,}" if len(b) > 1 else f"depth {b[0]:,}") for b in bands
    ]
    group_of = [DETAILED] * len(order)
    for i in range(len(order)):
        if not shown[i]:
            group_of[i] = band_of_depth[depth[i]]
            groups[group_of[i]].members.append(i)
    if not hidden_total:
        groups = []
    caption = (
        f"the {levels[0]} levels nearest the output and the {levels[1]} nearest the inputs are drawn; "
        f"{hidden_total:,} values in between are summarised by depth (distance from the output) in "
        f"{len(groups)} boxes"
    )
    return Plan(group_of, groups, caption)


def _depths_and_heights(order: Sequence[Value], index: dict[Value, int]) -> tuple[list[int], list[int]]:
    """depth: longest path from the output down to each node; height: longest path from it to a leaf."""
    depth = [0] * len(order)
    for i in range(len(order) - 1, -1, -1):
        for c in order[i].children:
            if isinstance(c, Value):
                depth[index[c]] = max(depth[index[c]], depth[i] + 1)
    height = [0] * len(order)
    for i, v in enumerate(order):
        if v.op is not None:
            height[i] = 1 + max((height[index[c]] for c in v.children if isinstance(c, Value)), default=-1)
    return depth, height


def _levels_shown(
    order: Sequence[Value], index: dict[Value, int], depth: list[int], height: list[int], room: int
) -> tuple[list[bool], list[int]]:
    """Which Values are drawn, adding a level at each end in turn while they fit in ``room``; and how
    many levels were added at the top (by depth) and at the bottom (by height)."""
    used = uses(order, index)
    by_level: list[dict[int, list[int]]] = [{}, {}]  # top: by depth; bottom: by height
    for i in range(len(order)):
        for side, level in enumerate((depth[i], height[i])):
            if level < MAX_LEVELS_PER_END:
                by_level[side].setdefault(level, []).append(i)
    shown = [False] * len(order)
    spent = 0
    levels = [0, 0]
    open_sides = [0, 1]
    while open_sides:
        for side in list(open_sides):
            members = by_level[side].get(levels[side])
            # Edges slow the layout down too: count half a box per use of a value.
            extra = sum(node_cost(order[i]) + used[i] // 2 for i in members or () if not shown[i])
            if members is None or levels[side] >= MAX_LEVELS_PER_END or spent + extra > room:
                open_sides.remove(side)
                continue
            spent += extra
            for i in members:
                shown[i] = True
            levels[side] += 1
    return shown, levels
