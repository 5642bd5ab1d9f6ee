"""Mirrors `torch.optim.RAdam`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .adam import check_adam_args
from .optimizer import Optimizer, lerp, number, scalar_state

__all__ = ["RAdam"]


def _radam(static, hyper, params, grads, states):
    """torch's single-tensor RAdam over a group; `states[i]` is (step, exp_avg, exp_avg_sq).
    The bias corrections and the rectification are float64, as torch computes them in
    Python from `step.item()`; torch picks the rectified or the plain update in Python, here
    `jnp.where` picks it since the step count is traced (one compile for every step)."""
    maximize, use_decay, decoupled = static
    lr, beta1, beta2, eps, weight_decay = hyper
    f64 = jnp.float64
    beta2_64 = jnp.asarray(beta2, f64)
    rho_inf = 2 / (1 - beta2_64) - 1
    new_params, new_states = [], []
    for p, g, (step, exp_avg, exp_avg_sq) in zip(params, grads, states):
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        count = step.astype(f64)
        if use_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay).astype(dtype)
            else:
                g = g + jnp.asarray(weight_decay, dtype) * p
        exp_avg = lerp(exp_avg, g, jnp.asarray(1 - beta1, dtype))
        exp_avg_sq = exp_avg_sq * jnp.asarray(beta2, dtype) + \
            jnp.asarray(1 - beta2, dtype) * g * g
        correction1 = 1 - jnp.asarray(beta1, f64) ** count
        correction2 = 1 - beta2_64 ** count
        corrected_avg = exp_avg / correction1.astype(dtype)
        rho_t = rho_inf - 2 * count * beta2_64 ** count / correction2
        # NaN while rho_t <= 5 (a negative root), where the plain update is picked instead
        rect = jnp.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        # torch: `scalar / tensor` is `tensor.reciprocal() * scalar`
        adaptive_lr = jnp.reciprocal(jnp.sqrt(exp_avg_sq) + jnp.asarray(eps, dtype)) * \
            jnp.sqrt(correction2).astype(dtype)
        plain = corrected_avg * jnp.asarray(lr, dtype)
        rectified = plain * adaptive_lr * rect.astype(dtype)
        new_params.append((p - jnp.where(rho_t > 5.0, rectified, plain)).astype(dtype))
        new_states.append((step, exp_avg, exp_avg_sq))
    return new_params, new_states


class RAdam(Optimizer):
    """Mirrors `torch.optim.RAdam` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("decoupled_weight_decay", False), ("capturable", False))

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        state["step"] = scalar_state(0.0)
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        names = ("step", "exp_avg", "exp_avg_sq")
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]), bool(number(group["weight_decay"]) != 0),
                      bool(group["decoupled_weight_decay"]))
            beta1, beta2 = group["betas"]
            hyper = tuple(number(v) for v in (group["lr"], beta1, beta2, group["eps"],
                                              group["weight_decay"]))
            self._run_update(_radam, static, hyper, params, [p.grad for p in params], states,
                             names)
        return loss
