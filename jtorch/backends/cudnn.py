"""Mirrors `torch.backends.cudnn`. The flags are kept and read back; XLA chooses its own
convolution kernels, so they change no result. `deterministic=True` does not make XLA's
GPU scatter-adds deterministic: for that, start with
`XLA_FLAGS=--xla_gpu_deterministic_ops=true`."""
from __future__ import annotations

import contextlib

from ._flags import Flag, give_flags

__all__ = ["flags", "is_acceptable", "is_available", "version"]


def _cuda_gpu() -> bool:
    from .. import _device
    return any(d.platform == "gpu" for d in _device.accelerator_devices())


def is_available() -> bool:
    """True where jax runs on an NVIDIA GPU (it brings cuDNN)."""
    return _cuda_gpu()


def version() -> int | None:
    """cuDNN's version as torch writes it (e.g. 91002), or None where there is none."""
    if not is_available():
        return None
    try:
        from jax._src.lib import cuda_versions
        return int(cuda_versions.cudnn_get_version())
    except (ImportError, AttributeError, RuntimeError):   # a jax without the query
        return None


def is_acceptable(tensor) -> bool:
    """Mirrors `torch.backends.cudnn.is_acceptable`: a floating tensor on an NVIDIA GPU."""
    return is_available() and tensor.is_cuda and tensor.is_floating_point()


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True):
    """Mirrors `torch.backends.cudnn.flags`: sets the flags inside the block."""
    import sys
    module = sys.modules[__name__]
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {n: getattr(module, n) for n in names}
    saved_limit = module.benchmark_limit
    try:
        for name, value in zip(names, (enabled, benchmark, deterministic, allow_tf32)):
            setattr(module, name, value)
        module.benchmark_limit = benchmark_limit
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
        module.benchmark_limit = saved_limit


give_flags(__name__,
           enabled=Flag(True, "set_enabled_cudnn"),
           benchmark=Flag(False, "set_benchmark_cudnn"),
           deterministic=Flag(False, "set_deterministic_cudnn"),
           allow_tf32=Flag(True, "set_allow_tf32_cudnn"))


def __getattr__(name: str):
    if name == "benchmark_limit":        # until set: torch's is None where cuDNN is absent
        return 10 if is_available() else None
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
