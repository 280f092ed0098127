"""The core, to read first: ops.py (what an operation is), value.py (the node), reverse.py (the chain rule),
then gradients.py and anomaly.py. It imports nothing else of tinygrad_w and nothing outside the standard library."""
