"""Mirrors `torch.optim.ASGD`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, number, scalar_state

__all__ = ["ASGD"]


def _asgd(static, hyper, params, grads, states):
    """torch's single-tensor ASGD over a group; `states[i]` is (step, eta, mu, ax). torch
    reads eta, mu and the step count with `.item()` and computes the decay factor and the
    next eta and mu in Python: here in float64 (lr's dtype where lr is a Tensor, as torch's
    tensor arithmetic), then stored in the state's dtype."""
    maximize, use_decay = static
    lr, lambd, alpha, t0, weight_decay = hyper
    scalar = jnp.result_type(lr)
    new_params, new_states = [], []
    for p, g, (step, eta, mu, ax) in zip(params, grads, states):
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        if use_decay:
            g = g + jnp.asarray(weight_decay, dtype) * p
        eta_value = eta.astype(jnp.float64)
        p = p * (1 - lambd * eta_value).astype(dtype)
        p = p - eta_value.astype(dtype) * g
        # torch copies the parameter while mu is exactly 1 (before t0), else averages
        ax = jnp.where(mu != 1, ax + (p - ax) * mu.astype(dtype), p)
        count = step.astype(jnp.float64)
        new_eta = lr / ((1 + lambd * lr * count.astype(scalar)) ** alpha)
        new_mu = 1 / jnp.maximum(1.0, count - t0)
        new_params.append(p.astype(dtype))
        new_states.append((step, new_eta.astype(eta.dtype), new_mu.astype(mu.dtype), ax))
    return new_params, new_states


class ASGD(Optimizer):
    """Mirrors `torch.optim.ASGD` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel, with torch's default
    non-capturable arithmetic)."""

    def __init__(self, params, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("capturable", False))

    _scalar_states = ("step", "eta", "mu")

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        lr = group["lr"]
        state["step"] = scalar_state(0.0)
        state["eta"] = scalar_state(lr.item() if isinstance(lr, Tensor) else lr)
        state["mu"] = scalar_state(1.0)
        state["ax"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]), number(group["weight_decay"]) != 0)
            hyper = tuple(number(group[k]) for k in ("lr", "lambd", "alpha", "t0",
                                                      "weight_decay"))
            self._run_update(_asgd, static, hyper, params, [p.grad for p in params], states,
                             ("step", "eta", "mu", "ax"))
        return loss
