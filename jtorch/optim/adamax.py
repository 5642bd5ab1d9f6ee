"""Mirrors `torch.optim.Adamax`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .adam import check_adam_args
from .optimizer import Optimizer, lerp, number, scalar_state

__all__ = ["Adamax"]


def _adamax(static, hyper, params, grads, states):
    """torch's single-tensor Adamax over a group; `states[i]` is (step, exp_avg, exp_inf).
    The bias correction is computed in float64 from the step count, as torch computes it in
    Python from `step.item()`, then cast to the parameter's dtype."""
    maximize, use_decay = static
    lr, beta1, beta2, eps, weight_decay = hyper
    new_params, new_states = [], []
    for p, g, (step, exp_avg, exp_inf) in zip(params, grads, states):
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        if use_decay:
            g = g + jnp.asarray(weight_decay, dtype) * p
        exp_avg = lerp(exp_avg, g, jnp.asarray(1 - beta1, dtype))
        exp_inf = jnp.maximum(exp_inf * jnp.asarray(beta2, dtype),
                              jnp.abs(g) + jnp.asarray(eps, dtype))
        correction = 1 - jnp.asarray(beta1, jnp.float64) ** step.astype(jnp.float64)
        # torch: addcdiv_(exp_avg, exp_inf, value=-clr) computes value * exp_avg / exp_inf
        value = (-(lr / correction)).astype(dtype)
        new_params.append((p + value * exp_avg / exp_inf).astype(dtype))
        new_states.append((step, exp_avg, exp_inf))
    return new_params, new_states


class Adamax(Optimizer):
    """Mirrors `torch.optim.Adamax` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("capturable", False))

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        state["step"] = scalar_state(0.0)
        state["exp_avg"] = zeros_like(p)
        state["exp_inf"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        names = ("step", "exp_avg", "exp_inf")
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]), bool(number(group["weight_decay"]) != 0))
            beta1, beta2 = group["betas"]
            hyper = tuple(number(v) for v in (group["lr"], beta1, beta2, group["eps"],
                                              group["weight_decay"]))
            self._run_update(_adamax, static, hyper, params, [p.grad for p in params], states,
                             names)
        return loss
