"""`Tensor.__getitem__` / `__setitem__` and `index_put`, with torch's indexing rules.

An index is normalised on the host (see "structure" below); boolean masks become index
arrays there, so every kernel has a static output shape and stays jit-compiled. Index
arrays are bounds-checked before the kernel (jax would clamp). Basic indices (ints, slices,
None, one Ellipsis) take a short path straight to the cached kernel for their structure.

Where torch differs from numpy: an int is always a plain select (numpy counts an int next
to an index array as an advanced index, which moves the advanced dims), a negative slice
step raises ValueError, a Python bool indexes a new unit dim, a non-tuple sequence that
holds slices, tensors or sequences is read as a tuple, and assigning a list raises TypeError.
"""
from __future__ import annotations

import operator
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from .. import _alias, _dtype
from .._grad_state import STATE as _GRAD
from .._tensor import Tensor, cast_value
from .registry import register, publish, write_inplace, _type_name, _TENSOR, _freeze


# -- host side: normalising an index --------------------------------------------------------
#
# The normalised index ("structure") is a hashable tuple of: _INT (an int passed to the kernel
# as a traced scalar, so `x[i]` in a loop compiles once), a literal int (a small one),
# ("s", start, stop, step), None, Ellipsis, ("b", bool), or an integer jax array.

class _IntMarker:
    def __repr__(self):
        return "<int>"


_INT = _IntMarker()
_DYN = "dynamic"    # ("s", _DYN, length, step): a slice whose start is a traced scalar
_MAX_DYNAMIC = 8
_NOT_BASIC = object()


def _as_tuple(index) -> tuple:
    if type(index) is tuple:
        return index
    # torch reads a short non-tuple sequence as a tuple when it holds an index of its own kind
    if type(index) is list and len(index) < 32:
        for item in index:
            if isinstance(item, (Tensor, list, tuple, slice, np.ndarray)) or item is None \
                    or item is Ellipsis:
                return tuple(index)
    return (index,)


def _array_item(arr, as_select: bool):
    """An index given as an array (numpy or jax): a mask, an index array, or an int."""
    kind = np.dtype(arr.dtype).kind
    if kind == "b" or arr.dtype == np.uint8:
        if arr.ndim == 0:
            return ("b", bool(arr))
        return ("mask", arr)
    if arr.dtype not in (np.int64, np.int32):
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if arr.ndim == 0 and as_select and not isinstance(arr, jax.core.Tracer):
        return int(arr)
    return arr if isinstance(arr, jax.Array) else jnp.asarray(arr)


def _item(item, as_select: bool):
    if item is None or item is Ellipsis:
        return item
    tp = type(item)
    if tp is bool or tp is np.bool_:
        return ("b", bool(item))
    if tp is int:
        return item
    if tp is slice:
        return ("s",) + tuple(None if v is None else operator.index(v)
                              for v in (item.start, item.stop, item.step))
    if isinstance(item, Tensor):
        return _array_item(item._value, as_select)
    if isinstance(item, (list, tuple, np.ndarray)):
        arr = np.asarray(item)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        if arr.dtype == object:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices")
        return _array_item(arr, as_select and isinstance(item, np.ndarray))
    if isinstance(item, jax.Array):
        return _array_item(item, as_select)
    if hasattr(item, "__index__") and not isinstance(item, float):
        return operator.index(item)
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(item).__name__})")


def _consumed(item) -> int:
    """How many of the tensor's dims one index item uses."""
    if item is None or item is Ellipsis:
        return 0
    if type(item) is tuple:
        return 0 if item[0] == "b" else item[1].ndim if item[0] == "mask" else 1
    return 1


def _expand(items, ndim: int) -> list:
    """Ellipsis replaced by full slices, and a check that the index does not use more dims
    than the tensor has."""
    used = sum(_consumed(i) for i in items)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out, dim = [], 0
    for item in items:
        if item is Ellipsis:
            # torch lets a second Ellipsis through; it stands for the dims still left, if any
            fill = min(ndim - used, ndim - dim)
            out.extend([("s", None, None, None)] * fill)
            dim += fill
        else:
            out.append(item)
            dim += _consumed(item)
    if dim > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    return out


def _int_error(index, dim, size):
    return IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")


def _dynamic_ints(items, shape):
    """Ints checked against their dims; those outside [-8, 8) move out of the structure (the
    first _MAX_DYNAMIC of them), for the kernel to take as traced scalars: `x[i]` in a loop
    compiles a handful of kernels, while `x[0]` keeps a kernel with no scalar to pass."""
    structure, ints, dim = [], [], 0
    for item in items:
        if type(item) is tuple and item[0] == "s" and item[1] is not None and \
                not -8 <= item[1] < 8 and (item[3] is None or item[3] > 0) and \
                len(ints) < _MAX_DYNAMIC:
            # x[i:i + k] in a loop: the start becomes a traced scalar and the length stays in
            # the structure, so every i shares one kernel
            start, stop, step = slice(*item[1:]).indices(shape[dim])
            structure.append(("s", _DYN, len(range(start, stop, step)), step))
            ints.append(start)
            dim += 1
            continue
        if type(item) is int:
            size = shape[dim]
            if not -size <= item < size:
                raise _int_error(item, dim, size)
            if not -8 <= item < 8 and len(ints) < _MAX_DYNAMIC:
                structure.append(_INT)
                ints.append(item)
                dim += 1
                continue
        structure.append(item)
        dim += _consumed(item)
    return tuple(structure), tuple(ints)


def basic_plan(shape, index):
    """(structure, ints) for an index of ints, slices, None and one Ellipsis; _NOT_BASIC
    for anything else. Cheap: this is `x[0]`'s whole host-side cost."""
    if type(index) is int:
        size = shape[0] if shape else 0
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        if not -size <= index < size:
            raise _int_error(index, 0, size)
        if -8 <= index < 8:
            return (index,), ()
        return (_INT,), (index,)
    items = index if type(index) is tuple else (index,)
    out = []
    for item in items:
        tp = type(item)
        if tp is slice:
            a, b, c = item.start, item.stop, item.step
            if (a is None or type(a) is int) and (b is None or type(b) is int) and \
                    (c is None or type(c) is int):
                out.append(("s", a, b, c))
                continue
            return _NOT_BASIC, None
        if tp is int or item is None or item is Ellipsis:
            out.append(item)
            continue
        return _NOT_BASIC, None
    return _dynamic_ints(_expand(out, len(shape)), shape)


def normalize(shape: tuple, index, *, as_select: bool = True):
    """(structure, ints) for any index on a tensor of `shape`: masks become index arrays
    (on the host: their nonzero positions), and index arrays are bounds-checked."""
    items = _expand([_item(i, as_select) for i in _as_tuple(index)], len(shape))
    out, checks, dim, empty = [], [], 0, False
    for item in items:
        if type(item) is tuple and item[0] == "mask":
            mask = np.asarray(item[1]).astype(bool)
            for k in range(mask.ndim):
                if dim + k >= len(shape) or mask.shape[k] != shape[dim + k]:
                    raise IndexError(f"The shape of the mask {list(mask.shape)} at index {k} does "
                                     f"not match the shape of the indexed tensor {list(shape)} at "
                                     f"index {dim + k}")
            out.extend(jnp.asarray(a, dtype=jnp.int64) for a in np.nonzero(mask))
            dim += mask.ndim
            continue
        if isinstance(item, jax.Array):
            empty = empty or not item.size
            checks.append((item, dim, shape[dim]))
        elif type(item) is tuple and item[0] == "s":
            empty = empty or not len(range(*slice(*item[1:]).indices(shape[dim])))
        out.append(item)
        dim += _consumed(item)
    # torch reads the index values only when the result has elements
    if not (empty or 0 in shape[dim:]):
        check_bounds(checks)
    return _dynamic_ints(out, shape)


@jax.jit
def _extremes(arrays):
    return jnp.stack([jnp.stack([a.min(), a.max()]).astype(jnp.int64) for a in arrays])


# jax arrays never change, so an index tensor used again (a fixed permutation, say) skips
# the device round trip; entries leave with their array
_EXTREMES: dict = {}


def _known_extremes(arrays):
    """(min, max) of each index array; None for a traced one (inside a whole-step jit the
    values cannot be read, and jax's clamping stands)."""
    out = [None] * len(arrays)
    missing = []
    for k, a in enumerate(arrays):
        if isinstance(a, jax.core.Tracer):
            continue
        hit = _EXTREMES.get(id(a))
        if hit is not None and hit[0]() is a:
            out[k] = hit[1]
        else:
            missing.append(k)
    if missing:
        ext = np.asarray(_extremes(tuple(arrays[k] for k in missing)))
        for k, row in zip(missing, ext):
            out[k] = (int(row[0]), int(row[1]))
            key = id(arrays[k])
            try:
                ref = weakref.ref(arrays[k], lambda _, key=key: _EXTREMES.pop(key, None))
            except TypeError:       # a tracer or other value without weak references
                continue
            _EXTREMES[key] = (ref, out[k])
    return out


def check_bounds(checks, message="index {index} is out of bounds for dimension {dim} with "
                 "size {size}", error=IndexError, *, negative=True):
    """Raise `error` for the first index array with a value outside its dim ([-size, size),
    or [0, size) without `negative`): one fused min/max reduction over all of them, then one
    host read."""
    if not checks:
        return
    for ext, (_, dim, size) in zip(_known_extremes([c[0] for c in checks]), checks):
        if ext is None:
            continue
        lo, hi = ext
        bad = hi if hi >= size else lo if lo < (-size if negative else 0) else None
        if bad is not None:
            raise error(message.format(index=int(bad), dim=dim, size=size))


# -- kernels: a normalised index applied to a jax array --------------------------------------

def _split(input_shape, structure, ints):
    """The index as torch applies it: a basic index (ints, slices) on the tensor, unit dims
    inserted where None/bool stood, then the advanced index (arrays) on that."""
    ints = iter(ints)
    basic, newaxes, advanced, dynamic = [], [], [], []
    dim = 0
    for item in _expand(list(structure), len(input_shape)):
        if item is None or type(item) is tuple and item[0] == "b":
            newaxes.append(len(advanced))
            advanced.append(slice(None) if item is None else
                            jnp.zeros((1 if item[1] else 0,), jnp.int64))
            continue
        if item is _INT:
            basic.append(next(ints))
        elif type(item) is int:
            size = input_shape[dim]
            if not -size <= item < size:
                raise _int_error(item, dim, size)
            basic.append(item)
        elif type(item) is tuple and item[1] == _DYN:
            length, step = item[2], item[3]
            dynamic.append((dim, next(ints), (length - 1) * step + 1 if length else 0))
            basic.append(slice(None, None, step))
            advanced.append(slice(None))
        elif type(item) is tuple:
            if item[3] is not None and item[3] <= 0:
                raise ValueError("step must be greater than zero")
            basic.append(slice(*item[1:]))
            advanced.append(slice(None))
        else:
            basic.append(slice(None))
            advanced.append(item)
        dim += 1
    arrays = [a for a in advanced if not isinstance(a, slice)]
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {', '.join(str(list(a.shape)) for a in arrays)}") from None
    has_arrays = bool(arrays)
    return tuple(dynamic), tuple(basic), tuple(newaxes), tuple(advanced) if has_arrays else None


def _dynamic_region(x, dynamic):
    for axis, start, span in dynamic:
        x = jax.lax.dynamic_slice_in_dim(x, start, span, axis)
    return x


def _take(x, dynamic, basic, newaxes, advanced):
    x = _dynamic_region(x, dynamic)
    if basic:
        x = x[basic]
    if newaxes:
        x = jnp.expand_dims(x, newaxes)
    if advanced is not None:
        x = x[advanced]
    return x


def _strip_leading_ones(value, ndim):
    while value.ndim > ndim and value.shape[0] == 1:
        value = value[0]
    return value


def _put(input, structure, ints, value, accumulate):
    dynamic, basic, newaxes, advanced = _split(input.shape, structure, ints)
    whole, input = input, _dynamic_region(input, dynamic)
    part = input[basic] if basic else input
    if newaxes:
        part = jnp.expand_dims(part, newaxes)
    target = tuple(jax.eval_shape(lambda p: p[advanced], part).shape) \
        if advanced is not None else part.shape
    value = _strip_leading_ones(cast_value(jnp.asarray(value), input.dtype), len(target))
    try:
        ok = np.broadcast_shapes(value.shape, target) == target
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(target)}")
    if advanced is None:
        value = jnp.broadcast_to(value, target)
        part = part + value if accumulate else value
    elif accumulate:
        part = part.at[advanced].add(value)
    else:
        part = part.at[advanced].set(value)
    if newaxes:
        part = jnp.squeeze(part, newaxes)
    region = input.at[basic].set(part) if basic else part
    if not dynamic:
        return region
    starts = [jnp.zeros((), jnp.int64)] * whole.ndim
    for axis, start, _ in dynamic:
        starts[axis] = jnp.asarray(start, jnp.int64)
    return jax.lax.dynamic_update_slice(whole, region, starts)


_INT_PARAMS = tuple(f"i{k}" for k in range(_MAX_DYNAMIC))


@register(name="__getitem__", method=False, function=False, scalars=_INT_PARAMS)
def _getitem(input, structure, i0=0, i1=0, i2=0, i3=0, i4=0, i5=0, i6=0, i7=0):
    """`input[index]` for a normalised index; i0... are its ints, as traced scalars."""
    return _take(input, *_split(input.shape, structure, (i0, i1, i2, i3, i4, i5, i6, i7)))


@register(name="__setitem__", method=False, function=False,
          scalars=("value",) + _INT_PARAMS)
def _setitem(input, structure, value, i0=0, i1=0, i2=0, i3=0, i4=0, i5=0, i6=0, i7=0):
    """The value of `input` after `input[index] = value`."""
    return _put(input, structure, (i0, i1, i2, i3, i4, i5, i6, i7), value, False)


_GET = _getitem._op
_SET = _setitem._op
_FAST: dict = {}    # (structure, default dtype) -> the op's kernel for it
_FAST_KEYS: dict = {}   # (structure, default dtype) -> the registry key of that kernel


def __getitem__(self, index):
    shape = self._value.shape
    structure, ints = basic_plan(shape, index)
    if structure is _NOT_BASIC:
        structure, ints = normalize(shape, index)
        return _getitem(self, structure, *ints)
    # basic indexing skips the registry's generic argument walk: same kernel, same key
    cache_key = (structure, _dtype._default_dtype[0])
    fn = _FAST.get(cache_key)
    if fn is None or self.requires_grad:
        result = _getitem(self, structure, *ints)
        if fn is None:   # the key the registry filed the kernel under (no kernel: no shortcut)
            key = ((_TENSOR, _freeze(structure, [], [])) + (_TENSOR,) * len(ints), (),
                   _dtype._default_dtype[0])
            kernel = getattr(_GET, "kernels", {}).get(key)
            if kernel is not None:
                _FAST[cache_key] = kernel
                _FAST_KEYS[cache_key] = key
        return result
    result = Tensor._wrap(fn(self._value, *ints))
    _alias.make_view(_GET, _FAST_KEYS[cache_key], (None,) + ints, self, result)
    return result


def __setitem__(self, index, value):
    if isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    if isinstance(value, np.generic):   # a traced scalar, not a constant in the kernel key
        value = value.item()
    shape = self._value.shape
    structure, ints = basic_plan(shape, index)
    if structure is _NOT_BASIC:
        structure, ints = normalize(shape, index)
    elif self._view is not None:
        # into a view: write the indexed part as its own view (as torch's copy_ into
        # self[index]), so that a view showing one element twice gets only that part written
        part = self[index]
        write_inplace(part, _setitem(part, (), value), "copy_")
        return
    elif self._view is None and _alias.exclusive(self) and _no_grad(self, value):
        # x[i] = v in a loop: write into x's own buffer instead of copying it per write
        kind = type(value)
        if kind is Tensor or kind in _NUMBERS:
            key = ((_TENSOR, _freeze(structure, [], []), _TENSOR) + (_TENSOR,) * len(ints), (),
                   _dtype._default_dtype[0])
            new = _SET.donating_kernel(key)(
                self._value, value._value if kind is Tensor else value, *ints)
            _alias.write(self, new, owned=True)
            return
    write_inplace(self, _setitem(self, structure, value, *ints), "__setitem__")
    if self._view is None:
        self._owns = id(self._value)    # a fresh buffer from the kernel: later writes reuse it


_NUMBERS = (int, float, bool, complex)


def _no_grad(self, value):
    return not _GRAD.enabled or not (self._requires_grad or (
        isinstance(value, Tensor) and value._requires_grad))


Tensor.__getitem__ = __getitem__
Tensor.__setitem__ = __setitem__


# -- index_put ----------------------------------------------------------------------------------

def _index_put_structure(input, indices):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    for k, i in enumerate(indices):
        if not isinstance(i, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 0, but got "
                            f"{type(i).__name__}")
    structure, ints = normalize(input.shape, tuple(indices), as_select=False)
    assert not ints
    return structure


@register(name="index_put", method=False, function=False)
def _index_put(input, structure, values, accumulate):
    return _put(input, structure, (), values, accumulate)


def _check_values(input, values):
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if values.dtype != input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_type_name(input.dtype)} for the destination and "
                           f"{_type_name(values.dtype)} for the source.")


def index_put(input, indices, values, accumulate=False):
    """Mirrors `torch.index_put`."""
    _check_values(input, values)
    return _index_put(input, _index_put_structure(input, indices), values, bool(accumulate))


def index_put_(self, indices, values, accumulate=False):
    return write_inplace(self, index_put(self, indices, values, accumulate), "index_put_")


Tensor.index_put = index_put
Tensor.index_put_ = index_put_
# public functions whose arguments need host-side normalisation before the op's kernel
publish(index_put, "index_put")
publish(index_put_, "index_put_")
