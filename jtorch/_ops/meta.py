"""Public functions about tensors rather than on their data: result_type, is_tensor ..."""
from __future__ import annotations

from .. import _device, _dtype
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


# -- Tensor methods about the tensor rather than its data ------------------------------------

def _is_same_size(self: Tensor, other: Tensor) -> bool:
    """Mirrors `torch.Tensor.is_same_size`."""
    return self.shape == other.shape


def _pin_memory(self: Tensor, device=None) -> Tensor:
    """Mirrors `torch.Tensor.pin_memory`: a copy marked pinned. jax has no page-locked
    host memory to ask for; its transfers to an accelerator need none."""
    if not _device.accelerator_devices():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    out = self.clone()
    out._pinned = True
    return out


def _is_pinned(self: Tensor, device=None) -> bool:
    """Mirrors `torch.Tensor.is_pinned`: True for what `pin_memory()` returned."""
    return getattr(self, "_pinned", False)


def _adjoint(self: Tensor) -> Tensor:
    """Mirrors `torch.Tensor.adjoint`."""
    return self.mH


def _prelu(self: Tensor, weight: Tensor) -> Tensor:
    """Mirrors `torch.Tensor.prelu`."""
    from ..nn import functional
    return functional.prelu(self, weight)


Tensor.is_nonzero = is_nonzero
Tensor.is_same_size = _is_same_size
Tensor.pin_memory = _pin_memory
Tensor.is_pinned = _is_pinned
Tensor.adjoint = _adjoint
Tensor.prelu = _prelu
# jtorch's devices are cpu and cuda (jax's accelerator): never these torch backends
for _backend in ("ipu", "maia", "mkldnn", "mps", "mtia", "vulkan", "xla", "xpu"):
    setattr(Tensor, f"is_{_backend}", False)

