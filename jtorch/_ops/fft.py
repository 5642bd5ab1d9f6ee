"""torch.fft: discrete Fourier transforms over jnp.fft, with torch's dtypes and arguments."""
from __future__ import annotations

import jax.numpy as jnp

from .registry import register
from ._util import torch_dtype, wrap_dim, np_dtype
from .matmul import type_name
from .. import _dtype

_NORMS = (None, "backward", "forward", "ortho")
# hfft is the conjugate of an inverse real transform, so its norm mode maps to the inverse's
_SWAP = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _check_half(x):
    if x.dtype in (jnp.float16, jnp.bfloat16):
        raise RuntimeError(f"Unsupported dtype {type_name(x)}")


def _complex_input(x):
    """Integers and reals as torch's complex dtype (ints use the default float's)."""
    _check_half(x)
    d = torch_dtype(x)
    if d.is_complex:
        return x
    if d._category <= 1:
        d = _dtype.get_default_dtype()
    return x.astype(d.to_complex()._np)


def _real_input(name, x):
    _check_half(x)
    d = torch_dtype(x)
    if d.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got {type_name(x)}")
    if d._category <= 1:
        x = x.astype(_dtype.get_default_dtype()._np)
    return x


def _check_norm(norm):
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _wrap_dim(dim, ndim):
    """`wrap_dim` without the 0-d allowance: torch's transforms need a real dimension."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, ndim)


def _check_n(n):
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _one(kind, name):
    """A 1-D transform `torch.fft.NAME(input, n=None, dim=-1, norm=None)`."""
    transform = getattr(jnp.fft, kind)

    def impl(input, n=None, dim=-1, norm=None):
        _check_norm(norm)
        _check_n(n)
        dim = _wrap_dim(dim, input.ndim)
        if kind in ("rfft", "ihfft"):
            x = _real_input(name, input)
        else:
            x = _complex_input(input)
        if kind == "hfft":
            return jnp.fft.irfft(jnp.conj(x), n, axis=dim, norm=_SWAP[norm])
        if kind == "ihfft":
            return jnp.conj(jnp.fft.rfft(x, n, axis=dim, norm=_SWAP[norm]))
        return transform(x, n, axis=dim, norm=norm or "backward")

    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.fft.{name}`."
    return register(name, namespace="torch.fft", method=False, out=True, scalars=())(impl)


def _axes(input, s, dim, default_all):
    if dim is None:
        if s is None:
            dim = tuple(range(input.ndim)) if default_all else (-2, -1)
        else:
            dim = tuple(range(input.ndim - len(s), input.ndim))
    elif isinstance(dim, int):
        dim = (dim,)
    dim = tuple(_wrap_dim(d, input.ndim) for d in dim)
    if len(set(dim)) != len(dim):
        raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if len(s) != len(dim):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        for n in s:
            if n != -1:
                _check_n(n)
        s = tuple(input.shape[d] if n == -1 else n for d, n in zip(dim, s))
    return s, dim


def _many(kind, name, default_all):
    """An N-D transform `torch.fft.NAME(input, s=None, dim=..., norm=None)`."""

    def impl(input, s=None, dim=None if default_all else (-2, -1), norm=None):
        _check_norm(norm)
        s, dim = _axes(input, s, dim, default_all)
        if kind in ("rfftn", "ihfftn"):
            x = _real_input(name, input)
        else:
            x = _complex_input(input)
        if not dim:
            if kind != "fftn" and kind != "ifftn":
                raise RuntimeError(f"{kind} must transform at least one axis")
            return x
        if kind == "hfftn":
            return _irfftn(jnp.conj(x), s, dim, _SWAP[norm])
        if kind == "ihfftn":
            return jnp.conj(jnp.fft.rfftn(x, s, axes=dim, norm=_SWAP[norm]))
        if kind == "irfftn":
            return _irfftn(x, s, dim, norm or "backward")
        return getattr(jnp.fft, kind)(x, s, axes=dim, norm=norm or "backward")

    impl.__name__ = name
    impl.__doc__ = f"Mirrors `torch.fft.{name}`."
    return register(name, namespace="torch.fft", method=False, out=True, scalars=())(impl)


def _irfftn(x, s, dim, norm):
    # torch's default last-dim length is 2 * (n - 1), as jnp's; s given is honoured as is
    return jnp.fft.irfftn(x, s, axes=dim, norm=norm)


fft = _one("fft", "fft")
ifft = _one("ifft", "ifft")
rfft = _one("rfft", "rfft")
irfft = _one("irfft", "irfft")
hfft = _one("hfft", "hfft")
ihfft = _one("ihfft", "ihfft")
for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
    _many(_name + "n", _name + "n", True)
    _many(_name + "n", _name + "2", False)


def _shift(input, dim, sign):
    if dim is None:
        dim = tuple(range(input.ndim))
    elif isinstance(dim, int):
        dim = (dim,)
    if not dim:   # torch's roll rejects an empty shift list
        raise RuntimeError("fftshift/ifftshift: `shifts` required (no dims to shift)")
    dim = tuple(_wrap_dim(d, input.ndim) for d in dim)
    shifts = tuple(sign * (input.shape[d] // 2) for d in dim)
    return jnp.roll(input, shifts, axis=dim)


@register(namespace="torch.fft", method=False)
def fftshift(input, dim=None):
    """Mirrors `torch.fft.fftshift`."""
    return _shift(input, dim, 1)


@register(namespace="torch.fft", method=False)
def ifftshift(input, dim=None):
    """Mirrors `torch.fft.ifftshift`."""
    return _shift(input, dim, -1)


def _freq_dtype(name, dtype):
    d = dtype or _dtype.get_default_dtype()
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    return d


@register(namespace="torch.fft", method=False, scalars=())
def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
            pin_memory=False):
    """Mirrors `torch.fft.fftfreq`."""
    out = _freq_dtype("fftfreq", dtype)
    return jnp.fft.fftfreq(n, d).astype(np_dtype(out))


@register(namespace="torch.fft", method=False, scalars=())
def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """Mirrors `torch.fft.rfftfreq`."""
    out = _freq_dtype("rfftfreq", dtype)
    return jnp.fft.rfftfreq(n, d).astype(np_dtype(out))
