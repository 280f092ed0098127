"""The core, to read first: ops.py (what an operation is), value.py (the node), reverse.py (the chain
rule), then gradients.py (gradients as Values). It imports no other part of tinygrad_w, and no package
from outside Python's standard library."""
