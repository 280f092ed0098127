"""Drawings: expression graphs (expression.py), networks (network.py), backpropagation step by step
(stepper.py) and training as an animation (animation.py), written to files by render (dot.py).

They read graphs through the core's public API and networks through a small protocol (networks.py):
viz never imports tinygrad_w.nn, train or batched."""

from tinygrad_w.errors import RenderError
from tinygrad_w.viz.animation import HistoryLike, Snapshot, animate_training, snapshots_from_history
from tinygrad_w.viz.dot import GraphvizMissingWarning, render
from tinygrad_w.viz.expression import DEFAULT_MAX_NODES, draw_graph
from tinygrad_w.viz.network import draw_network
from tinygrad_w.viz.networks import NetworkLike, NeuronLike
from tinygrad_w.viz.stepper import BackpropStep, backprop_frames, backprop_steps

__all__ = [
    "DEFAULT_MAX_NODES",
    "BackpropStep",
    "GraphvizMissingWarning",
    "HistoryLike",
    "NetworkLike",
    "NeuronLike",
    "RenderError",
    "Snapshot",
    "animate_training",
    "backprop_frames",
    "backprop_steps",
    "draw_graph",
    "draw_network",
    "render",
    "snapshots_from_history",
]
