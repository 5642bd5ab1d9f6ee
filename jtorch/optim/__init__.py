"""Mirrors `torch.optim` (one file per optimizer, as torch lays them out)."""
from .adam import Adam as Adam
from .adamw import AdamW as AdamW
from .optimizer import Optimizer as Optimizer
from .sgd import SGD as SGD

__all__ = ["Adam", "AdamW", "Optimizer", "SGD"]
