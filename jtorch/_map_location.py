"""`map_location` for `load`: where each storage of a checkpoint goes, by its location tag
('cpu', 'cuda:0'...)."""
from __future__ import annotations

from collections.abc import Callable

import jax

from . import _device
from ._tensor import Tensor


class _MapStorage:
    """The storage a callable `map_location` receives: move it with `cpu`/`cuda`/`to`."""

    def __init__(self, root: Tensor):
        self._root = root

    def nbytes(self) -> int:
        return int(self._root._value.nbytes)

    size = __len__ = nbytes

    @property
    def device(self):
        return self._root.device

    def to(self, device=None, non_blocking: bool = False):
        return _MapStorage(self._root.to(device))

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False):
        index = device.index if isinstance(device, _device.device) else device
        return self.to(_device.device("cuda", index))


def _default_restore(location: str) -> _device.device:
    if location.startswith("cuda"):
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU.")
    try:
        device = _device.device(location)
        _device.to_jax(device)
    except (RuntimeError, NotImplementedError):
        raise RuntimeError("don't know how to restore data location of "
                           f"torch.storage.UntypedStorage (tagged with {location})") from None
    return device


def placer(map_location) -> Callable:
    """(location tag) -> (numpy array -> root Tensor on the device map_location picks)."""
    def on(device, array):
        return Tensor._wrap(jax.device_put(array, _device.to_jax(device)))

    if map_location is None:
        return lambda location: lambda a: on(_default_restore(location), a)
    if isinstance(map_location, (str, bytes, _device.device)):
        target = map_location.decode() if isinstance(map_location, bytes) else str(map_location)
        return lambda location: lambda a: on(_default_restore(target), a)
    if isinstance(map_location, dict):
        return lambda location: lambda a: on(
            _default_restore(str(map_location.get(location, location))), a)
    if not callable(map_location):
        raise TypeError(f"map_location must be None, a string, a torch.device, a dict or a "
                        f"callable, not {type(map_location).__name__}")

    def mapped(location):
        def place(array):
            result = map_location(_MapStorage(on(_device.device("cpu"), array)), location)
            if result is None:
                return on(_default_restore(location), array)
            root = getattr(result, "_root", None)
            if not isinstance(root, Tensor):
                raise TypeError("map_location callable must return a storage it was given "
                                f"(or moved), or None; got {type(result).__name__}")
            return root
        return place
    return mapped
