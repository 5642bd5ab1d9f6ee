"""Creation ops: tensor, as_tensor, from_numpy, zeros/ones/full/empty(_like), ranges, eye."""
from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .. import _device, _dtype
from .._tensor import Tensor
from ._util import torch_dtype

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range", "linspace",
    "logspace", "eye", "legacy_constructor", "scalar_tensor",
]

_builtin_range = range


def _place(value, device, requires_grad=False) -> Tensor:
    """Put a jax array on the requested (or default) device and wrap it."""
    dev = device if device is not None else _device._default_device[0]
    if dev is not None and _device.device(dev).type != "cpu":
        value = jax.device_put(value, _device.to_jax(dev))
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
        elif isinstance(x, np.ndarray) or isinstance(x, np.generic):
            d = _dtype.from_numpy_dtype(x.dtype)
        elif isinstance(x, bool):
            d = _dtype.bool_
        elif isinstance(x, numbers.Integral):
            d = _dtype.int64
        elif isinstance(x, numbers.Real):
            d = _dtype.get_default_dtype()
        elif isinstance(x, numbers.Complex):
            d = _dtype.default_complex_dtype()
        elif isinstance(x, (list, tuple)):
            for v in x:
                visit(v)
            return
        else:
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
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
                raise TypeError("not a sequence")


def _to_numpy(data, dtype: _dtype.dtype) -> np.ndarray:
    if isinstance(data, Tensor):
        return np.asarray(data._value).astype(dtype._np)
    if isinstance(data, (list, tuple)):
        _check_ragged(data)
        if any(isinstance(v, Tensor) for v in _flatten(data)):
            data = _tensors_to_lists(data)
    return np.array(data, dtype=dtype._np)


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


asarray = as_tensor


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


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False) -> Tensor:
    return _finish(_filled(_shape(size), 0, dtype, device, requires_grad), out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False) -> Tensor:
    return _finish(_filled(_shape(size), 1, dtype, device, requires_grad), out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    """Mirrors `torch.empty`; the values are zeros (jax has no uninitialised memory)."""
    return _finish(_filled(_shape(size), 0, dtype, device, requires_grad), out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    if dtype is None:
        dtype = _infer_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(_filled(_shape((size,) if isinstance(size, (tuple, list)) else (size,)),
                           fill_value, dtype, device, requires_grad), out)


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
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _like(input, fill_value, dtype, device, requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors `torch.arange`: int64 when every argument is an integer."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtype.int64 if integral else _dtype.get_default_dtype()
    n = max(0, math.ceil((end - start) / step))
    # torch computes start + i * step in double, then casts
    values = start + np.arange(n, dtype=np.float64 if not dtype.is_complex else np.complex128) * step
    if dtype._category <= 1:
        values = np.asarray([start + i * step for i in _builtin_range(n)]) if n else values
    return _finish(_place(jnp.asarray(np.asarray(values).astype(dtype._np)), device,
                          requires_grad), out)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False) -> Tensor:
    """Mirrors the deprecated `torch.range` (end inclusive, default dtype)."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    d = dtype or _dtype.get_default_dtype()
    values = start + np.arange(max(n, 0), dtype=np.float64) * step
    return _finish(_place(jnp.asarray(values.astype(d._np)), device, requires_grad), out)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    start, end = _num(start), _num(end)
    if not isinstance(steps, int) or steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dtype or (_dtype.default_complex_dtype() if isinstance(start, complex) or
                  isinstance(end, complex) else _dtype.get_default_dtype())
    if steps == 1:
        values = np.array([start], dtype=np.complex128 if d.is_complex else np.float64)
    else:
        # torch: the first half steps forward from start, the second back from end
        i = np.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1)
        half = steps // 2
        values = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if d._category == 1:
        values = np.trunc(np.real(values))
    return _finish(_place(jnp.asarray(values.astype(d._np)), device, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    exps = np.asarray(linspace(start, end, steps, dtype=_dtype.float64)._value)
    d = dtype or _dtype.get_default_dtype()
    values = np.power(float(base), exps)
    return _finish(_place(jnp.asarray(values.astype(d._np)), device, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    d = dtype or _dtype.get_default_dtype()
    return _finish(_place(jnp.eye(n, n if m is None else m, dtype=d._np), device,
                          requires_grad), out)


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


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, **_):
    d, dev = _new_defaults(self, dtype, device)
    return full(size, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


Tensor.new_tensor = _new_tensor
Tensor.new_zeros = _new_zeros
Tensor.new_ones = _new_ones
Tensor.new_empty = _new_empty
Tensor.new_full = _new_full
