"""Mirrors `torch.optim` (one file per optimizer, as torch lays them out)."""
from .optimizer import Optimizer as Optimizer
from .sgd import SGD as SGD

__all__ = ["Optimizer", "SGD"]
