"""Public functions about tensors rather than on their data: result_type, is_tensor ..."""
from __future__ import annotations

from .. import _dtype
from .._tensor import Tensor
from ._util import _scalar_dtype

__all__ = ["result_type", "is_tensor", "is_floating_point", "is_complex", "numel",
           "is_nonzero", "is_storage", "typename"]

_NUMBERS = (int, float, complex, bool)


def result_type(tensor, other) -> _dtype.dtype:
    """Mirrors `torch.result_type`."""
    dims, zeros, scalars = [], [], []
    for x in (tensor, other):
        if isinstance(x, Tensor):
            (zeros if x.ndim == 0 else dims).append(x.dtype)
        elif type(x) in _NUMBERS:
            scalars.append(_scalar_dtype(_np_kind(x)))
        else:
            raise TypeError(f"result_type(): argument must be Tensor or Number, not "
                            f"{type(x).__name__}")
    return _dtype.result_type_of(dims, zeros, scalars)


def _np_kind(x):
    import numpy as np
    return np.result_type(x)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_storage(obj) -> bool:
    return False


def is_floating_point(input: Tensor) -> bool:
    return input.dtype.is_floating_point


def is_complex(input: Tensor) -> bool:
    return input.dtype.is_complex


def numel(input: Tensor) -> int:
    return input.numel()


def is_nonzero(input: Tensor) -> bool:
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no' if input.numel() == 0 else 'more than one'} "
                           f"value{'s' if input.numel() == 0 else ''} is ambiguous")
    return bool(input.item())


def typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__
