"""Heat maps of a layer's weights and gradients, as Graphviz HTML-like tables, with a colour bar that
gives the scale in numbers: for networks with too many weights to label each edge."""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_w.core.value import Value
from tinygrad_w.viz.colours import diverging
from tinygrad_w.viz.text import format_number, markup

__all__ = ["heatmap_panel"]

_CELL = 11  # points per cell side
_BAR_CELLS = 11  # cells in a colour bar, from -largest to +largest
_LABELLED_COLUMNS = 32  # wider heat maps number only their first and last columns
_BAR_HEIGHT = 6


def heatmap_panel(
    layers: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Value]]]],
    decimals: int,
    with_grads: bool = True,
) -> str:
    """A panel with, for each layer (title, neuron names, rows of weights), the heat map of ``w`` and (if
    ``with_grads``) the heat map of ``∂w`` side by side: one row per neuron, one column per input, each
    with its colour bar."""
    rows = []
    for title, names, weights in layers:
        grids = [("w", [[w.data for w in row] for row in weights])]
        if with_grads:
            grids.append(("∂w", [[w.grad for w in row] for row in weights]))
        rows.append(f'<tr><td colspan="2" align="left"><b>{markup(title)}</b></td></tr>')
        maps = [_heatmap(name, names, grid, decimals) for name, grid in grids]
        rows.append("<tr>" + "".join(f'<td align="left">{m}</td>' for m in maps) + "</tr>")
    note = "rows: neurons; columns: inputs x0, x1, … (the units of the column before); blue > 0, orange < 0"
    head = '<table border="0" cellborder="0" cellspacing="4" cellpadding="0">'
    small = f'<font point-size="9">{markup(note)}</font>'
    return f'{head}<tr><td colspan="2" align="left">{small}</td></tr>{"".join(rows)}</table>'


def _heatmap(name: str, neuron_names: Sequence[str], grid: Sequence[Sequence[float]], decimals: int) -> str:
    """One heat map: the numbers of ``grid`` as cells coloured on a scale symmetric around 0, with the
    colour bar of that scale below. The tables of cells have a fixed size: Graphviz would otherwise
    stretch them to the width of the widest thing beside them."""
    largest = max((abs(x) for row in grid for x in row), default=0.0)
    columns = max((len(row) for row in grid), default=0)
    numbers = [
        str(k) if columns <= _LABELLED_COLUMNS or k in (0, columns - 1) else "" for k in range(columns)
    ]
    header = "".join(_cell(_small(text)) for text in numbers)
    rows = [header] + ["".join(_cell("", diverging(x, largest)) for x in row) for row in grid]
    names = "".join(
        f'<tr><td height="{_CELL}" align="right">{_small(markup(n))}</td></tr>' for n in ["", *neuron_names]
    )
    names_table = f'<table border="0" cellborder="0" cellspacing="1" cellpadding="0">{names}</table>'
    title = f'<font point-size="8"><b>{markup(name)}</b></font>'
    return (
        '<table border="0" cellborder="0" cellspacing="0" cellpadding="0">'
        f'<tr><td colspan="2" align="left">{title}</td></tr>'
        f'<tr><td align="right">{names_table}</td><td align="left">{_fixed(rows, columns)}</td></tr>'
        f'<tr><td></td><td align="left">{_colour_bar(largest, decimals)}</td></tr></table>'
    )


def _small(text: str) -> str:
    return f'<font point-size="6">{text}</font>' if text else ""


def _cell(content: str, colour: str = "") -> str:
    fill = f' bgcolor="{colour}"' if colour else ""
    return f'<td width="{_CELL}" height="{_CELL}" fixedsize="true"{fill}>{content}</td>'


def _fixed(rows: Sequence[str], columns: int, height: int = _CELL) -> str:
    """A table of fixed-size cells (1 point apart), exactly as large as they need."""
    width = columns * _CELL + (columns + 1)
    tall = len(rows) * height + (len(rows) + 1)
    head = f'<table border="0" cellborder="0" cellspacing="1" cellpadding="0" fixedsize="true" width="{width}" height="{tall}">'
    return head + "".join(f"<tr>{row}</tr>" for row in rows) + "</table>"


def _colour_bar(largest: float, decimals: int) -> str:
    """The scale of a heat map: cells from -largest to +largest, numbered at both ends and in the middle."""
    steps = [largest * (2.0 * k / (_BAR_CELLS - 1) - 1.0) for k in range(_BAR_CELLS)]
    cells = "".join(
        f'<td width="{_CELL}" height="{_BAR_HEIGHT}" fixedsize="true" bgcolor="{diverging(x, largest)}"></td>'
        for x in steps
    )
    width = _BAR_CELLS * _CELL + _BAR_CELLS + 1
    bar = (
        f'<table border="0" cellborder="0" cellspacing="1" cellpadding="0" fixedsize="true" width="{width}" '
        f'height="{_BAR_HEIGHT + 2}"><tr>{cells}</tr></table>'
    )
    low, high = format_number(-largest, decimals), format_number(largest, decimals)
    ends = (
        f'<tr><td align="left"><font point-size="7">{markup(low)}</font></td>'
        f'<td><font point-size="7">0</font></td>'
        f'<td align="right"><font point-size="7">{markup(high)}</font></td></tr>'
    )
    head = '<table border="0" cellborder="0" cellspacing="0" cellpadding="0">'
    return f'{head}<tr><td colspan="3">{bar}</td></tr>{ends}</table>'
