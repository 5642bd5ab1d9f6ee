"""What the `torch.*` names in a checkpoint's pickle mean in jtorch: storage types, the
`torch._utils._rebuild_*` functions, and storages read from an archive.

Both unpicklers (the restricted one and `weights_only=False`) resolve torch's names through
`torch_globals()`, so a file written by real torch and one written by jtorch read the same.
"""
from __future__ import annotations

import functools
from collections import OrderedDict

from . import _alias, _dtype
from ._tensor import Size, Tensor


class StorageType:
    """`torch.FloatStorage` and the other typed storage classes, as a pickle names them."""

    def __init__(self, name: str, dtype: _dtype.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


STORAGE_TYPES = {d._storage: StorageType(d._storage, d) for d in _dtype.ALL_DTYPES}
# torch: an UntypedStorage pid counts bytes; _rebuild_tensor_v3 then names the dtype
STORAGE_TYPES["UntypedStorage"] = StorageType("UntypedStorage", _dtype.uint8)


class LoadedStorage:
    """One storage record of a file: its bytes become a jtorch root tensor on first use, and
    every tensor built on it afterwards is a view of that root (so they alias again)."""

    def __init__(self, dtype: _dtype.dtype, numel: int, read, place):
        self.dtype, self.numel = dtype, numel
        self._read = read          # () -> flat numpy array of `dtype`, `numel` long
        self._place = place        # (numpy array) -> root jtorch Tensor where it belongs
        self.root = None
        self._retyped: dict = {}

    def retyped(self, dtype: _dtype.dtype) -> LoadedStorage:
        """The same bytes seen as `dtype` (torch's untyped storages), one object per dtype."""
        if dtype is self.dtype:
            return self
        if dtype not in self._retyped:
            if self.root is not None:
                raise RuntimeError("jtorch: cannot load tensors of different dtypes that "
                                   "share one storage")
            read = self._read
            numel = self.numel * self.dtype.itemsize // dtype.itemsize
            self._retyped[dtype] = LoadedStorage(
                dtype, numel, lambda: read().view(dtype._np)[:numel], self._place)
        return self._retyped[dtype]

    def tensor(self, offset: int, size, stride) -> Tensor:
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride)) \
            if all(n > 0 for n in size) else 0
        if needed > self.numel:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                               f"offset {offset}, and itemsize {self.dtype.itemsize} requiring a "
                               f"storage size of {needed * self.dtype.itemsize} are out of bounds "
                               f"for storage of size {self.numel * self.dtype.itemsize}")
        if self.root is None:
            array = self._read()
            whole = offset == 0 and Size(size).numel() == self.numel \
                and stride == _alias.contiguous_strides(size)
            # a tensor that is its whole storage becomes the root itself: no view to keep
            self.root = self._place(array.reshape(size) if whole else array)
            if whole:
                return self.root
        from ._ops.shape import as_strided
        return as_strided(self.root, size, stride, offset)


class StorageSlice:
    """A legacy (pre-1.6) view storage: `numel` elements of `base` from `offset` on."""

    def __init__(self, base: LoadedStorage, offset: int, numel: int):
        self.base, self.offset, self.numel, self.dtype = base, offset, numel, base.dtype

    def tensor(self, offset: int, size, stride) -> Tensor:
        return self.base.tensor(self.offset + offset, size, stride)

    def retyped(self, dtype):
        return StorageSlice(self.base.retyped(dtype), self.offset, self.numel)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return storage.tensor(storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    t = storage.tensor(storage_offset, size, stride)
    if requires_grad:
        t.requires_grad = True
    return t


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    return _rebuild_tensor_v2(storage.retyped(dtype), storage_offset, size, stride,
                              requires_grad, backward_hooks, metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    for name, value in (state or {}).items():
        setattr(param, name, value)
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    result = func(*args)
    if type(result) is not new_type and isinstance(new_type, type) \
            and issubclass(new_type, Tensor):
        from .nn.parameter import _adopt
        result = _adopt(result, new_type, result.requires_grad)
    for name, value in (state or {}).items():
        setattr(result, name, value)
    return result


def _unsupported(what):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"jtorch does not implement loading {what} yet")
    return refuse


@functools.lru_cache(maxsize=1)
def torch_globals() -> dict:
    """torch's names a checkpoint may reference -> the jtorch object standing for each."""
    import jtorch

    from .nn.parameter import Parameter
    table = {
        "collections.OrderedDict": OrderedDict,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch._tensor.Tensor": Tensor,
        "torch.device": jtorch.device,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    }
    for kind in ("qtensor", "sparse_tensor", "nested_tensor", "meta_tensor_no_storage",
                 "wrapper_subclass", "device_tensor_from_numpy",
                 "device_tensor_from_cpu_tensor"):
        table[f"torch._utils._rebuild_{kind}"] = _unsupported(kind.replace("_", " ") + "s")
    for d in _dtype.ALL_DTYPES:
        table[repr(d)] = d
    for name, storage_type in STORAGE_TYPES.items():
        table["torch." + name] = storage_type
        table["torch.storage." + name] = storage_type
    return table


def resolve_torch_name(module: str, name: str):
    """For `weights_only=False`: torch's name if the table has it, else the same path in
    jtorch (`torch.nn.modules.linear.Linear` -> `jtorch.nn.modules.linear.Linear`)."""
    import importlib
    full = f"{module}.{name}"
    table = torch_globals()
    if full in table:
        return table[full]
    target = importlib.import_module("j" + module)
    for part in name.split("."):
        target = getattr(target, part)
    return target
