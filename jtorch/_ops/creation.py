"""Creation ops: tensor, as_tensor, from_numpy, zeros/ones/full/empty(_like), ranges, eye."""
from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .. import _device, _dtype
from .._tensor import Tensor
from ._util import is_python_scalar, torch_dtype
from .registry import _type_name, register, write_inplace

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range", "linspace",
    "logspace", "eye", "legacy_constructor", "scalar_tensor", "empty_strided", "empty_permuted",
    "zero_",
]

_builtin_range = range


def _place(value, device, requires_grad=False) -> Tensor:
    """Put a jax array on the requested (or default) device and wrap it."""
    dev = device if device is not None else _device._default_device[0]
    if dev is not None:
        target = _device.to_jax(dev)
        if target not in value.devices():
            value = jax.device_put(value, target)
    else:
        value = _device.commit_default(value)
    out = Tensor._wrap(value)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _infer_dtype(data) -> _dtype.dtype:
    """torch.tensor's dtype inference over nested Python data."""
    best = None

    def visit(x):
        nonlocal best
        if isinstance(x, Tensor):
            d = x.dtype
        elif isinstance(x, (np.ndarray, np.generic, jax.Array)):
            d = _dtype.from_numpy_dtype(x.dtype)
        elif isinstance(x, bool):
            d = _dtype.bool_
        elif isinstance(x, numbers.Integral):
            d = _dtype.int64
        elif isinstance(x, numbers.Real):
            d = _dtype.get_default_dtype()
        elif isinstance(x, numbers.Complex):
            d = _dtype.default_complex_dtype()
        elif isinstance(x, (list, tuple, _builtin_range)):
            for v in x:
                visit(v)
            return
        elif isinstance(x, str):
            raise ValueError(f"too many dimensions '{type(x).__name__}'")
        else:
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")
        best = d if best is None else _dtype.promote_types(best, d)

    visit(data)
    return best if best is not None else _dtype.get_default_dtype()


def _check_ragged(data, dim=0):
    """ValueError for ragged nesting, with torch's message."""
    if isinstance(data, (list, tuple)):
        lengths = None
        for v in data:
            if isinstance(v, (list, tuple)):
                n = len(v)
                if lengths is None:
                    lengths = n
                elif n != lengths:
                    raise ValueError(f"expected sequence of length {lengths} at dim {dim + 1} "
                                     f"(got {n})")
                _check_ragged(v, dim + 1)
            elif lengths is not None:
                raise TypeError(f"'{type(v).__name__}' object is not a sequence")
        if lengths is not None and not all(isinstance(v, (list, tuple)) for v in data):
            raise TypeError("'list' object cannot be interpreted as an integer")


def _to_numpy(data, dtype: _dtype.dtype) -> np.ndarray:
    if isinstance(data, (Tensor, jax.Array)):
        return np.asarray(data._value if isinstance(data, Tensor) else data).astype(dtype._np)
    if isinstance(data, _builtin_range):
        data = list(data)
    if isinstance(data, (list, tuple)):
        _check_ragged(data)
        if any(isinstance(v, Tensor) for v in _flatten(data)):
            data = _tensors_to_lists(data)
    try:
        return np.array(data, dtype=dtype._np)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None


def _flatten(data):
    if isinstance(data, (list, tuple)):
        for v in data:
            yield from _flatten(v)
    else:
        yield data


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return np.asarray(data._value).tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(v) for v in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.tensor`: always copies."""
    d = dtype or _infer_dtype(data)
    return _place(jnp.asarray(_to_numpy(data, d)), device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, **_) -> Tensor:
    """Mirrors `torch.scalar_tensor`."""
    d = dtype or _dtype.get_default_dtype()
    if isinstance(s, complex) and not d.is_complex:
        raise RuntimeError(f"value cannot be converted to type {d._name[:5]} without overflow")
    return tensor(s, dtype=dtype or _dtype.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Mirrors `torch.as_tensor`: returns `data` itself when dtype and device match."""
    if isinstance(data, Tensor):
        if (dtype is None or dtype == data.dtype) and (device is None or
                                                       _device.device(device) == data.device):
            return data
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and dtype is None:
        return from_numpy(data) if device is None else from_numpy(data).to(device)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    """Mirrors `torch.asarray`; `copy=False` cannot share numpy memory (jax copies it)."""
    if isinstance(obj, Tensor):
        out = as_tensor(obj, dtype=dtype, device=device)
        if copy and out is obj:
            out = obj.clone()
    elif isinstance(obj, np.ndarray) and dtype is None:
        out = as_tensor(obj, device=device)
    else:
        out = tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        if out is obj:
            out = obj.detach()
        out.requires_grad_(True)
    return out


def from_numpy(array: np.ndarray) -> Tensor:
    """Mirrors `torch.from_numpy`; the data is copied (jax arrays cannot share numpy memory)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    d = _dtype.from_numpy_dtype(array.dtype)
    return _place(jnp.asarray(array, dtype=d._np), None)


def _shape(size) -> tuple:
    """zeros(2, 3) and zeros((2, 3)) forms."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.__index__()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"zeros(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _filled(shape, fill, dtype, device, requires_grad):
    d = dtype or _dtype.get_default_dtype()
    return _place(jnp.full(shape, fill, dtype=d._np), device, requires_grad)


def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False) -> Tensor:
    """Mirrors `torch.zeros`."""
    shape = _shape(sizes if size is None else (size,))
    return _finish(_filled(shape, 0, dtype, device, requires_grad), out)


def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False) -> Tensor:
    """Mirrors `torch.ones`."""
    shape = _shape(sizes if size is None else (size,))
    return _finish(_filled(shape, 1, dtype, device, requires_grad), out)


def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    """Mirrors `torch.empty`; the values are zeros (jax has no uninitialised memory)."""
    shape = _shape(sizes if size is None else (size,))
    return _finish(_filled(shape, 0, dtype, device, requires_grad), out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.full`."""
    if not isinstance(fill_value, (numbers.Number, Tensor, np.generic)):
        raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not "
                        f"{type(fill_value).__name__}")
    if dtype is None:
        value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
        if isinstance(value, np.generic):   # torch reads numpy scalars as Python numbers
            value = 1.0 if isinstance(value, np.bool_) else value.item()
        dtype = _infer_dtype(value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _finish(_filled(_shape((size,)), fill_value, dtype, device, requires_grad), out)


def _finish(result: Tensor, out):
    if out is None:
        return result
    from .registry import write_out
    return write_out(out, result, "creation")


def _like(input: Tensor, fill, dtype, device, requires_grad):
    d = dtype or input.dtype
    return _place(jnp.full(input._value.shape, fill, dtype=d._np),
                  device if device is not None else input.device, requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Mirrors `torch.zeros_like`."""
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """Mirrors `torch.ones_like`."""
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Mirrors `torch.empty_like`."""
    return _like(input, 0, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """Mirrors `torch.full_like`."""
    return _like(input, _num(fill_value), dtype, device, requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def _range_args(start, end, step, name):
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError(f"upper bound and {'larger' if name == 'arange' else 'lower'} bound "
                           "inconsistent with step sign")
    return start, end, step


def _range_values(start, step, n, d: _dtype.dtype, name):
    """start + i * step, computed as torch does: in int64 for integer dtypes (the bounds and
    step truncated first), in double otherwise."""
    if d._category == 0 or d.is_complex:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_type_name(d)}\'')
    if d._category == 1:
        values = int(start) + int(step) * np.arange(n, dtype=np.int64)
    else:
        values = start + np.arange(n, dtype=np.float64) * step
    return jnp.asarray(values.astype(d._np))


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.arange`: int64 when every argument is an integer."""
    start, end, step = _range_args(start, end, step, "arange")
    if dtype is None and isinstance(out, Tensor):
        dtype = out.dtype       # torch builds the range in out's dtype
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtype.int64 if integral else _dtype.get_default_dtype()
    if dtype is _dtype.int64:
        # torch sizes int64 ranges in integer arithmetic on the truncated arguments
        istart, iend, istep = int(start), int(end), int(step)
        if istep == 0:
            raise ValueError("step must be nonzero")
        num = iend - istart + istep - (1 if istep > 0 else -1)
        n = abs(num) // abs(istep) * (1 if (num >= 0) == (istep > 0) else -1)
    else:
        n = math.ceil((end - start) / step)
    values = _range_values(start, step, max(0, n), dtype, "arange")
    return _finish(_place(values, device, requires_grad), out)


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False) -> Tensor:
    """Mirrors the deprecated `torch.range` (end inclusive, default dtype)."""
    start, end, step = _range_args(start, end, step, "range")
    d = dtype or _dtype.get_default_dtype()
    n = int(math.floor((end - start) / step)) + 1
    values = _range_values(start, step, max(n, 0), d, "range")
    return _finish(_place(values, device, requires_grad), out)


def _spaced(start, end, steps, d: _dtype.dtype, name, fused=False) -> np.ndarray:
    """linspace's points as torch computes them: the bounds cast to the dtype first, the step
    and points in the dtype's arithmetic (double for integer dtypes), the first half counted
    from start and the second back from end."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"{name}(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if d._category == 0:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_type_name(d)}\'')
    if d._category == 1:
        ct = np.dtype(np.float64)
        first, last = ct.type(int(np.real(start))), ct.type(int(np.real(end)))
    else:
        ct = d._np
        first, last = np.asarray(start).astype(ct)[()], np.asarray(end).astype(ct)[()]
    if steps <= 1:
        return np.full(steps, first, dtype=ct)
    idx = np.arange(steps)
    step = (last - first) / ct.type(steps - 1)
    # integer linspace: torch's kernel computes start + step * i as one fused multiply-add,
    # which the extended precision of longdouble reproduces before the truncation
    wide = np.longdouble if fused and d._category == 1 else ct.type
    forward = wide(first) + wide(step) * idx.astype(wide)
    backward = wide(last) - wide(step) * (steps - 1 - idx).astype(wide)
    return np.where(idx < steps // 2, forward, backward).astype(ct)


def _c_cast(values: np.ndarray, d: _dtype.dtype) -> np.ndarray:
    """double -> integer as torch's C++ casts do on x86: truncation, out-of-range values
    becoming the minimum of int64 (int64) or of int32 (narrower types, which then wrap)."""
    values = np.trunc(values)
    bits = 64 if d is _dtype.int64 else 32
    lo, hi = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1)
    bad = ~((values >= lo) & (values < hi))
    out = np.where(bad, lo, values).astype(np.int64 if bits == 64 else np.int32)
    return out.astype(d._np)


def _space_dtype(dtype, start, end):
    if dtype is not None:
        return dtype
    if isinstance(start, complex) or isinstance(end, complex):
        return _dtype.default_complex_dtype()
    return _dtype.get_default_dtype()


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """Mirrors `torch.linspace`."""
    start, end = _num(start), _num(end)
    d = _space_dtype(dtype, start, end)
    values = _spaced(start, end, steps, d, "linspace", fused=True)
    return _finish(_place(jnp.asarray(values.astype(d._np)), device, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """Mirrors `torch.logspace`."""
    start, end = _num(start), _num(end)
    d = _space_dtype(dtype, start, end)
    exps = _spaced(start, end, steps, d, "logspace")
    wide = np.complex128 if d.is_complex else np.float64
    values = np.power(np.asarray(_num(base), dtype=wide), exps.astype(wide))
    if d._category == 1:
        values = _c_cast(values, d)
    return _finish(_place(jnp.asarray(values.astype(d._np)), device, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    """Mirrors `torch.eye`."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    d = dtype or _dtype.get_default_dtype()
    return _finish(_place(jnp.eye(n, n if m is None else m, dtype=d._np), device,
                          requires_grad), out)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """Mirrors `torch.empty_strided`; jax arrays have no strides, so `stride` is only checked."""
    size = _shape((size,))
    if len(tuple(stride)) != len(size):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of "
                           f"strides ({len(tuple(stride))})")
    return empty(size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.empty_permuted`; the physical layout is only checked (no strides)."""
    size, perm = _shape((size,)), tuple(physical_layout)
    if len(perm) != len(size):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to "
                           f"len(physical_layout) = {len(perm)}")
    for i, p in enumerate(perm):
        # torch takes no negative dims here
        if not 0 <= p < len(size):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and "
                               f"{len(size) - 1}, but got {p} at index {i})")
    if len(set(perm)) != len(perm):
        raise RuntimeError("Duplicate dim not allowed")
    return empty(size, dtype=dtype, device=device, requires_grad=requires_grad)


@register(method=False, inplace=True, scalars=("input", "value"))
def fill(input, value):
    """Mirrors `torch.fill` (and `Tensor.fill_`)."""
    if hasattr(value, "ndim") and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    d = torch_dtype(input)
    if is_python_scalar(value) and jnp.iscomplexobj(value) and not d.is_complex:
        raise RuntimeError(f"value cannot be converted to type {d._name} without overflow")
    if jnp.iscomplexobj(value) and not d.is_complex:
        value = jnp.real(value)   # torch keeps the real part of a complex value tensor
    return jnp.full(input.shape, value, dtype=d._np)


def zero_(input: Tensor) -> Tensor:
    """Mirrors `torch.zero_` / `Tensor.zero_`."""
    return write_inplace(input, Tensor._wrap(jnp.zeros(input.shape, input.dtype._np)), "zero_")


Tensor.zero_ = zero_


def legacy_constructor(cls, *args, **kwargs):
    """`torch.Tensor(data)` / `torch.Tensor(2, 3)`: the default dtype, copy of data."""
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"Tensor(): unexpected keyword argument {next(iter(kwargs))}")
    d = _dtype.get_default_dtype()
    if len(args) == 0:
        return zeros(0, dtype=d, device=device)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return zeros(*args, dtype=d, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]
    if len(args) == 1 and isinstance(args[0], (tuple, list, np.ndarray)):
        return tensor(args[0], dtype=d, device=device)
    raise TypeError(f"new(): invalid arguments {args}")


# -- new_* methods ----------------------------------------------------------------------------
def _new_defaults(self, dtype, device):
    return dtype or self.dtype, device if device is not None else self.device


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return tensor(data, dtype=d, device=dev, requires_grad=requires_grad)


def _new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return zeros(*size, dtype=d, device=dev, requires_grad=requires_grad)


def _new_ones(self, *size, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return ones(*size, dtype=d, device=dev, requires_grad=requires_grad)


def _new_empty(self, *size, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return empty(*size, dtype=d, device=dev, requires_grad=requires_grad)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                       **_):
    d, dev = _new_defaults(self, dtype, device)
    return empty_strided(size, stride, dtype=d, device=dev, requires_grad=requires_grad)


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return full(size, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


Tensor.new_tensor = _new_tensor
Tensor.new_zeros = _new_zeros
Tensor.new_ones = _new_ones
Tensor.new_empty = _new_empty
Tensor.new_empty_strided = _new_empty_strided
Tensor.new_full = _new_full


# The samplers and the seeding API live in random.py / jtorch/random.py; they are exported
# from here so that `from ._ops.creation import *` in jtorch/__init__.py publishes them.
from .random import *  # noqa: E402,F401,F403
from .random import __all__ as _random_all  # noqa: E402
from ..random import (  # noqa: E402,F401
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state)

__all__ += _random_all + ["Generator", "default_generator", "get_rng_state", "initial_seed",
                          "manual_seed", "seed", "set_rng_state"]


def _chalf(self, memory_format=None):
    """`Tensor.chalf`: jtorch has no complex32 dtype (jax has no complex half)."""
    raise NotImplementedError("jtorch does not implement complex32 (Tensor.chalf): jax has no "
                              "half-precision complex dtype")


Tensor.chalf = _chalf
