"""Models in and out: JSON files (files.py) and PyTorch (torch_bridge.py)."""

from tinygrad_w.interop.files import FORMAT, VERSION, load, save
from tinygrad_w.interop.torch_bridge import from_torch, to_torch

__all__ = ["FORMAT", "VERSION", "from_torch", "load", "save", "to_torch"]
