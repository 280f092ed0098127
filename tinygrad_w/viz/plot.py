"""A small loss curve as SVG markup, for pages (no plotting library: the page must work on its own)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from tinygrad_w.viz.colours import HIGHLIGHT, POSITIVE
from tinygrad_w.viz.text import format_number

__all__ = ["MARKER_SLOT", "loss_curve_svg"]

MARKER_SLOT = "<!--marker-->"  # where the current frame's marker goes in the curve's markup
_WIDTH, _HEIGHT = 460, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 14, 40  # margins around the plotting area


def loss_curve_svg(
    losses: Sequence[float | None], epochs: Sequence[int], decimals: int
) -> tuple[str, list[str]]:
    """The curve of the known losses against the epochs, with axes, numbers and labels; and for each
    frame a marker (``<g id="loss-marker">``, put in place of MARKER_SLOT) at that frame's loss: a dot and
    a vertical line (hidden for frames without a loss, such as epoch 0)."""
    known = [(e, loss) for e, loss in zip(epochs, losses) if loss is not None]
    first, last = (epochs[0], epochs[-1]) if epochs else (0, 1)
    low = min((loss for _, loss in known), default=0.0)
    high = max((loss for _, loss in known), default=1.0)
    if high == low:
        low, high = low - 0.5, high + 0.5

    def x(epoch: float) -> float:
        return _LEFT + (epoch - first) / max(last - first, 1) * (_WIDTH - _LEFT - _RIGHT)

    def y(loss: float) -> float:
        return _TOP + (high - loss) / (high - low) * (_HEIGHT - _TOP - _BOTTOM)

    points = " ".join(f"{x(e):.1f},{y(loss):.1f}" for e, loss in known)
    bottom, right = _HEIGHT - _BOTTOM, _WIDTH - _RIGHT
    texts = [
        (_LEFT - 6, y(high) + 4, "end", format_number(high, decimals)),
        (_LEFT - 6, y(low) + 4, "end", format_number(low, decimals)),
        (x(first), bottom + 14, "middle", str(first)),
        (x(last), bottom + 14, "middle", str(last)),
        ((_LEFT + right) / 2, _HEIGHT - 6, "middle", "epoch"),
    ]
    labels = "".join(
        f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}">{html.escape(text)}</text>'
        for tx, ty, anchor, text in texts
    )
    ylabel = f'<text transform="translate(14 {(_TOP + bottom) / 2:.1f}) rotate(-90)" text-anchor="middle">loss</text>'
    curve = (
        f'<svg class="loss-curve" width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
        f'<path d="M{_LEFT},{_TOP} V{bottom} H{right}" fill="none" stroke="#444"/>'
        f'<polyline points="{points}" fill="none" stroke="{POSITIVE}" stroke-width="1.5"/>'
        f"{labels}{ylabel}{MARKER_SLOT}</svg>"
    )
    markers = [_marker(x(e), None if loss is None else y(loss), bottom) for e, loss in zip(epochs, losses)]
    return curve, markers


def _marker(x: float, y: float | None, bottom: float) -> str:
    if y is None:
        return '<g id="loss-marker" visibility="hidden"></g>'
    return (
        f'<g id="loss-marker"><line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#999" '
        f'stroke-dasharray="3 3"/><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{HIGHLIGHT}"/></g>'
    )
