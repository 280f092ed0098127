"""The core, read first: ops.py, value.py, reverse.py, then gradients.py, anomaly.py (standard library only)."""
