"""Mirrors `torch.cuda`, mapped onto jax's first accelerator platform.

`cuda` means jax's first non-CPU platform (GPU, or TPU), so code guarded by
`torch.cuda.is_available()` runs on a TPU host unchanged. There is one random generator for
all devices (jtorch.random.default_generator): `torch.cuda.manual_seed` seeds it, and so also
reseeds CPU draws, unlike torch's separate per-device generators. jax has no user-visible
streams or caching allocator: synchronize and empty_cache do nothing.
"""
from __future__ import annotations

import collections

from . import _device
from . import random as _random

__all__ = [
    "current_device", "device", "device_count", "empty_cache", "get_device_capability",
    "get_device_name", "get_device_properties", "get_rng_state", "get_rng_state_all",
    "init", "initial_seed", "is_available", "is_bf16_supported", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_reserved",
    "mem_get_info", "memory_allocated", "memory_reserved", "reset_peak_memory_stats", "seed",
    "seed_all", "set_device", "set_rng_state", "set_rng_state_all", "synchronize",
]

_current = [0]

_DeviceProperties = collections.namedtuple(
    "_CudaDeviceProperties", ["name", "total_memory", "major", "minor", "multi_processor_count"])


def _devices() -> tuple:
    return _device.accelerator_devices()


def is_available() -> bool:
    """True when jax has a GPU or TPU."""
    return bool(_devices())


def is_initialized() -> bool:
    return is_available()


def init() -> None:
    if not is_available():
        raise RuntimeError("Found no NVIDIA driver on your system: jax has no accelerator")


def device_count() -> int:
    return len(_devices())


def _index(d=None) -> int:
    if d is None:
        return _current[0]
    if isinstance(d, int) and not isinstance(d, bool):
        index = d
    else:
        d = _device.device(d)
        if d.type not in ("cuda", "tpu", "xla"):
            raise ValueError(f"Expected a cuda device, but got: {d}")
        index = _current[0] if d.index is None else d.index
    if not 0 <= index < max(device_count(), 1) or not is_available():
        raise RuntimeError(f"CUDA error: invalid device ordinal {index} "
                           f"({device_count()} available)")
    return index


def _jax_device(d=None):
    return _devices()[_index(d)]


def current_device() -> int:
    _index()
    return _current[0]


def set_device(device) -> None:
    """Mirrors `torch.cuda.set_device`; only what current_device() reports changes."""
    if device is None or (isinstance(device, int) and device < 0):
        return
    _current[0] = _index(device)


class device:
    """Mirrors the `torch.cuda.device` context manager."""

    def __init__(self, device):
        self.idx = -1 if device is None else _index(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev_idx, _current[0] = _current[0], self.idx

    def __exit__(self, *exc):
        if self.idx >= 0:
            _current[0] = self.prev_idx
        return False


def get_device_name(device=None) -> str:
    return _jax_device(device).device_kind


def _stats(d=None) -> dict:
    try:
        return _jax_device(d).memory_stats() or {}
    except (RuntimeError, NotImplementedError, AttributeError):
        return {}


def get_device_properties(device=None):
    """A reduced `_CudaDeviceProperties`: name, total_memory, major, minor, SM count."""
    jdev = _jax_device(device)
    major, minor = get_device_capability(device)
    return _DeviceProperties(jdev.device_kind, int(_stats(device).get("bytes_limit", 0)),
                             major, minor, int(getattr(jdev, "core_count", 0) or 0))


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability as jax reports it; (0, 0) where it has none (TPU)."""
    cap = getattr(_jax_device(device), "compute_capability", None)
    if not cap:
        return (0, 0)
    major, _, minor = str(cap).partition(".")
    return int(major), int(minor or 0)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """bfloat16 runs on every accelerator jax supports (TPUs natively, GPUs in XLA)."""
    if not is_available():
        return False
    return including_emulation or get_device_capability() >= (8, 0) or \
        _devices()[0].platform == "tpu"


def synchronize(device=None) -> None:
    """No-op: jax arrays synchronise when read."""


def empty_cache() -> None:
    """No-op: jax manages its own allocator."""


def memory_allocated(device=None) -> int:
    """Bytes in use on the device, from jax's memory stats (0 where jax has none)."""
    return int(_stats(device).get("bytes_in_use", 0)) if is_available() else 0


def max_memory_allocated(device=None) -> int:
    return int(_stats(device).get("peak_bytes_in_use", 0)) if is_available() else 0


def memory_reserved(device=None) -> int:
    if not is_available():
        return 0
    stats = _stats(device)
    return int(stats.get("bytes_reserved", stats.get("bytes_in_use", 0)))


max_memory_reserved = memory_reserved


def reset_peak_memory_stats(device=None) -> None:
    """No-op: jax's peak counter cannot be reset."""


def mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes on the device."""
    stats = _stats(device)
    total = int(stats.get("bytes_limit", 0))
    return total - int(stats.get("bytes_in_use", 0)), total


# -- randomness: one generator for every device -----------------------------------------------
def manual_seed(seed) -> None:
    _random.manual_seed(seed)


manual_seed_all = manual_seed


def seed() -> None:
    _random.seed()


seed_all = seed


def initial_seed() -> int:
    return _random.initial_seed()


def get_rng_state(device="cuda"):
    return _random.get_rng_state()


def set_rng_state(new_state, device="cuda") -> None:
    _random.set_rng_state(new_state)


def get_rng_state_all() -> list:
    return [get_rng_state() for _ in range(max(device_count(), 1))]


def set_rng_state_all(new_states) -> None:
    for state in new_states:
        set_rng_state(state)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
