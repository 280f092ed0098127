"""tinygrad_w: a scalar autograd engine to learn from, draw and trust.

Read tinygrad_w/core first (ops.py, value.py, reverse.py); then nn (networks), train, viz (drawings)
and testing (gradient checking). batched replays a graph on numpy arrays; interop saves models and
talks to PyTorch; cli is the ``tinygrad-w`` command.
"""

from tinygrad_w import batched, core, nn, testing, train, viz
from tinygrad_w.cli.expr import parse, parse_with_inputs
from tinygrad_w.core.anomaly import detect_anomaly
from tinygrad_w.core.gradients import grad
from tinygrad_w.core.ops import Op
from tinygrad_w.core.reverse import topological_order
from tinygrad_w.core.value import Value
from tinygrad_w.errors import (
    ArgumentError,
    DivergenceError,
    DomainError,
    ExpressionError,
    FileAccessError,
    FileFormatError,
    GradcheckError,
    GraphChangedError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    OperationOverflowError,
    OperationZeroDivisionError,
    RenderError,
    ShapeError,
    TinygradError,
)
from tinygrad_w.interop.files import load, save
from tinygrad_w.interop.torch_bridge import from_torch, to_torch
from tinygrad_w.nn import MLP, batchnorm, linear, penalties
from tinygrad_w.nn import initializers as init
from tinygrad_w.testing import gradcheck, gradgradcheck
from tinygrad_w.train import data, losses, optim

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "ArgumentError",
    "DivergenceError",
    "DomainError",
    "ExpressionError",
    "FileAccessError",
    "FileFormatError",
    "GradcheckError",
    "GraphChangedError",
    "NonFiniteError",
    "Op",
    "OperandTypeError",
    "OperationError",
    "OperationOverflowError",
    "OperationZeroDivisionError",
    "RenderError",
    "ShapeError",
    "TinygradError",
    "Value",
    "__version__",
    "batched",
    "batchnorm",
    "core",
    "data",
    "detect_anomaly",
    "from_torch",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "init",
    "linear",
    "load",
    "losses",
    "nn",
    "optim",
    "parse",
    "parse_with_inputs",
    "penalties",
    "save",
    "testing",
    "to_torch",
    "topological_order",
    "train",
    "viz",
]
