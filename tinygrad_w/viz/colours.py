"""Colours in drawings: gradients by sign and size, weights by sign, and a diverging scale for heat maps.

Blue always means positive and orange negative, in every drawing (boxes, edges, heat maps, animation).
"""

from __future__ import annotations

__all__ = [
    "BLUES",
    "COLLAPSED_FILL",
    "HIGHLIGHT",
    "NEGATIVE",
    "ORANGES",
    "POSITIVE",
    "SHADE_STEPS",
    "ZERO",
    "diverging",
    "grad_colours",
    "weight_colour",
]

# Gradient shades, from light (small |grad|) to dark (the largest |grad| in the drawing).
BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")  # grad > 0
ORANGES = ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")  # grad < 0
SHADE_STEPS = (0.01, 0.05, 0.2, 0.5)  # |grad| / largest |grad| where the next darker shade starts
POSITIVE = "#2b6cb0"  # a positive weight's edge
NEGATIVE = "#dd6b20"  # a negative weight's edge
ZERO = "#999999"  # a zero weight's edge
COLLAPSED_FILL = "#fff7bc"  # boxes that stand for many values
HIGHLIGHT = "#d62728"  # the step-through's current node

_WHITE = (255, 255, 255)
_DARKEST_BLUE = (8, 81, 156)  # BLUES[-1]
_DARKEST_ORANGE = (166, 54, 3)  # ORANGES[-1]


def grad_colours(grad: float, largest: float) -> tuple[str, str]:
    """(fill colour, font colour) for a gradient: hue by sign, shade by |grad| relative to the largest.

    Shades, light to dark: below 1% of the largest |grad|, from 1%, from 5%, from 20%, from 50%.
    """
    if grad == 0.0 or largest == 0.0:
        return "white", "black"
    ratio = abs(grad) / largest
    shade = sum(ratio >= step for step in SHADE_STEPS)
    palette = BLUES if grad > 0.0 else ORANGES
    return palette[shade], "white" if shade >= 3 else "black"


def weight_colour(w: float) -> str:
    """An edge's colour: blue for w > 0, orange for w < 0, grey for 0."""
    return POSITIVE if w > 0.0 else NEGATIVE if w < 0.0 else ZERO


def diverging(x: float, largest: float) -> str:
    """A continuous scale for heat maps: white at 0, darkest blue at +largest, darkest orange at -largest.

    The colour is the straight mix white + t·(darkest - white) with t = |x| / largest (capped at 1).
    """
    if largest <= 0.0 or x == 0.0:
        return "#ffffff"
    t = min(abs(x) / largest, 1.0)
    end = _DARKEST_BLUE if x > 0.0 else _DARKEST_ORANGE
    red, green, blue = (round(w + t * (e - w)) for w, e in zip(_WHITE, end))
    return f"#{red:02x}{green:02x}{blue:02x}"
