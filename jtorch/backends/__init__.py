"""Mirrors `torch.backends`: the switches scripts set for cuDNN, cuBLAS and MPS.

XLA picks its own kernels, so these switches are kept (read back as set, checked as torch
checks them) and change no result. A flag that *allows* a faster, less precise kernel
(`allow_tf32`, reduced-precision reductions) is a permission jtorch does not use; a
performance hint (`cudnn.benchmark`) has nothing to tune.
"""
from __future__ import annotations

from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["cuda", "cudnn", "mps"]


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
