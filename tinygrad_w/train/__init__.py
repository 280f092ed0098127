"""Training: losses (losses.py), optimizers, schedulers and clipping (optim.py), toy data sets
(data.py) and the training loop with its History (fit.py)."""

from tinygrad_w.train import data, losses, optim
from tinygrad_w.train.fit import LOSSES, History, LossFunction, fit

__all__ = ["LOSSES", "History", "LossFunction", "data", "fit", "losses", "optim"]
