"""Tensor printing in torch's format."""
from __future__ import annotations

import numpy as np

from . import _dtype


def tensor_repr(t) -> str:
    value = np.asarray(t._value)
    body = np.array2string(value, separator=", ", prefix="tensor(")
    suffix = []
    if t.dtype not in (_dtype.float32, _dtype.int64, _dtype.bool_, _dtype.complex64):
        suffix.append(f"dtype={t.dtype}")
    if t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
