"""Mirrors `torch.backends.cuda`: cuBLAS's precision switches (`matmul`) and the
scaled-dot-product-attention kernel switches.

jtorch's float32 matmuls run at full precision whatever these say: TF32 and
reduced-precision reductions are permissions, which jtorch does not use, and its attention
is always the math kernel, which gives the same results as torch's fused ones up to rounding.
"""
from __future__ import annotations

__all__ = ["cudnn_sdp_enabled", "enable_cudnn_sdp", "enable_flash_sdp", "enable_math_sdp",
           "enable_mem_efficient_sdp", "flash_sdp_enabled", "is_built", "math_sdp_enabled",
           "matmul", "mem_efficient_sdp_enabled"]

_PRECISIONS = ("highest", "high", "medium")
_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """Mirrors `torch.set_float32_matmul_precision`: recorded; jtorch computes float32
    matmuls at full precision at every setting (the others only permit less)."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        import warnings
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
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
            _check_bool(value, "set_allow_tf32_cublas")
            _precision[0] = "high" if value else "highest"
        elif name in self._SWITCHES:
            if not (type(value) is bool or isinstance(value, (tuple, list))
                    and value and all(type(v) is bool for v in value)):
                raise TypeError(f"{name} expects a bool or a tuple/list of bools, but got "
                                   f"{type(value)}")
            self._switches[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


def _check_bool(value, setter: str) -> None:
    if type(value) is not bool:
        raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")


matmul = _Matmul()


def is_built() -> bool:
    """Whether jax has an accelerator jtorch calls `cuda` (torch: built with CUDA)."""
    from .. import cuda
    return cuda.is_available()


_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_switch(kind: str):
    def enable(enabled: bool) -> None:
        _check_bool(enabled, f"set_sdp_use_{kind}")
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
