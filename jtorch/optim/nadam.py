"""Mirrors `torch.optim.NAdam`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .adam import check_adam_args
from .optimizer import Optimizer, lerp, number, scalar_state

__all__ = ["NAdam"]


def _nadam(static, hyper, params, grads, states):
    """torch's single-tensor NAdam over a group; `states[i]` is (step, mu_product, exp_avg,
    exp_avg_sq). The momentum cache and step sizes are float64, as torch computes them in
    Python from `step.item()` and `mu_product.item()`; `mu_product` itself stays a tensor
    of its own dtype, multiplied in that dtype as torch's `mu_product *= mu`."""
    maximize, use_decay, decoupled = static
    lr, beta1, beta2, eps, weight_decay, momentum_decay = hyper
    f64 = jnp.float64
    beta1 = jnp.asarray(beta1, f64)
    new_params, new_states = [], []
    for p, g, (step, mu_product, exp_avg, exp_avg_sq) in zip(params, grads, states):
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        count = step.astype(f64)
        correction2 = 1 - jnp.asarray(beta2, f64) ** count
        if use_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay).astype(dtype)
            else:
                g = g + jnp.asarray(weight_decay, dtype) * p
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (count * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((count + 1) * momentum_decay))
        mu_product = mu_product * mu.astype(mu_product.dtype)
        exp_avg = lerp(exp_avg, g, jnp.asarray(1 - beta1, dtype))
        exp_avg_sq = exp_avg_sq * jnp.asarray(beta2, dtype) + \
            jnp.asarray(1 - beta2, dtype) * g * g
        denom = jnp.sqrt(exp_avg_sq / correction2.astype(dtype)) + jnp.asarray(eps, dtype)
        product = mu_product.astype(f64)
        grad_value = (-lr * (1.0 - mu) / (1.0 - product)).astype(dtype)
        avg_value = (-lr * mu_next / (1.0 - product * mu_next)).astype(dtype)
        # torch: two addcdiv_ calls, each computing value * tensor / denom
        p = p + grad_value * g / denom
        p = p + avg_value * exp_avg / denom
        new_params.append(p.astype(dtype))
        new_states.append((step, mu_product, exp_avg, exp_avg_sq))
    return new_params, new_states


class NAdam(Optimizer):
    """Mirrors `torch.optim.NAdam` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = (("maximize", False), ("foreach", None), ("capturable", False),
                       ("differentiable", False), ("decoupled_weight_decay", False))

    _scalar_states = ("step", "mu_product")

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        state["step"] = scalar_state(0.0)
        state["mu_product"] = scalar_state(1.0)
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        names = ("step", "mu_product", "exp_avg", "exp_avg_sq")
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]), bool(number(group["weight_decay"]) != 0),
                      bool(group["decoupled_weight_decay"]))
            beta1, beta2 = group["betas"]
            hyper = tuple(number(v) for v in (group["lr"], beta1, beta2, group["eps"],
                                              group["weight_decay"], group["momentum_decay"]))
            self._run_update(_nadam, static, hyper, params, [p.grad for p in params], states,
                             names)
        return loss
