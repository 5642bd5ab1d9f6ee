"""Mirrors `torch.nn.init`: in-place initialisers that run under no_grad and return the tensor.

The random numbers come from jax's PRNG (see jtorch/random.py), so they differ from
torch's; the distributions are torch's.
"""
import math
import warnings
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

import jtorch  # the package is still importing when nn is: names are read at call time

from .._ops.random import _sampler
from .._tensor import Tensor
from ..random import Generator

__all__ = [
    "calculate_gain", "constant", "constant_", "dirac", "dirac_", "eye", "eye_", "kaiming_normal",
    "kaiming_normal_", "kaiming_uniform", "kaiming_uniform_", "normal", "normal_", "ones_",
    "orthogonal", "orthogonal_", "sparse", "sparse_", "trunc_normal_", "uniform", "uniform_",
    "xavier_normal", "xavier_normal_", "xavier_uniform", "xavier_uniform_", "zeros_",
]

_NonlinearityType = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
_FanMode = Literal["fan_in", "fan_out"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid")


def _no_grad_uniform_(tensor: Tensor, a: float, b: float,
                      generator: Generator | None = None) -> Tensor:
    with jtorch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def _no_grad_normal_(tensor: Tensor, mean: float, std: float,
                     generator: Generator | None = None) -> Tensor:
    with jtorch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@_sampler(elementwise=True)
def _truncated_normal(key, shape, dtype, p_lo, p_hi, flip, mean, std, a, b):
    """mean + std * Phi^-1(U(p_lo, p_hi)), negated when `flip`, clipped to [a, b]."""
    work = np.float64 if dtype == np.float64 else np.float32
    u = jax.random.uniform(key, shape, work, p_lo, p_hi)
    info = jnp.finfo(work)
    z = jax.scipy.special.ndtri(jnp.clip(u, info.tiny, 1 - info.epsneg))   # finite ends
    return jnp.clip(jnp.where(flip, -z, z) * std + mean, a, b).astype(dtype)


def _no_grad_trunc_normal_(tensor: Tensor, mean: float, std: float, a: float, b: float,
                           generator: Generator | None = None) -> Tensor:
    if tensor.is_meta:
        return tensor
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=3)
    if not tensor.dtype.is_floating_point:
        raise NotImplementedError(f"trunc_normal_ is not implemented for {tensor.dtype}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a:g} > to={b:g}")
    # torch samples by rejection; we invert the normal CDF over [Phi(lo), Phi(hi)] instead,
    # on the side of the mean where the interval lies, so the probabilities stay small there
    # and float32 keeps its precision in the tails. The sign of std does not matter (torch's
    # rejection test uses std**2).
    std = abs(std)
    lo, hi = (a - mean) / std, (b - mean) / std    # std == 0: ZeroDivisionError, as torch
    flip = lo + hi > 0
    if flip:
        lo, hi = -hi, -lo
    value = _truncated_normal(generator, tuple(tensor.shape), tensor.dtype._np,
                              _normal_cdf(lo), _normal_cdf(hi), flip, mean, std, a, b)
    with jtorch.no_grad():
        return tensor.copy_(Tensor._wrap(value))


def _no_grad_fill_(tensor: Tensor, val: float) -> Tensor:
    with jtorch.no_grad():
        return tensor.fill_(val)


def _no_grad_zero_(tensor: Tensor) -> Tensor:
    with jtorch.no_grad():
        return tensor.zero_()


def calculate_gain(nonlinearity: _NonlinearityType, param: float | None = None) -> float:
    """Mirrors `torch.nn.init.calculate_gain`."""
    if nonlinearity in _LINEAR_FNS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4   # torch's empirical value
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.uniform_`."""
    return _no_grad_uniform_(tensor, a, b, generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.normal_`."""
    return _no_grad_normal_(tensor, mean, std, generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.trunc_normal_`.

    Samples by inverting the normal CDF, not by torch's rejection loop (same distribution).
    Infinite bounds are accepted; integer tensors raise NotImplementedError."""
    return _no_grad_trunc_normal_(tensor, mean, std, a, b, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Mirrors `torch.nn.init.constant_`."""
    return _no_grad_fill_(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Mirrors `torch.nn.init.ones_`."""
    return _no_grad_fill_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Mirrors `torch.nn.init.zeros_`."""
    return _no_grad_zero_(tensor)


def eye_(tensor: Tensor) -> Tensor:
    """Mirrors `torch.nn.init.eye_`."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with jtorch.no_grad():
        tensor.copy_(jtorch.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Mirrors `torch.nn.init.dirac_`."""
    dimensions = tensor.ndimension()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    if tensor.is_meta:
        return tensor
    out_chans_per_group = sizes[0] // groups
    min_dim = min(out_chans_per_group, sizes[1])
    # one scatter: output channel g * out_chans_per_group + d takes input channel d at the
    # kernel's centre
    out_channels = [g * out_chans_per_group + d for g in range(groups) for d in range(min_dim)]
    in_channels = [d for _ in range(groups) for d in range(min_dim)]
    centre = tuple(s // 2 for s in sizes[2:])
    with jtorch.no_grad():
        tensor.zero_()
        if out_channels:
            index = (jtorch.tensor(out_channels, device=tensor.device),
                     jtorch.tensor(in_channels, device=tensor.device), *centre)
            tensor[index] = 1
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive_field_size = math.prod(tensor.shape[2:])
    return tensor.size(1) * receptive_field_size, tensor.size(0) * receptive_field_size


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.xavier_uniform_`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std   # U(-bound, bound) has this std
    return _no_grad_uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.xavier_normal_`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _no_grad_normal_(tensor, 0.0, std, generator)


def _calculate_correct_fan(tensor: Tensor, mode: _FanMode) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _kaiming_std(tensor, a, mode, nonlinearity):
    """The std of kaiming_*_, or None (after torch's warning) for a zero-element tensor."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.kaiming_uniform_`."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std   # U(-bound, bound) has this std
    return _no_grad_uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                    nonlinearity: _NonlinearityType = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.kaiming_normal_`."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _no_grad_normal_(tensor, 0, std, generator)


@_sampler
def _orthogonal(key, shape, dtype, gain):
    rows = shape[0]
    cols = math.prod(shape) // rows
    flattened = jax.random.normal(key, (rows, cols), dtype)
    if rows < cols:
        flattened = flattened.T
    q, r = jnp.linalg.qr(flattened)
    # signs of R's diagonal make Q Haar-distributed (Mezzadri, arXiv:math-ph/0609050)
    q = q * jnp.sign(jnp.diagonal(r))
    if rows < cols:
        q = q.T
    return (q * gain).reshape(shape).astype(dtype)


def orthogonal_(tensor: Tensor, gain: float = 1,
                generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.orthogonal_`; also fills tensors that `view` cannot reshape."""
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.is_meta:
        return tensor
    if tensor.dtype not in (jtorch.float32, jtorch.float64):   # torch: QR or sign() refuse
        raise NotImplementedError(f"orthogonal_ is not implemented for {tensor.dtype}")
    value = _orthogonal(generator, tuple(tensor.shape), tensor.dtype._np, gain)
    with jtorch.no_grad():
        return tensor.copy_(Tensor._wrap(value))


@_sampler
def _sparse(key, shape, dtype, std, num_zeros):
    """N(0, std) with `num_zeros` random rows of every column zeroed: an argsort of iid
    uniforms along a column is a uniformly random permutation of its rows."""
    values_key, rows_key = jax.random.split(key)
    values = jax.random.normal(values_key, shape, dtype) * std
    permutation = jnp.argsort(jax.random.uniform(rows_key, shape), axis=0)
    return jnp.where(permutation < num_zeros, 0, values).astype(dtype)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: Generator | None = None) -> Tensor:
    """Mirrors `torch.nn.init.sparse_`.

    The zeroed rows come from `generator` too (torch draws them from the default
    generator)."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if tensor.is_meta:
        return tensor
    rows, cols = tensor.shape
    # torch zeroes randperm(rows)[:ceil(sparsity * rows)]: Python's slice rules give the count
    num_zeros = len(range(rows)[:math.ceil(sparsity * rows)])
    if not (tensor.dtype.is_floating_point or tensor.dtype.is_complex):
        raise NotImplementedError(f"sparse_ is not implemented for {tensor.dtype}")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    value = _sparse(generator, (rows, cols), tensor.dtype._np, std, num_zeros)
    with jtorch.no_grad():
        return tensor.copy_(Tensor._wrap(value))


def _make_deprecate(meth: Callable) -> Callable:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new_name}`.", FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"Mirrors `torch.nn.init.{old_name}` (deprecated: use `{new_name}`)."
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
