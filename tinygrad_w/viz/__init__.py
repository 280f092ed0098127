"""Drawings: expression graphs and networks with every value and gradient (drawing.py), and
backpropagation step by step (stepper.py). They read graphs through the core's public API."""

from tinygrad_w.viz.drawing import (
    DEFAULT_MAX_NODES,
    GraphvizMissingWarning,
    RenderError,
    draw_graph,
    draw_network,
    render,
)
from tinygrad_w.viz.stepper import BackpropStep, backprop_frames, backprop_steps

__all__ = [
    "DEFAULT_MAX_NODES",
    "BackpropStep",
    "GraphvizMissingWarning",
    "RenderError",
    "backprop_frames",
    "backprop_steps",
    "draw_graph",
    "draw_network",
    "render",
]
