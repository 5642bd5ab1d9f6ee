"""`safetensors.torch` for jtorch tensors, plus Hugging Face sharded-checkpoint loading.

jtorch reads and writes the format itself (`jtorch/_safetensors_format.py`): the `safetensors`
package is not needed (its numpy API has no bfloat16, the commonest dtype in these files).
Where the package is installed its `SafetensorError` is the class raised for malformed files,
so code that catches it works unchanged.
"""
from __future__ import annotations

import glob
import io
import json
import os

import jax
import numpy as np

from . import _alias, _device
from . import _safetensors_format as fmt
from ._safetensors_format import SafetensorError
from ._tensor import Tensor

__all__ = [
    "SafetensorError", "load", "load_file", "load_model", "load_sharded_checkpoint",
    "load_sharded_state_dict", "safe_open", "save", "save_file", "save_model",
]

_FRAMEWORKS = {"pt": "pt", "torch": "pt", "jtorch": "pt", "np": "np", "numpy": "np"}

SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"


# -- reading ------------------------------------------------------------------------------------

def _to_tensor(array: np.ndarray, jax_device) -> Tensor:
    # jax's CPU client aliases a 64-byte aligned host array and copies any other; it never
    # donates an aliased buffer, so read-only mapped pages are safe
    return Tensor._wrap(jax.device_put(array, jax_device))


def _check_backend(backend: str) -> None:
    if backend not in ("mmap", "pread"):
        raise SafetensorError(f'backend "{backend}" is invalid (expected one of: "mmap", "pread")')


class _Slice:
    """Mirrors safetensors' `PySafeSlice`: indexing reads only the selected part."""

    def __init__(self, owner: safe_open, name: str):
        self._owner, self._name = owner, name
        self._entry = owner._entries[name]

    def get_shape(self) -> list:
        return list(self._entry.shape)

    def get_dtype(self) -> str:
        return self._entry.code

    def __getitem__(self, index):
        owner = self._owner._check_open()
        whole = fmt.array(owner._source, owner._base, self._name, self._entry, mapped=True)
        return owner._wrap(np.ascontiguousarray(whole[index]))


class safe_open:
    """Mirrors `safetensors.safe_open`. `framework` is "pt" (jtorch tensors) or "np".

    `backend` ("mmap" or "pread") is accepted and ignored: tensors at 64-byte aligned offsets
    map the file's pages and the others are read, whichever is asked.
    """

    def __init__(self, filename: str | os.PathLike, framework: str = "pt", device="cpu", *,
                 backend: str = "mmap"):
        if framework not in _FRAMEWORKS:
            raise SafetensorError(f"framework {framework} is invalid")
        _check_backend(backend)
        self._framework = _FRAMEWORKS[framework]
        self._jax_device = _device.to_jax(_device.device(device))
        self._source = fmt.FileSource(filename)
        try:
            self._entries, self._metadata, self._base = fmt.parse(self._source)
        except BaseException:
            self._source.close()
            raise

    def __enter__(self) -> safe_open:
        return self

    def __exit__(self, *exc) -> None:
        self._source.close()
        self._source = None

    def _check_open(self) -> safe_open:
        if self._source is None:
            raise SafetensorError("File is closed")
        return self

    def _wrap(self, array: np.ndarray):
        return array if self._framework == "np" else _to_tensor(array, self._jax_device)

    def keys(self) -> list[str]:
        return sorted(self._check_open()._entries)

    def offset_keys(self) -> list[str]:
        return list(self._check_open()._entries)

    def metadata(self) -> dict[str, str] | None:
        return self._metadata

    def get_slice(self, name: str) -> _Slice:
        if name not in self._check_open()._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        return _Slice(self, name)

    def get_tensor(self, name: str):
        if name not in self._check_open()._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        return self._wrap(fmt.array(self._source, self._base, name, self._entries[name]))

    def get_tensors(self) -> dict:
        self._check_open()
        return {name: self.get_tensor(name) for name in self._entries}


def load_file(filename: str | os.PathLike, device="cpu", *,
              backend: str = "mmap") -> dict[str, Tensor]:
    """Mirrors `safetensors.torch.load_file`; the dict is in file order.

    Tensors whose bytes are 64-byte aligned in the file share its mapped pages (as torch's
    do); the others are read into memory.
    """
    with safe_open(filename, "pt", device=device, backend=backend) as f:
        return f.get_tensors()


def load(data: bytes) -> dict[str, Tensor]:
    """Mirrors `safetensors.torch.load`; the dict is in file order."""
    if not isinstance(data, bytes):
        data = bytes(data)      # the tensors must not see later writes to a mutable buffer
    source = fmt.BytesSource(data)
    entries, _, base = fmt.parse(source)
    cpu = _device.to_jax(_device._CPU)
    return {name: _to_tensor(fmt.array(source, base, name, e), cpu) for name, e in entries.items()}


# -- writing ------------------------------------------------------------------------------------

def _check_tensors(tensors) -> None:
    """safetensors.torch's checks, in its order: the dict, its values, shared memory, layout."""
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"argument 'tensor_dict': '{type(k).__name__}' object is not an "
                            "instance of 'str'")
        if not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected torch.Tensor but received {type(v)}")
    failing = [names for names in _find_shared_tensors(tensors) if len(names) > 1]
    if failing:
        raise RuntimeError(
            f"Some tensors share memory, this will lead to duplicate memory on disk and potential "
            f"differences when loading them again: {failing}. A potential way to correctly save "
            "your model is to use `save_model`.")
    for k, v in tensors.items():
        if v.dtype not in fmt.CODE_OF:
            raise KeyError(f"safetensors has no dtype for {v.dtype} (tensor `{k}`)")
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. "
                "Call `.contiguous()` on it before saving.")


def _layout(tensors: dict, metadata) -> tuple[bytes, list]:
    """The header and the tensors' host arrays, in file order (safetensors' order: by dtype,
    widest first, then by name)."""
    _check_tensors(tensors)
    code = {name: fmt.CODE_OF[t.dtype] for name, t in tensors.items()}
    names = sorted(tensors, key=lambda k: (-fmt.RANK[code[k]], k))
    arrays = [np.asarray(tensors[k]._value) for k in names]
    rows = [(k, code[k], a.shape, a.nbytes) for k, a in zip(names, arrays)]
    return fmt.header(metadata, rows), arrays


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """Mirrors `safetensors.torch.save`."""
    header, arrays = _layout(tensors, metadata)
    out = io.BytesIO()
    out.write(header)
    fmt.write_arrays(out, arrays)
    return out.getvalue()


def save_file(tensors: dict[str, Tensor], filename: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Mirrors `safetensors.torch.save_file`.

    Writes a temporary file beside the target and renames it over the target, so a failed save
    leaves the old file whole, and tensors loaded from it (which may map its pages) stay valid.
    """
    header, arrays = _layout(tensors, metadata)
    target = os.path.realpath(filename)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(header)
            fmt.write_arrays(f, arrays)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# -- models: tensors that share storage ---------------------------------------------------------

def _find_shared_tensors(state_dict: dict) -> list[set]:
    """Groups of names whose tensors overlap in one storage (singletons for the rest)."""
    by_root = {}
    for name, t in state_dict.items():
        if t.numel() == 0:
            continue
        root, first, last = _alias._storage_range(t)
        size = t.element_size()     # in bytes, so views of another dtype compare too
        by_root.setdefault(id(root), []).append((first * size, (last + 1) * size - 1, name))
    groups = []
    for spans in by_root.values():
        stop = None
        for first, last, name in sorted(spans):
            if stop is not None and first <= stop:
                groups[-1].add(name)
                stop = max(stop, last)
            else:
                groups.append({name})
                stop = last
    return sorted(groups, key=sorted)


def _is_complete(t: Tensor) -> bool:
    root, first, _ = _alias._storage_range(t)
    return first == 0 and t._value.nbytes == root._value.nbytes


def _remove_duplicate_names(state_dict: dict, *, preferred_names=None,
                            discard_names=None) -> dict[str, list[str]]:
    """For each group of shared tensors: the name to keep -> the names to drop (as
    safetensors.torch chooses: a name covering the whole storage, preferred, else the first)."""
    preferred_names = set(preferred_names or ())
    discard_names = set(discard_names or ())
    to_remove = {}
    for shared in _find_shared_tensors(state_dict):
        if len(shared) < 2:
            continue
        complete = {name for name in shared if _is_complete(state_dict[name])}
        if not complete:
            raise RuntimeError(
                f"Error while trying to find names to remove to save state dict, but found no "
                f"suitable name to keep for saving amongst: {shared}. None is covering the entire "
                "storage. Refusing to save/load the model since you could be storing much more "
                "memory than needed.")
        keep = min(complete - discard_names or complete)
        if preferred_names & complete:
            keep = min(preferred_names & complete)
        to_remove[keep] = sorted(shared - {keep})
    return to_remove


def save_model(model, filename: str | os.PathLike, metadata: dict[str, str] | None = None,
               force_contiguous: bool = True) -> None:
    """Mirrors `safetensors.torch.save_model`: tied tensors are saved once, and each dropped
    name is recorded in the metadata as `dropped: kept`."""
    state_dict = model.state_dict()
    for kept, removed in _remove_duplicate_names(state_dict).items():
        for name in removed:
            metadata = {} if metadata is None else metadata
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except ValueError as e:
        raise ValueError(f"{e} Or use save_model(..., force_contiguous=True).") from None


def load_model(model, filename: str | os.PathLike, strict: bool = True, device="cpu", *,
               backend: str = "mmap") -> tuple[set, list]:
    """Mirrors `safetensors.torch.load_model`: tied tensors saved once load into every name."""
    state_dict = load_file(filename, device=device, backend=backend)
    to_remove = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = set(missing)
    for removed in to_remove.values():
        for name in removed:
            if name in missing:
                missing.remove(name)
            else:
                unexpected.append(name)
    if strict and (missing or unexpected):
        _raise_key_error(model, sorted(missing), sorted(unexpected), "\n    ")
    return missing, unexpected


def _raise_key_error(model, missing, unexpected, sep: str):
    error = f"Error(s) in loading state_dict for {type(model).__name__}:"
    if missing:
        error += f"{sep}Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing)
    if unexpected:
        error += f"{sep}Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
    raise RuntimeError(error)


# -- Hugging Face sharded checkpoints ------------------------------------------------------------

def _index_file(index_or_dir: str | os.PathLike, prefer_safe: bool) -> str:
    path = os.fspath(index_or_dir)
    if not os.path.isdir(path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such checkpoint index or folder: '{path}'")
        return path
    safe, pickled = (os.path.join(path, n) for n in (SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_INDEX_NAME))
    if os.path.isfile(safe) and (prefer_safe or not os.path.isfile(pickled)):
        return safe
    if os.path.isfile(pickled):
        return pickled
    # other libraries' names (diffusion_pytorch_model.safetensors.index.json ...)
    found = sorted(glob.glob(os.path.join(glob.escape(path), "*.index.json")))
    if len(found) == 1:
        return found[0]
    names = f"{WEIGHTS_INDEX_NAME} or {SAFE_WEIGHTS_INDEX_NAME}"
    if found:
        raise ValueError(f"Found several checkpoint indexes in {path}: "
                         f"{[os.path.basename(f) for f in found]}; pass the one to load")
    raise ValueError(f"Can't find a checkpoint index ({names}) in {path}.")


def _weight_map(index_file: str) -> dict[str, str]:
    with open(index_file, encoding="utf-8") as f:
        index = json.load(f)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise ValueError(f"{index_file} is not a checkpoint index: it has no 'weight_map'")
    return weight_map


def _load_shard(path: str, device) -> dict:
    if path.endswith(".safetensors"):
        return load_file(path, device=device)
    import jtorch
    if not hasattr(jtorch, "load"):
        raise NotImplementedError(f"loading the PyTorch shard {path} needs jtorch.load, which "
                                  "this build of jtorch does not have")
    return jtorch.load(path, map_location=device, weights_only=True)


def load_sharded_state_dict(index_or_dir: str | os.PathLike, device="cpu", *,
                            prefer_safe: bool = True) -> dict[str, Tensor]:
    """One state dict from a Hugging Face sharded checkpoint: an `*.index.json` file (its
    `weight_map` maps each tensor to its shard) or a folder holding one. Shards may be
    `.safetensors` files or `torch.save` files (`pytorch_model-0000x-of-0000y.bin`).

    In a folder with both kinds, `prefer_safe` picks the safetensors index, as transformers does.
    The dict follows the index's order; tensors a shard holds beyond the index come last.
    """
    index_file = _index_file(index_or_dir, prefer_safe)
    weight_map = _weight_map(index_file)
    folder = os.path.dirname(index_file)
    loaded = {}
    for shard in dict.fromkeys(weight_map.values()):
        loaded.update(_load_shard(os.path.join(folder, shard), device))
    absent = [k for k in weight_map if k not in loaded]
    if absent:
        raise KeyError(f"{index_file} maps {absent} to shards that do not hold them")
    state_dict = {k: loaded.pop(k) for k in weight_map}
    state_dict.update(loaded)
    return state_dict


def load_sharded_checkpoint(model, folder: str | os.PathLike, strict: bool = True,
                            prefer_safe: bool = True):
    """Mirrors `transformers.modeling_utils.load_sharded_checkpoint`: loads the shards into
    `model` one at a time, so only one shard is in memory at once.

    With `strict`, key mismatches between the index and the model raise before anything loads.
    """
    index_file = _index_file(folder, prefer_safe)
    weight_map = _weight_map(index_file)
    model_keys = model.state_dict().keys()
    missing = [k for k in model_keys if k not in weight_map]
    unexpected = [k for k in weight_map if k not in model_keys]
    if strict and (missing or unexpected):
        _raise_key_error(model, missing, unexpected, "\n")
    for shard in dict.fromkeys(weight_map.values()):
        model.load_state_dict(_load_shard(os.path.join(os.path.dirname(index_file), shard), "cpu"),
                              strict=False)
    from .nn.modules.module import _IncompatibleKeys
    return _IncompatibleKeys(missing, unexpected)
