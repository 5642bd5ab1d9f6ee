"""Mirrors `torch.nn.modules.padding`: Zero/Constant/Reflection/Replication/CircularPad 1d-3d.

Each base class holds the constructor and forward; a leaf only names its number of padded
dimensions (`_dims`), its padding being a `2 * _dims` tuple in F.pad's order.
"""
from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .conv import _ntuple
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d",
           "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
           "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]


class _PadNd(Module):
    """Padding by `F.pad` in mode `_mode`; the repr is the padding tuple."""

    _dims: int
    _mode: str

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    """Mirrors `torch.nn.modules.padding._CircularPadNd`."""

    _mode = "circular"

    def _check_input_dim(self, input) -> None:
        if input.dim() not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input (got "
                             f"{input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        return super().forward(input)


class _ReflectionPadNd(_PadNd):
    """Mirrors `torch.nn.modules.padding._ReflectionPadNd`."""
    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    """Mirrors `torch.nn.modules.padding._ReplicationPadNd`."""
    _mode = "replicate"


class _ConstantPadNd(Module):
    """Mirrors `torch.nn.modules.padding._ConstantPadNd`."""

    _dims: int

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ConstantPad(_ConstantPadNd):
    """The constructor of ConstantPad1d/2d/3d."""

    def __init__(self, padding: int | tuple[int, ...], value: float) -> None:
        super().__init__(value)
        self.padding = _ntuple(padding, 2 * self._dims)


class _ZeroPad:
    """The constructor and repr of ZeroPad1d/2d/3d (constant padding with 0.0)."""

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class CircularPad1d(_CircularPadNd):
    """Mirrors `torch.nn.CircularPad1d`."""
    _dims = 1


class CircularPad2d(_CircularPadNd):
    """Mirrors `torch.nn.CircularPad2d`."""
    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Mirrors `torch.nn.CircularPad3d`."""
    _dims = 3


class ConstantPad1d(_ConstantPad):
    """Mirrors `torch.nn.ConstantPad1d`."""
    _dims = 1


class ConstantPad2d(_ConstantPad):
    """Mirrors `torch.nn.ConstantPad2d`."""
    _dims = 2


class ConstantPad3d(_ConstantPad):
    """Mirrors `torch.nn.ConstantPad3d`."""
    _dims = 3


class ReflectionPad1d(_ReflectionPadNd):
    """Mirrors `torch.nn.ReflectionPad1d`."""
    _dims = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Mirrors `torch.nn.ReflectionPad2d`."""
    _dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirrors `torch.nn.ReflectionPad3d`."""
    _dims = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Mirrors `torch.nn.ReplicationPad1d`."""
    _dims = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Mirrors `torch.nn.ReplicationPad2d`."""
    _dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Mirrors `torch.nn.ReplicationPad3d`."""
    _dims = 3


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    """Mirrors `torch.nn.ZeroPad1d`."""


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    """Mirrors `torch.nn.ZeroPad2d`."""


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    """Mirrors `torch.nn.ZeroPad3d`."""
