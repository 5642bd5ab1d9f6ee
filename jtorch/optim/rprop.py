"""Mirrors `torch.optim.Rprop`."""
from __future__ import annotations

import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, number, scalar_state

__all__ = ["Rprop"]


def _rprop(static, hyper, params, grads, states):
    """torch's single-tensor Rprop over a group; `states[i]` is (step, prev, step_size).
    The learning rate only seeds `step_size`, so it is not an input here."""
    (maximize,) = static
    etaminus, etaplus, step_size_min, step_size_max = hyper
    new_params, new_states = [], []
    for p, g, (step, prev, step_size) in zip(params, grads, states):
        dtype = p.dtype
        g = -g if maximize else g
        step = step + 1
        sign = jnp.sign(g * prev)
        # torch assigns through masks in this order; a NaN sign matches none and stays NaN
        factor = jnp.where(sign > 0, jnp.asarray(etaplus, dtype),
                           jnp.where(sign < 0, jnp.asarray(etaminus, dtype),
                                     jnp.where(sign == 0, jnp.ones((), dtype), sign)))
        step_size = jnp.clip(step_size * factor, step_size_min, step_size_max)
        # a sign change skips this step's update and forgets the gradient
        g = jnp.where(factor == jnp.asarray(etaminus, dtype), jnp.zeros((), dtype), g)
        new_params.append((p - jnp.sign(g) * step_size).astype(dtype))
        new_states.append((step, g, step_size))
    return new_params, new_states


class Rprop(Optimizer):
    """Mirrors `torch.optim.Rprop` (`foreach`, `capturable`, `differentiable` are accepted
    and change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                       ("capturable", False))

    def _init_state(self, group, p, state):
        from .._ops.creation import full_like, zeros_like
        lr = group["lr"]
        lr = lr.item() if isinstance(lr, Tensor) else lr
        state["step"] = scalar_state(0.0)
        state["prev"] = zeros_like(p)
        state["step_size"] = full_like(p.grad, complex(lr, lr) if p.is_complex()
                                       else lr)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            states = self._states(group, params)
            static = (bool(group["maximize"]),)
            (etaminus, etaplus), (low, high) = group["etas"], group["step_sizes"]
            hyper = tuple(number(v) for v in (etaminus, etaplus, low, high))
            self._run_update(_rprop, static, hyper, params, [p.grad for p in params],
                             states, ("step", "prev", "step_size"))
        return loss
