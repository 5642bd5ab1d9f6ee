"""Mirrors `torch.optim.Adagrad` (dense gradients: jtorch has no sparse tensors)."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, number, scalar_state

__all__ = ["Adagrad"]


def _adagrad(static, hyper, params, grads, states):
    """torch's single-tensor Adagrad over a group; `states[i]` is (step, sum). The decayed
    lr is computed in float64 from the step count, as torch computes it in Python from
    `step.item()`."""
    maximize, use_decay = static
    lr, lr_decay, weight_decay, eps = hyper
    new_params, new_states = [], []
    for p, g, (step, total) in zip(params, grads, states):
        dtype = p.dtype
        step = step + 1
        g = -g if maximize else g
        if use_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (step.astype(jnp.float64) - 1) * lr_decay)
        total = total + g * g
        std = jnp.sqrt(total) + eps
        new_params.append((p - clr.astype(dtype) * g / std).astype(dtype))
        new_states.append((step, total))
    return new_params, new_states


def _check_fused_param(p: Tensor) -> None:
    """torch's refusal of a fused step on parameters its fused kernels do not take."""
    if not p.is_floating_point():
        raise RuntimeError(
            "`fused=True` requires all the params to be floating point Tensors of supported "
            "devices: ['mps', 'cuda', 'xpu', 'hpu', 'cpu', 'mtia', 'privateuseone'] but "
            f"{p.dtype} and {p.device.type}")


class Adagrad(Optimizer):
    """Mirrors `torch.optim.Adagrad` (`foreach`, `fused`, `differentiable` are accepted and
    change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)
        self._check_fused()
        # torch creates Adagrad's state here, not lazily in `step`
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("fused", None))

    def _init_state(self, p: Tensor, group: dict) -> None:
        from .. import float32
        from .._ops.creation import full_like, tensor
        state = self.state[p]
        # torch: a fused group's step is always float32
        state["step"] = tensor(0.0, dtype=float32) if group["fused"] else scalar_state(0.0)
        # torch reads the constructor's value here, not the group's
        value = self.defaults["initial_accumulator_value"]
        state["sum"] = full_like(p, complex(value, value) if p.is_complex() else value)

    def share_memory(self) -> None:
        """Mirrors `torch.optim.Adagrad.share_memory`."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            for p in params:
                if group["fused"] and getattr(self, "_need_device_dtype_check_for_fused",
                                              True):
                    _check_fused_param(p)      # torch checks the first parameter only
                    self._need_device_dtype_check_for_fused = False
                if not self.state[p]:    # a parameter added after construction
                    if group["fused"]:
                        _check_fused_param(p)
                    self._init_state(p, group)
            if group["fused"] and any(p.is_complex() for p in params):
                raise RuntimeError("`fused` does not support sparse grad or complex param")
            static = (bool(group["maximize"]), number(group["weight_decay"]) != 0)
            hyper = tuple(number(group[k]) for k in ("lr", "lr_decay", "weight_decay", "eps"))
            self._run_update(_adagrad, static, hyper, params, [p.grad for p in params],
                             [self.state[p] for p in params], ("step", "sum"))
        return loss
