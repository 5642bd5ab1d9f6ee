"""Mirrors torch's deterministic-algorithms switch. jtorch's CPU kernels are deterministic
already; on a GPU, XLA's scatter-adds are not unless it starts with
`XLA_FLAGS=--xla_gpu_deterministic_ops=true`, which this switch cannot set once jax runs."""
from __future__ import annotations

__all__ = ["are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "use_deterministic_algorithms"]

_state = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Mirrors `torch.use_deterministic_algorithms` (recorded; see the module's note)."""
    for argument, value in (("'mode' (position 1)", mode), ("'warn_only'", warn_only)):
        if type(value) is not bool:
            raise TypeError(f"_set_deterministic_algorithms(): argument {argument} must be "
                            f"bool, not {type(value).__name__}")
    _state["mode"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _state["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]
