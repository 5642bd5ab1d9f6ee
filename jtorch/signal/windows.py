"""`torch.signal.windows`: window functions, built from jtorch's own ops (as torch builds them).

Each window is a few pointwise ops on a `linspace`, so values, dtype and autograd follow from
those ops; only the argument checks live here.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import jtorch

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _check(name: str, M: int, dtype, layout):
    """torch's checks common to every window; returns the dtype to use."""
    dtype = dtype if dtype is not None else jtorch.get_default_dtype()
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and layout is not getattr(jtorch, "strided", None):
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (jtorch.float32, jtorch.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _trivial(M, dtype, device, requires_grad, ones_at_one=True):
    """The window of length 0 (empty) or 1 (a single one), or None for longer windows."""
    if M == 0:
        return jtorch.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    if M == 1 and ones_at_one:
        return jtorch.ones((1,), dtype=dtype, device=device, requires_grad=requires_grad)
    return None


def _points(start, end, M, dtype, device, requires_grad):
    return jtorch.linspace(start, end, M, dtype=dtype, device=device,
                           requires_grad=requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, layout=None, device=None, requires_grad: bool = False):
    """Mirrors `torch.signal.windows.exponential`."""
    dtype = _check("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    empty = _trivial(M, dtype, device, requires_grad, ones_at_one=False)
    if empty is not None:
        return empty
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    k = _points(-center / tau, (M - 1 - center) / tau, M, dtype, device, requires_grad)
    return jtorch.exp(-jtorch.abs(k))


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False):
    """Mirrors `torch.signal.windows.cosine`."""
    dtype = _check("cosine", M, dtype, layout)
    empty = _trivial(M, dtype, device, requires_grad, ones_at_one=False)
    if empty is not None:
        return empty
    step = math.pi / (M + 1 if not sym and M > 1 else M)
    k = _points(0.5 * step, (0.5 + (M - 1)) * step, M, dtype, device, requires_grad)
    return jtorch.sin(k)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None,
             device=None, requires_grad: bool = False):
    """Mirrors `torch.signal.windows.gaussian`."""
    dtype = _check("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    empty = _trivial(M, dtype, device, requires_grad, ones_at_one=False)
    if empty is not None:
        return empty
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    scale = 1 / (std * math.sqrt(2))
    k = _points(start * scale, (start + (M - 1)) * scale, M, dtype, device, requires_grad)
    return jtorch.exp(-(k * k))


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None,
           device=None, requires_grad: bool = False):
    """Mirrors `torch.signal.windows.kaiser`."""
    dtype = _check("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    # torch rounds beta to the window's dtype first, so the end point cannot pass it
    b = jtorch.tensor(beta, dtype=dtype, device=device)
    step = 2.0 * b / (M if not sym else M - 1)
    end = jtorch.minimum(b, -b + (M - 1) * step)
    k = _points(-b.item(), end.item(), M, dtype, device, requires_grad)
    return jtorch.i0(jtorch.sqrt(b * b - k * k)) / jtorch.i0(b)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """Mirrors `torch.signal.windows.bartlett`."""
    dtype = _check("bartlett", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    step = 2 / (M if not sym else M - 1)
    k = _points(-1, -1 + (M - 1) * step, M, dtype, device, requires_grad)
    return 1 - jtorch.abs(k)


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, layout=None,
                   device=None, requires_grad: bool = False):
    """Mirrors `torch.signal.windows.general_cosine`."""
    dtype = _check("general_cosine", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    step = 2 * math.pi / (M if not sym else M - 1)
    k = _points(0, (M - 1) * step, M, dtype, device, requires_grad)
    coefficients = jtorch.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype,
                                 device=device, requires_grad=requires_grad)
    orders = jtorch.arange(coefficients.shape[0], dtype=dtype, device=device)
    return (coefficients.unsqueeze(-1) * jtorch.cos(orders.unsqueeze(-1) * k)).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=None,
                    device=None, requires_grad: bool = False):
    """Mirrors `torch.signal.windows.general_hamming`."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Mirrors `torch.signal.windows.hamming`."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
         requires_grad: bool = False):
    """Mirrors `torch.signal.windows.hann`."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """Mirrors `torch.signal.windows.blackman`."""
    _check("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Mirrors `torch.signal.windows.nuttall`."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
