"""Mirrors `torch.optim.Adadelta`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, number, scalar_state

__all__ = ["Adadelta"]


def _adadelta(static, hyper, params, grads, states):
    """torch's single-tensor Adadelta over a group; `states[i]` is (step, square_avg,
    acc_delta)."""
    maximize, use_decay = static
    lr, rho, eps, weight_decay = hyper
    new_params, new_states = [], []
    for p, g, (step, square_avg, acc_delta) in zip(params, grads, states):
        dtype = p.dtype
        step = step + 1
        g = -g if maximize else g
        if use_decay:
            g = g + weight_decay * p
        square_avg = square_avg * rho + (1 - rho) * g * g
        std = jnp.sqrt(square_avg + eps)
        delta = jnp.sqrt(acc_delta + eps) / std * g
        acc_delta = acc_delta * rho + (1 - rho) * delta * delta
        new_params.append((p - lr * delta).astype(dtype))
        new_states.append((step, square_avg, acc_delta))
    return new_params, new_states


class Adadelta(Optimizer):
    """Mirrors `torch.optim.Adadelta` (`foreach`, `capturable`, `differentiable` are
    accepted and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("capturable", False))

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        state["step"] = scalar_state(0.0)
        state["square_avg"] = zeros_like(p)
        state["acc_delta"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]), number(group["weight_decay"]) != 0)
            hyper = tuple(number(group[k]) for k in ("lr", "rho", "eps", "weight_decay"))
            self._run_update(_adadelta, static, hyper, params, [p.grad for p in params],
                             states, ("step", "square_avg", "acc_delta"))
        return loss
