"""Mirrors `torch.serialization`: `save` and `load` in PyTorch's own zip format.

Files move both ways: what jtorch writes names only `torch.*` globals, so real torch loads it
with `weights_only=True`; what torch writes loads here with torch absent. The container is in
`_zip_archive`, the restricted unpickler in `_weights_only_unpickler`, the meaning of torch's
pickled names in `_serialization_globals`, the pre-1.6 format in `_legacy_serialization`.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import sys
import warnings
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np

from . import _alias, _device, _dtype
from . import _weights_only_unpickler as _wo
from ._map_location import placer
from ._serialization_globals import LoadedStorage, resolve_torch_name
from ._tensor import Size, Tensor
from ._zip_archive import ALIGNMENT, ArchiveReader, ArchiveWriter, is_zip

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "get_unsafe_globals_in_checkpoint", "load", "safe_globals", "save"]

FileLike = "str | os.PathLike | IO[bytes]"
DEFAULT_PROTOCOL = 2
UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
    "`torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set to "
    "`False` will likely succeed, but it can result in arbitrary code execution. Do it only "
    "if you got the file from a trusted source.")
_DOCS = ("\n\nCheck the documentation of torch.load to learn more about types accepted by "
         "default with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


# -- safe globals ---------------------------------------------------------------------------

def add_safe_globals(safe_globals: list) -> None:
    """Mirrors `torch.serialization.add_safe_globals`."""
    _wo.add(safe_globals)


def get_safe_globals() -> list:
    """Mirrors `torch.serialization.get_safe_globals`."""
    return _wo.get()


def clear_safe_globals() -> None:
    """Mirrors `torch.serialization.clear_safe_globals`."""
    _wo.clear()


class safe_globals:
    """Mirrors `torch.serialization.safe_globals`."""

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        _wo.add(self.safe_globals)

    def __exit__(self, *exc):
        _wo.remove(self.safe_globals)


# -- save -----------------------------------------------------------------------------------

class _TorchName:
    """A global as torch names it (`torch._utils._rebuild_tensor_v2`), written as GLOBAL."""

    _cache: ClassVar[dict] = {}

    def __new__(cls, module: str, name: str):
        key = (module, name)
        if key not in cls._cache:
            obj = object.__new__(cls)
            obj.module, obj.name = module, name
            cls._cache[key] = obj
        return cls._cache[key]

    def __call__(self, *args):
        # pickle's save_reduce insists the function be callable; it is only ever written
        raise TypeError(f"{self.module}.{self.name} is a name for pickling, not a function")


class _StorageRef:
    """A tensor's storage as the pickle sees it: torch writes one persistent id per use."""

    __slots__ = ("root",)

    def __init__(self, root: Tensor):
        self.root = root


class _Data:
    """A Parameter's tensor, pickled as a plain tensor inside `_rebuild_parameter`."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor):
        self.tensor = tensor


class _Pickler(pickle._Pickler):
    """Pickles jtorch objects as torch pickles its own, storages as persistent ids.

    The pure-Python pickler, because only it lets a global be written under another
    module's name (`torch.*`) without importing that module.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol):
        super().__init__(file, protocol)
        self.storages: dict = {}      # id(root) -> (key, root), in order of first use
        self._locations: dict = {}

    def _save_torch_name(self, obj):
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)

    def _save_dtype(self, obj):
        self.save(_TorchName("torch", obj._name))

    dispatch[_TorchName] = _save_torch_name
    dispatch[_dtype.dtype] = _save_dtype

    def persistent_id(self, obj):
        if type(obj) is not _StorageRef:
            return None
        root = obj.root
        entry = self.storages.get(id(root))
        if entry is None:
            entry = self.storages[id(root)] = (str(len(self.storages)), root)
        location = str(root.device)
        location = self._locations.setdefault(location, location)
        return ("storage", _TorchName("torch", root.dtype._storage), entry[0], location,
                root.numel())

    def reducer_override(self, obj):
        from .nn.parameter import Parameter
        if isinstance(obj, Tensor):
            if isinstance(obj, Parameter):
                return (_TorchName("torch._utils", "_rebuild_parameter"),
                        (_Data(obj), obj.requires_grad, OrderedDict()))
            return self._reduce_tensor(obj)
        if type(obj) is _Data:
            return self._reduce_tensor(obj.tensor, requires_grad=False)
        if type(obj) is Size:
            return (_TorchName("torch", "Size"), (tuple(obj),))
        if type(obj) is _device.device:
            return (_TorchName("torch", "device"), obj.__reduce__()[1])
        return NotImplemented

    def _reduce_tensor(self, t: Tensor, requires_grad: bool | None = None):
        root = t._root if t._view is not None else t
        if root.dtype is not t.dtype:
            # a view reinterpreting another dtype (.real, view(dtype)): saved as its own copy
            from ._ops.registry import OPS
            root = t = OPS["torch.clone"](t.detach())
        shape, strides, offset = _alias.geometry(t)
        return (_TorchName("torch._utils", "_rebuild_tensor_v2"),
                # fresh tuples, as torch's: shared ones would be memoized into BINGETs
                (_StorageRef(root), offset, tuple(int(n) for n in shape),
                 tuple(int(n) for n in strides),
                 t.requires_grad if requires_grad is None else requires_grad, OrderedDict()))


def _is_path(f) -> bool:
    return isinstance(f, (str, os.PathLike))


def save(obj: object, f: FileLike, pickle_module: Any = pickle,
         pickle_protocol: int = DEFAULT_PROTOCOL, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Mirrors `torch.save`.

    Differs: pickles through the pure-Python pickler whatever `pickle_module` is; a view whose
    dtype differs from its base's (`.real`, `view(dtype)`) is saved as its own storage.
    """
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("jtorch does not implement torch.save(..., "
                                  "_use_new_zipfile_serialization=False) (the legacy format); "
                                  "it reads such files")
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, pickle_protocol)
    pickler.dump(obj)         # before the file is opened: a failed pickle leaves no file
    records = [("data.pkl", buffer.getvalue()), (".format_version", "1"),
               (".storage_alignment", str(ALIGNMENT))]
    if not _disable_byteorder_record:
        records.append(("byteorder", sys.byteorder))
    name = os.path.splitext(os.path.basename(os.fspath(f)))[0] if _is_path(f) else "archive"
    with _open_for_save(f) as stream:
        writer = ArchiveWriter(stream, name)
        for record, data in records:
            writer.write_record(record, data)
        for key, root in pickler.storages.values():
            data = np.ascontiguousarray(np.asarray(root._value)).reshape(-1)
            writer.write_record(f"data/{key}", data.view(np.uint8))
        writer.write_record("version", "3\n")
        writer.write_record(".data/serialization_id", _serialization_id())
        writer.close()


def _serialization_id() -> str:
    # torch: 40 decimal digits naming this save; only their shape matters to readers
    return "".join(str(b % 10) for b in os.urandom(40))


@contextlib.contextmanager
def _open_for_save(f):
    """The stream to write; a path is written beside its target and renamed over it once
    complete, so a failed save leaves the old file, and tensors loaded from it with
    `mmap=True` (whose pages map the old file) stay valid while it is replaced."""
    if not _is_path(f):
        yield f
        return
    target = os.path.realpath(os.fspath(f))
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    if os.path.exists(target) and not os.path.isfile(target):
        with open(target, "wb") as stream:      # a device or a pipe: written in place
            yield stream
        return
    partial = f"{target}.{os.getpid()}.partial"
    try:
        with open(partial, "wb") as stream:
            yield stream
        if os.path.exists(target):
            shutil.copymode(target, partial)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


@contextlib.contextmanager
def _open(f, mode):
    if _is_path(f):
        with open(f, mode) as stream:
            yield stream
    else:
        yield f


# -- load -----------------------------------------------------------------------------------

def _storage_loader(reader: ArchiveReader, place_for, mapped, byteorder):
    """The persistent_load of a zip checkpoint: one LoadedStorage per key."""
    storages: dict = {}
    swap = byteorder is not None and byteorder != sys.byteorder

    def persistent_load(pid):
        if not isinstance(pid, tuple) or len(pid) < 5:
            raise RuntimeError(f"Unknown persistent id in checkpoint: {pid!r}")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename != "storage":
            raise RuntimeError("Unknown typename for persistent_load, expected 'storage' but "
                               f"got '{typename}'")
        storage_type, key, location, numel = pid[1:5]
        if not hasattr(storage_type, "dtype"):
            raise RuntimeError(f"Unknown storage type in checkpoint: {storage_type!r}")
        dtype = storage_type.dtype
        key = str(key)
        if key in storages:
            return storages[key].retyped(dtype)
        name = f"data/{key}"
        np_dtype = dtype._np
        if reader.record_size(name) < numel * dtype.itemsize:   # raises if missing
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: the record "
                               f"holds {reader.record_size(name)} bytes, the storage needs "
                               f"{numel * dtype.itemsize}")

        def read():
            if mapped is not None and numel:
                start = reader.data_offset(name)
                if start is None:
                    raise RuntimeError(f"mmap=True needs stored (uncompressed) records; "
                                       f"{name} is compressed")
                array = mapped[start:start + numel * dtype.itemsize].view(np_dtype)
            else:
                array = reader.read_array(name, np_dtype, numel)
            return array.byteswap() if swap else array

        location = location.decode() if isinstance(location, bytes) else str(location)
        storages[key] = LoadedStorage(dtype, numel, read, place_for(location))
        return storages[key]
    return persistent_load


def _torch_unpickler(pickle_module):
    class TorchUnpickler(pickle_module.Unpickler):
        def find_class(self, module, name):
            if module == "torch" or module.startswith("torch."):
                return resolve_torch_name(module, name)
            return super().find_class(module, name)
    return TorchUnpickler


def _unpickle(stream, weights_only, pickle_module, persistent_load, load_args):
    if weights_only:
        return _wo.Unpickler(stream, encoding=load_args.get("encoding", "utf-8"),
                             persistent_load=persistent_load).load()
    unpickler = _torch_unpickler(pickle_module)(stream, **load_args)
    if persistent_load is not None:
        unpickler.persistent_load = persistent_load
    return unpickler.load()


def _load_zip(reader: ArchiveReader, map_location, weights_only, pickle_module, mapped,
              load_args):
    if not reader.has_record("version"):
        raise RuntimeError('Expected hasRecord("version") to be true, but got false.  (Could '
                           'this error message be improved?  If so, please report an '
                           'enhancement request to PyTorch.)')
    if reader.has_record("constants.pkl"):
        raise NotImplementedError("jtorch does not implement loading TorchScript archives "
                                  "(torch.jit.save files)")
    byteorder = reader.get_record("byteorder").decode() if reader.has_record("byteorder") \
        else None
    persistent_load = _storage_loader(reader, placer(map_location), mapped, byteorder)
    data = io.BytesIO(reader.get_record("data.pkl"))
    return _unpickle(data, weights_only, pickle_module, persistent_load, load_args)


def _weights_only_message(message: str) -> str:
    if "was not an allowed global by default" in message:
        return ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, do those steps only if you trust the source of the checkpoint. "
                f"\n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` "
                "please check the recommended steps in the following error message."
                "\n\tWeightsUnpickler error: " + message + _DOCS)
    out = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
    if "is blocked" not in message:
        out += ("Please file an issue with the following so that we can make "
                "`weights_only=True` compatible with your use case: WeightsUnpickler error: ")
    return out + "\n\n" + message + _DOCS


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Mirrors `torch.load` (weights_only=True unless a pickle_module is given).

    Differs: tensors that shared a storage in the file come back as views of one jtorch root;
    with `mmap=True` each storage is mapped from the file and handed to jax, which keeps its
    own copy.
    """
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        if pickle_load_args.keys() - {"encoding"}:
            warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    elif pickle_module is None:
        pickle_module = pickle
    pickle_load_args.setdefault("encoding", "utf-8")
    if _is_path(f) and os.fspath(f).endswith(".safetensors"):
        return _load_safetensors(f, map_location)
    with _open(f, "rb") as stream:
        if is_zip(stream):
            reader = ArchiveReader(stream)
            mapped = None
            if mmap:
                if not _is_path(f):
                    raise ValueError("f must be a file path in order to use the mmap argument")
                # one read-only mapping of the whole file; each storage is a slice of it
                mapped = np.memmap(os.fspath(f), np.uint8, "r")
            try:
                return _load_zip(reader, map_location, weights_only, pickle_module, mapped,
                                 pickle_load_args)
            except pickle.UnpicklingError as e:
                if weights_only:
                    raise pickle.UnpicklingError(_weights_only_message(str(e))) from None
                raise
        if mmap:
            name = f"{f}, " if isinstance(f, str) else ""
            raise RuntimeError("mmap can only be used with files saved with "
                               f"`torch.save({name}_use_new_zipfile_serialization=True), please "
                               "torch.save your checkpoint with this option in order to use "
                               "mmap.")
        from ._legacy_serialization import load_legacy
        try:
            return load_legacy(stream, placer(map_location), weights_only, pickle_module,
                               pickle_load_args)
        except pickle.UnpicklingError as e:
            if weights_only:
                raise pickle.UnpicklingError(_weights_only_message(str(e))) from None
            raise


def _load_safetensors(f, map_location):
    # torch.load hands a `.safetensors` path to the safetensors loader, as here
    if isinstance(map_location, dict) or callable(map_location):
        kind = "dict" if isinstance(map_location, dict) else "callable"
        raise RuntimeError(f"Loading safetensors file with {kind} map_location is not "  # noqa: TRY004 (torch's class)
                           "supported. Use a device string or torch.device instead.")
    from .safetensors import load_file
    return load_file(f, device="cpu" if map_location is None else str(map_location))


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list[str]:
    """Mirrors `torch.serialization.get_unsafe_globals_in_checkpoint`."""
    import pickletools
    with _open(f, "rb") as stream:
        if not is_zip(stream):
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        data = ArchiveReader(stream).get_record("data.pkl")
    allowed = set(_wo._default_allowed()) | set(_wo._user_allowed())
    found = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            found.add(".".join(_wo.python3_name(module, name)))
    return sorted(found - allowed)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
