"""Mirrors `torch.optim.Adam` (and, through `decoupled_weight_decay`, AdamW)."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, lerp, number, scalar_state

__all__ = ["Adam"]


def check_adam_args(lr, betas, eps, weight_decay) -> None:
    """torch's ValueError checks of the Adam family's common arguments, in torch's order."""
    check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _adam(static, hyper, params, grads, states):
    """torch's single-tensor Adam over a group; `states[i]` is (step, exp_avg, exp_avg_sq
    [, max_exp_avg_sq]). The bias corrections are computed in float64 from the step count,
    as torch computes them in Python from `step.item()`, then cast to the parameter's dtype."""
    amsgrad, maximize, use_decay, decoupled = static
    lr, beta1, beta2, eps, weight_decay = hyper
    new_params, new_states = [], []
    for p, g, state in zip(params, grads, states):
        step, exp_avg, exp_avg_sq = state[:3]
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        if use_decay:
            if decoupled:
                p = p * jnp.asarray(1 - lr * weight_decay, dtype)
            else:
                g = g + jnp.asarray(weight_decay, dtype) * p
        exp_avg = lerp(exp_avg, g, jnp.asarray(1 - beta1, dtype))
        exp_avg_sq = exp_avg_sq * jnp.asarray(beta2, dtype) + \
            jnp.asarray(1 - beta2, dtype) * g * g
        count = step.astype(jnp.float64)
        correction1 = 1 - jnp.asarray(beta1, jnp.float64) ** count
        correction2_sqrt = jnp.sqrt(1 - jnp.asarray(beta2, jnp.float64) ** count)
        step_size = (lr / correction1).astype(dtype)
        if amsgrad:
            max_sq = jnp.maximum(state[3], exp_avg_sq)
            denom = jnp.sqrt(max_sq) / correction2_sqrt.astype(dtype) + jnp.asarray(eps, dtype)
        else:
            denom = jnp.sqrt(exp_avg_sq) / correction2_sqrt.astype(dtype) + \
                jnp.asarray(eps, dtype)
        new_params.append((p - step_size * (exp_avg / denom)).astype(dtype))
        new_states.append((step, exp_avg, exp_avg_sq, max_sq) if amsgrad
                          else (step, exp_avg, exp_avg_sq))
    return new_params, new_states


class Adam(Optimizer):
    """Mirrors `torch.optim.Adam` (`foreach`, `fused`, `capturable`, `differentiable` are
    accepted and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        check_adam_args(lr, betas, eps, weight_decay)
        if not (all(isinstance(b, float) for b in betas)
                or all(isinstance(b, Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, Tensor):
                if foreach and not capturable:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                     "capturable=False and foreach=True")
                if b.numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        # torch: a 1-element tensor beta is kept as a 0-d one
        betas = tuple(b.squeeze() if isinstance(b, Tensor) and b.dim() else b for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        self._check_fused()

    _group_defaults = (("amsgrad", False), ("maximize", False), ("foreach", None),
                       ("capturable", False), ("differentiable", False), ("fused", None),
                       ("decoupled_weight_decay", False))

    def _init_state(self, group, p, state):
        from .. import float32
        from .._ops.creation import tensor, zeros_like
        # torch: float32 when fused, else the default dtype's width
        state["step"] = tensor(0.0, dtype=float32) if group["fused"] \
            else scalar_state(0.0)
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            amsgrad = bool(group["amsgrad"])
            names = ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            states = self._states(group, params)
            static = (amsgrad, bool(group["maximize"]), number(group["weight_decay"]) != 0,
                      bool(group["decoupled_weight_decay"]))
            beta1, beta2 = group["betas"]
            hyper = tuple(number(v) for v in (group["lr"], beta1, beta2, group["eps"],
                                              group["weight_decay"]))
            self._run_update(_adam, static, hyper, params, [p.grad for p in params], states,
                             names)
        return loss
