"""Mirrors `torch.optim.RMSprop`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, lerp, number, scalar_state

__all__ = ["RMSprop"]


def _rmsprop(static, hyper, params, grads, states):
    """torch's single-tensor RMSprop over a group; `states[i]` is (step, square_avg
    [, momentum_buffer][, grad_avg]), the optional entries present with momentum and
    centered."""
    use_momentum, centered, maximize, use_decay = static
    lr, alpha, eps, weight_decay, momentum = hyper
    new_params, new_states = [], []
    for p, g, state in zip(params, grads, states):
        step, square_avg = state[:2]
        buf = state[2] if use_momentum else None
        grad_avg = state[-1] if centered else None
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        if use_decay:
            g = g + weight_decay * p
        square_avg = square_avg * alpha + (1 - alpha) * g * g
        if centered:
            grad_avg = lerp(grad_avg, g, 1 - alpha)
            avg = jnp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = jnp.sqrt(square_avg)
        avg = avg + eps
        if use_momentum:
            buf = buf * momentum + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        new_params.append(p.astype(dtype))
        new_states.append((step, square_avg) + ((buf,) if use_momentum else ())
                          + ((grad_avg,) if centered else ()))
    return new_params, new_states


class RMSprop(Optimizer):
    """Mirrors `torch.optim.RMSprop` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = (("momentum", 0), ("centered", False), ("foreach", None),
                       ("maximize", False), ("differentiable", False), ("capturable", False))

    def _init_state(self, group, p, state):
        from .._ops.creation import zeros_like
        state["step"] = scalar_state(0.0)
        state["square_avg"] = zeros_like(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            use_momentum, centered = group["momentum"] > 0, bool(group["centered"])
            names = ("step", "square_avg") + (("momentum_buffer",) if use_momentum else ()) \
                + (("grad_avg",) if centered else ())
            states = self._states(group, params)
            static = (bool(use_momentum), centered, bool(group["maximize"]),
                      number(group["weight_decay"]) != 0)
            hyper = tuple(number(group[k]) for k in ("lr", "alpha", "eps", "weight_decay",
                                                      "momentum"))
            self._run_update(_rmsprop, static, hyper, params, [p.grad for p in params],
                             states, names)
        return loss
