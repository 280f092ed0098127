"""tinygrad_w: a scalar autograd engine to learn from, draw and trust."""

from . import batchnorm, data, init, losses, nn, optim, penalties, testing, train, viz
from .engine import Op, Value, grad, linear, topological_order
from .errors import (
    ArgumentError,
    DivergenceError,
    DomainError,
    ExpressionError,
    FileFormatError,
    GradcheckError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    OperationOverflowError,
    OperationZeroDivisionError,
    RenderError,
    ShapeError,
    TinygradError,
)
from .expr import parse, parse_with_inputs
from .io import load, save
from .nn import MLP
from .testing import gradcheck, gradgradcheck
from .torch_bridge import from_torch, to_torch

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "ArgumentError",
    "DivergenceError",
    "DomainError",
    "ExpressionError",
    "FileFormatError",
    "GradcheckError",
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
    "batchnorm",
    "data",
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
