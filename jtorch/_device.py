"""torch devices mapped onto jax devices.

`cuda` names the first accelerator platform jax has (GPU or TPU), so a script guarded by
`torch.cuda.is_available()` runs on a TPU VM unchanged; `tpu` and `xla` name it too.
"""
from __future__ import annotations

import functools

import jax

__all__ = ["device"]

_TYPES = ("cpu", "cuda", "tpu", "xla", "meta", "mps")


class device:
    """Mirrors `torch.device`."""

    __slots__ = ("type", "index", "_prev")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): a device object takes no index")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        name = type
        if ":" in name:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {name}")
            name, _, idx = name.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if name not in _TYPES:
            raise RuntimeError(
                "Expected one of cpu, cuda, tpu, xla, meta device type at start of device string: "
                f"{type}")
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index) if self.index is not None else (self.type,))

    def __enter__(self):
        self._prev = _default_device[0]
        _set_default(self)
        return self

    def __exit__(self, *exc):
        _set_default(self._prev)


_default_device: list = [None]


@functools.lru_cache(maxsize=None)
def accelerator_devices() -> tuple:
    """jax's devices of the first non-CPU platform, or () on a CPU-only host."""
    for backend in ("gpu", "cuda", "rocm", "tpu"):
        try:
            devs = jax.devices(backend)
        except RuntimeError:
            continue
        if devs:
            return tuple(devs)
    return ()


def to_jax(d) -> "jax.Device":
    """The jax device a torch device names; RuntimeError where there is none."""
    d = device(d) if not isinstance(d, device) else d
    if d.type == "cpu":
        devs = jax.devices("cpu")
        return devs[d.index or 0] if (d.index or 0) < len(devs) else devs[0]
    if d.type == "meta":
        raise NotImplementedError("jtorch does not implement the 'meta' device")
    accel = accelerator_devices()
    if not accel:
        raise RuntimeError(
            f"Found no NVIDIA driver on your system: jtorch maps device '{d}' to jax's first "
            "accelerator, and jax found none")
    index = d.index or 0
    if index >= len(accel):
        raise RuntimeError(f"CUDA error: invalid device ordinal {index} ({len(accel)} available)")
    return accel[index]


def from_jax(jdev) -> device:
    """The torch device for a jax device: cpu, or cuda:N for the Nth accelerator."""
    if jdev.platform == "cpu":
        return _CPU
    return device("cuda", accelerator_devices().index(jdev))


_CPU = device("cpu")


def get_default_device() -> device:
    return _default_device[0] or _CPU


def set_default_device(d) -> None:
    """Mirrors `torch.set_default_device`."""
    _set_default(None if d is None else device(d))


def _set_default(d: device | None) -> None:
    """jtorch's default device, and jax's with it: jax computes an op none of whose inputs
    is committed to a device (a creation op, a draw) on its default device, which must be
    the one torch would use. Unset, that is the CPU, as in torch, also on a GPU or TPU host
    (jax's own default there is the accelerator)."""
    if d is not None and d.type != "cpu":
        jax.config.update("jax_default_device", to_jax(d))
    elif _cpu_allowed():
        jax.config.update("jax_default_device", "cpu")    # a platform name: no backend starts
    _default_device[0] = d


def _cpu_allowed() -> bool:
    platforms = jax.config.jax_platforms
    return not platforms or "cpu" in platforms.split(",")


def commit_default(value):
    """`value` committed to the CPU where an accelerator exists and no default device is
    set, so that mixing it with an accelerator's tensor raises as in torch; jax would
    otherwise move an uncommitted array silently. Nothing to do on a CPU-only host."""
    if _default_device[0] is None and accelerator_devices() and _cpu_allowed():
        return jax.device_put(value, jax.devices("cpu")[0])
    return value
