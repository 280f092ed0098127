"""Networks built from Values: neurons, layers and MLPs (layers.py), how their weights start
(initializers.py), penalties on them (penalties.py), batch normalization (batchnorm.py), dropout
(dropout.py) and the fused neuron, one node per weighted sum (fused.py)."""

from tinygrad_w.nn import initializers, penalties
from tinygrad_w.nn.batchnorm import Activation, BatchNorm1d, Sequential
from tinygrad_w.nn.dropout import Dropout
from tinygrad_w.nn.fused import LINEAR, linear
from tinygrad_w.nn.layers import (
    ACTIVATIONS,
    MLP,
    Layer,
    ModelWeightStats,
    Module,
    Neuron,
    WeightStats,
    weight_stats,
)

__all__ = [
    "ACTIVATIONS",
    "LINEAR",
    "MLP",
    "Activation",
    "BatchNorm1d",
    "Dropout",
    "Layer",
    "ModelWeightStats",
    "Module",
    "Neuron",
    "Sequential",
    "WeightStats",
    "initializers",
    "linear",
    "penalties",
    "weight_stats",
]
