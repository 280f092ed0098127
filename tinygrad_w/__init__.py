"""tinygrad_w: a scalar autograd engine to learn from, draw and trust."""

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

__version__ = "0.1.0"

__all__ = [
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
    "linear",
    "topological_order",
]
