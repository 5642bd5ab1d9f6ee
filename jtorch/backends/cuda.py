"""Mirrors `torch.backends.cuda`: cuBLAS's precision switches (`matmul`) and the
scaled-dot-product-attention kernel switches.

torch's float32 matmul precision is jax's default matmul precision (jax's config
`jax_default_matmul_precision`, part of every jit's cache key): "highest" (torch's
default) is full float32, "high" is jax's HIGH (TF32 on NVIDIA GPUs, three bfloat16
passes on TPUs) and "medium" jax's DEFAULT (one bfloat16 pass on TPUs). jtorch's matmuls,
convolutions, attention and RNN cells take it from there; the CPU computes float32 in full
at every setting, as torch's does. The reduced-precision reduction switches are kept only,
and attention is always the math kernel.
"""
from __future__ import annotations

import jax

from ._flags import check_bool

__all__ = ["cudnn_sdp_enabled", "enable_cudnn_sdp", "enable_flash_sdp", "enable_math_sdp",
           "enable_mem_efficient_sdp", "flash_sdp_enabled", "is_built", "math_sdp_enabled",
           "matmul", "mem_efficient_sdp_enabled"]

# torch's name -> jax's
_PRECISIONS = {"highest": "highest", "high": "high", "medium": "default"}
_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """Mirrors `torch.set_float32_matmul_precision`, as jax's default matmul precision."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        import warnings
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _set(precision)


def _set(precision: str) -> None:
    jax.config.update("jax_default_matmul_precision", _PRECISIONS[precision])
    _precision[0] = precision


def get_float32_matmul_precision() -> str:
    """Mirrors `torch.get_float32_matmul_precision`."""
    return _precision[0]


class _Matmul:
    """`torch.backends.cuda.matmul`: `allow_tf32` is the float32 matmul precision seen as a
    bool, as in torch; the reduced-precision reduction switches are kept."""

    _SWITCHES = ("allow_fp16_reduced_precision_reduction",
                 "allow_bf16_reduced_precision_reduction")

    def __init__(self):
        object.__setattr__(self, "_switches", dict.fromkeys(self._SWITCHES, True))

    def __getattr__(self, name):
        if name == "allow_tf32":
            return _precision[0] != "highest"
        if name in self._SWITCHES:
            return self._switches[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            check_bool(value, "set_allow_tf32_cublas")
            _set("high" if value else "highest")
        elif name in self._SWITCHES:
            if not (type(value) is bool or isinstance(value, (tuple, list))
                    and value and all(type(v) is bool for v in value)):
                raise TypeError(f"{name} expects a bool or a tuple/list of bools, but got "
                                   f"{type(value)}")
            self._switches[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _Matmul()


def is_built() -> bool:
    """Whether jax has an accelerator jtorch calls `cuda` (torch: built with CUDA)."""
    from .. import cuda
    return cuda.is_available()


_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_switch(kind: str):
    def enable(enabled: bool) -> None:
        check_bool(enabled, f"set_sdp_use_{kind}")
        _sdp[kind] = enabled

    def enabled() -> bool:
        return _sdp[kind]
    enable.__name__, enabled.__name__ = f"enable_{kind}_sdp", f"{kind}_sdp_enabled"
    enable.__doc__ = f"Mirrors `torch.backends.cuda.enable_{kind}_sdp` (recorded only)."
    enabled.__doc__ = f"Mirrors `torch.backends.cuda.{kind}_sdp_enabled`."
    return enable, enabled


enable_flash_sdp, flash_sdp_enabled = _sdp_switch("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _sdp_switch("mem_efficient")
enable_math_sdp, math_sdp_enabled = _sdp_switch("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _sdp_switch("cudnn")


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)


_set("highest")     # torch's default; jax's own default is one bfloat16 pass on TPUs

