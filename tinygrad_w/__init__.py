"""tinygrad_w: a scalar autograd engine to learn from, draw and trust."""

from . import init, nn
from .engine import Op, Value, grad, linear, topological_order
from .errors import (
    DomainError,
    FileFormatError,
    NonFiniteError,
    OperandTypeError,
    OperationError,
    OperationOverflowError,
    OperationZeroDivisionError,
    ShapeError,
    TinygradError,
)
from .nn import MLP

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "DomainError",
    "FileFormatError",
    "NonFiniteError",
    "Op",
    "OperandTypeError",
    "OperationError",
    "OperationOverflowError",
    "OperationZeroDivisionError",
    "ShapeError",
    "TinygradError",
    "Value",
    "__version__",
    "grad",
    "init",
    "linear",
    "nn",
    "topological_order",
]
