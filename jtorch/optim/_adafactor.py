"""Mirrors `torch.optim.Adafactor`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, lerp, number, scalar_state

__all__ = ["Adafactor"]


def _norm(x, axis=None, keepdims=False):
    return jnp.sqrt(jnp.sum(x * x, axis=axis, keepdims=keepdims))


def _adafactor(static, hyper, params, grads, states):
    """torch's single-tensor Adafactor over a group: `factored[i]` says whether parameter i
    (2-d and more) keeps (step, row_var, col_var) or (step, variance). torch computes the
    step sizes in Python from `.item()` values: here in float64, then cast to the
    parameter's dtype."""
    factored_params, maximize, use_decay = static
    lr, beta2_decay, eps1, eps2, d, weight_decay = hyper
    new_params, new_states = [], []
    for p, g, state, factored in zip(params, grads, states, factored_params):
        dtype = p.dtype
        g = -g if maximize else g
        step = state[0] + 1
        count = step.astype(jnp.float64)
        one_minus_beta2 = jnp.asarray(count ** beta2_decay, dtype)
        rho = jnp.minimum(lr, 1 / jnp.sqrt(count))
        alpha = jnp.maximum(eps2, _norm(p).astype(jnp.float64) / p.size ** 0.5) * rho
        if use_decay:
            p = p * jnp.asarray(1 - lr * weight_decay, dtype)
        if factored:
            row_var, col_var = state[1:]
            # torch squares the norm (not the sum of squares) over each row and column
            row_var = lerp(row_var, jnp.square(_norm(g, -1, True)) / g.shape[-1],
                           one_minus_beta2)
            col_var = lerp(col_var, jnp.square(_norm(g, -2, True)) / g.shape[-2],
                           one_minus_beta2)
            estimate = jnp.matmul(row_var, col_var, precision=jax.lax.Precision.HIGHEST)
            estimate = estimate / jnp.maximum(jnp.mean(row_var, axis=-2, keepdims=True),
                                              jnp.asarray(eps1, dtype))
            new_state = (step, row_var, col_var)
        else:
            estimate = lerp(state[1], g * g, one_minus_beta2)
            new_state = (step, estimate)
        update = g / jnp.sqrt(jnp.maximum(estimate, jnp.asarray(eps1 * eps1, dtype)))
        denom = jnp.maximum(1.0, _norm(update).astype(jnp.float64) / (update.size ** 0.5 * d))
        new_params.append((p - jnp.asarray(alpha / denom, dtype) * update).astype(dtype))
        new_states.append(new_state)
    return new_params, new_states


class Adafactor(Optimizer):
    """Mirrors `torch.optim.Adafactor` (`foreach` is accepted and changes nothing: the
    group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        check_lr(lr, "Learning rate should be >= 0 but is: {}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    _group_defaults = (("foreach", None),)

    def step(self, closure=None):
        from .._ops.creation import zeros, zeros_like
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            if any(p.is_complex() for p in params):     # before any state is made
                raise RuntimeError("Adafactor does not support complex parameters")
            for p in params:
                state = self.state[p]
                if not state:    # torch's lazy state, in its key order
                    state["step"] = scalar_state(0.0)
                    shape = list(p.grad.shape)
                    if len(shape) > 1:
                        state["row_var"] = zeros(shape[:-1] + [1], dtype=p.grad.dtype)
                        state["col_var"] = zeros(shape[:-2] + [1, shape[-1]],
                                                 dtype=p.grad.dtype)
                    else:
                        state["variance"] = zeros_like(p.grad)
            eps1, eps2 = group["eps"]
            if eps1 is None:    # torch: the machine epsilon of the first parameter's dtype
                eps1 = float(jnp.finfo(params[0]._value.dtype).eps)
            hyper = tuple(number(v) for v in (group["lr"], group["beta2_decay"], eps1, eps2,
                                              group["d"], group["weight_decay"]))
            factored = tuple(p.grad.dim() > 1 for p in params)
            static = (factored, bool(group["maximize"]), number(group["weight_decay"]) != 0)
            names = [("step", "row_var", "col_var") if f else ("step", "variance")
                     for f in factored]
            self._run_update(_adafactor, static, hyper, params, [p.grad for p in params],
                             [self.state[p] for p in params], names)
        return loss
