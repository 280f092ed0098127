"""Planning: sort a traced Value graph into steps that each compute many nodes at once.

1. **Kinds.** A node is *per-sample* if it depends on the sample's inputs or label (one number per
   sample), else *shared* (one number for the whole batch: parameters, a penalty).
2. **Sums.** A chain of nodes that only add up inputs and products of a shared factor and an input
   (``((b + w0·x0) + w1·x1) + ...``, ``1e-4·(p0·p0 + p1·p1 + ...)``, a fused ``linear``) collapses into
   one sum ``offset + Σ coefficient·factor·term`` (linearity.py says which nodes are such links). A link
   used only by the next link of its chain needs no row of its own: it is *absorbed*. Each absorbed node
   is visited once, so the plan takes time and memory in proportion to the graph.
3. **Steps.** Nodes at the same depth (counted over the collapsed graph) never depend on each other;
   those of the same kind and op, or the sums of the same kind, form one step. A layer's neurons become
   one step, and their sums one matrix product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from tinygrad_w.batched.linearity import LinearForm, LinearForms
from tinygrad_w.core.ops import Op
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value

__all__ = ["Expansion", "Group", "plan_groups"]

# A term of a sum: (term, coefficient, factor or None for a factor of 1).
Term = tuple[Value, float, "Value | None"]


@dataclass
class Expansion:
    """A collapsed sum: ``offset + Σ coefficient · factor · term`` over ``terms``."""

    offset: float
    terms: list[Term]


@dataclass
class Group:
    """Nodes computed by one step: an ``op`` applied to each (op steps), or sums (``op`` is None)."""

    per_sample: bool
    op: Op | None
    nodes: list[Value] = field(default_factory=list)


def plan_groups(
    roots: Sequence[Value], sample_leaves: Sequence[Value]
) -> tuple[list[Group], dict[Value, Expansion], set[Value]]:
    """The steps of the replay in order, the sums' expansions and the per-sample nodes."""
    order = topological_order(*roots)
    per_sample = _per_sample_nodes(order, sample_leaves)
    forms = _linear_forms(order, per_sample)
    sums, absorbed = _collapse(order, forms, set(roots), per_sample)
    return _group_by_depth(order, sums, per_sample, absorbed), sums, per_sample


def is_leaf(node: Value) -> bool:
    """An input, a parameter, or a node of constants only: read, not computed, by the replay."""
    return node.op is None or all(type(c) is float for c in node.children)


def _per_sample_nodes(order: list[Value], sample_leaves: Sequence[Value]) -> set[Value]:
    per_sample = set(sample_leaves)
    for node in order:
        for c in node.children:
            if c in per_sample:
                per_sample.add(node)
                break
    return per_sample


def _linear_forms(order: list[Value], per_sample: set[Value]) -> dict[Value, LinearForm]:
    """The nodes that are links of sums, with their forms. A product of two per-sample inputs is not a
    link (its weight would differ from sample to sample): it stays an op step."""
    known = LinearForms()
    forms: dict[Value, LinearForm] = {}
    for node in order:
        if node.op is None or not node.op.linear_in:
            continue
        form = known.of(node.op, node.children)
        if form is not None and not any(
            node.children[k] in per_sample and node.children[j] in per_sample for k, j in form.pairs
        ):
            forms[node] = form
    return forms


def _collapse(
    order: list[Value], forms: dict[Value, LinearForm], roots: set[Value], per_sample: set[Value]
) -> tuple[dict[Value, Expansion], set[Value]]:
    """The sums, and the links they absorb. Walking back from the outputs, a link not yet absorbed by a
    later one is the end of a chain: it becomes a sum, absorbing the links below it whose only use is
    as a plain term (c·a_k) of another link. A lone link that absorbs nothing and has no factor (1 - x)
    stays an op step: its op alone is cheaper."""
    uses = Counter(chain.from_iterable(node.children for node in order))  # floats too: never looked up
    sums: dict[Value, Expansion] = {}
    absorbed: set[Value] = set()
    for node in reversed(order):
        if node in forms and node not in absorbed:
            before = len(absorbed)
            expansion = _expand(node, forms, uses, roots, per_sample, absorbed)
            if len(absorbed) > before or any(f is not None for _, _, f in expansion.terms):
                sums[node] = expansion
    return sums, absorbed


def _expand(
    node: Value, forms: dict[Value, LinearForm], uses: Counter[Any], roots: set[Value],
    per_sample: set[Value], absorbed: set[Value],
) -> Expansion:  # fmt: skip
    """The sum a link stands for, walking down through the links it absorbs (added to ``absorbed``),
    with an explicit stack: chains are as long as a neuron has inputs. Terms come out in call order."""
    offset, terms = 0.0, list[Term]()
    stack: list[tuple[Value, float, int | None, Value]] = [(node, 1.0, None, node)]
    while stack:
        child, scale, partner_index, parent = stack.pop()
        if child is node or (
            partner_index is None and uses[child] == 1 and child in forms and child not in roots
        ):
            absorbed.add(child)
            form = forms[child]
            offset += scale * form.offset
            for k, c, j in reversed(form.entries):
                link_input = child.children[k]
                assert isinstance(link_input, Value)  # entries are about Value inputs only
                stack.append((link_input, scale * c, j, child))
        elif partner_index is None:
            terms.append((child, scale, None))
        else:  # a product a_k·a_j: the per-sample one is the term, the shared one its factor
            partner = parent.children[partner_index]
            assert isinstance(partner, Value)
            if child in per_sample or partner not in per_sample:
                terms.append((child, scale, partner))
            else:
                terms.append((partner, scale, child))
    absorbed.discard(node)
    return Expansion(offset, terms)


def _group_by_depth(
    order: list[Value], sums: dict[Value, Expansion], per_sample: set[Value], absorbed: set[Value]
) -> list[Group]:
    """Steps in order of depth; within a depth, one per (kind, op, kinds of operands) or per kind of sum."""
    depth: dict[Value, int] = {}
    groups: dict[tuple[int, tuple[object, ...]], Group] = {}
    for node in order:
        if node in absorbed:
            continue
        if is_leaf(node):
            depth[node] = 0
            continue
        if node in sums:
            inputs = [v for t, _, f in sums[node].terms for v in (t, f) if v is not None]
            key: tuple[object, ...] = ("sum", node in per_sample)
        else:
            inputs = [c for c in node.children if isinstance(c, Value)]
            kinds = tuple(c in per_sample if isinstance(c, Value) else None for c in node.children)
            key = ("op", node in per_sample, node.op, kinds)
        depth[node] = 1 + max(depth[i] for i in inputs)
        group = groups.get((depth[node], key))
        if group is None:
            group = groups[depth[node], key] = Group(node in per_sample, None if node in sums else node.op)
        group.nodes.append(node)
    return [group for (d, _), group in sorted(groups.items(), key=lambda item: item[0][0])]
