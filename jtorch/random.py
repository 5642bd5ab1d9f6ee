"""Mirrors `torch.random`: the default Generator and the global seeding functions.

A Generator is a seed plus a counter. Each draw derives its jax PRNG key from both
(`fold_in` of the counter into the seed's key) and advances the counter, so one seed gives
one reproducible stream and `get_state`/`set_state` replay it exactly. The numbers differ
from torch's (jax's threefry, not torch's Mersenne Twister / Philox).
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from . import _device, _dtype

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]

_DEFAULT_SEED = 67280421310721   # torch's seed for a fresh Generator()
_STATE_BYTES = 16                # get_state(): seed and offset, two little-endian uint64


def _random_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


def _check_seed(seed) -> int:
    if not hasattr(seed, "__index__"):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = seed.__index__()
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed % (1 << 64)   # torch stores negative seeds as their uint64 bit pattern


class Generator:
    """Mirrors `torch.Generator`; `get_state()` is 16 bytes (seed, offset), not torch's 5056."""

    def __init__(self, device="cpu"):
        self._device = _device.device(device)
        if self._device.type != "cpu" and self._device.index is None:
            self._device = _device.device(self._device.type, 0)
        self._seed = _DEFAULT_SEED
        self._offset = 0
        self._traced = None

    @property
    def device(self) -> _device.device:
        return self._device

    def manual_seed(self, seed) -> "Generator":
        self._seed = _check_seed(seed)
        self._offset = 0
        return self

    def seed(self) -> int:
        """Reseeds from the OS's entropy and returns the new seed."""
        self._seed = _random_seed()
        self._offset = 0
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_offset(self) -> int:
        return self._offset

    def set_offset(self, offset: int) -> "Generator":
        self._offset = int(offset)
        return self

    def get_state(self):
        from ._tensor import Tensor
        import jax.numpy as jnp
        raw = np.array([self._seed, self._offset], dtype="<u8").view(np.uint8)
        return Tensor._wrap(jnp.asarray(raw))

    def set_state(self, new_state) -> "Generator":
        from ._tensor import Tensor
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dtype.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if new_state.numel() != _STATE_BYTES:
            raise RuntimeError(f"Expected a jtorch RNG state of size {_STATE_BYTES} but found the "
                               f"input RNG state size to be {new_state.numel()}")
        seed, offset = np.asarray(new_state._value).reshape(-1).view("<u8")
        self._seed, self._offset = int(seed), int(offset)
        return self

    def clone_state(self) -> "Generator":
        g = Generator(self._device)
        g._seed, g._offset = self._seed, self._offset
        return g

    def _next(self, draws: int = 1):
        """(seed, offset) for the next draw as a uint64 array, reserving `draws` offsets.

        While a whole-program trace holds this generator (`_traced` is a traced uint64[2]
        state, set by jtorch.compile), draws use and advance that traced state instead, so a
        compiled step draws fresh numbers on every call; the tracer reads `_traced` back at
        the end and stores it with `_set_state_array`."""
        if self._traced is not None:
            state = self._traced
            self._traced = state.at[1].add(np.uint64(draws))
            return state
        state = np.array([self._seed, self._offset], dtype=np.uint64)
        self._offset += draws
        return state

    def _state_array(self) -> np.ndarray:
        return np.array([self._seed, self._offset], dtype=np.uint64)

    def _set_state_array(self, state) -> None:
        self._seed, self._offset = (int(v) for v in np.asarray(state))

    def __getstate__(self):
        return {"device": str(self._device), "seed": self._seed, "offset": self._offset}

    def __setstate__(self, state):
        self._device = _device.device(state["device"])
        self._seed, self._offset = state["seed"], state["offset"]
        self._traced = None

    def __repr__(self):
        return f"<jtorch.Generator object at {hex(id(self))}>"


# torch seeds its default generator nondeterministically at start-up
default_generator = Generator()
default_generator._seed = _random_seed()


def manual_seed(seed) -> Generator:
    """Mirrors `torch.manual_seed`: seeds the default generator (and so every device's)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Mirrors `torch.seed`."""
    return default_generator.seed()


def initial_seed() -> int:
    """Mirrors `torch.initial_seed`."""
    return default_generator.initial_seed()


def get_rng_state():
    """Mirrors `torch.get_rng_state` (16 bytes: seed and offset)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Mirrors `torch.set_rng_state`."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Mirrors `torch.random.fork_rng`: the default generator's state is restored on exit."""
    if not enabled:
        yield
        return
    saved = (default_generator._seed, default_generator._offset)
    try:
        yield
    finally:
        default_generator._seed, default_generator._offset = saved


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
