"""Mirrors `torch.optim.Muon`."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .optimizer import Optimizer, check_lr, lerp, number

__all__ = ["Muon"]

# torch's defaults, from Keller Jordan's Muon
DEFAULT_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _bfloat16(x):
    # through float32, as c10's BFloat16 is built from a float
    return x.astype(jnp.float32).astype(jnp.bfloat16)


def _matmul(a, b):
    """bfloat16 matrices multiplied with float32 accumulation, as torch's CPU gemm."""
    return jnp.matmul(a.astype(jnp.float32), b.astype(jnp.float32),
                      precision=jax.lax.Precision.HIGHEST)


def _addmm(input, mat1, mat2, beta, alpha):
    """torch's bfloat16 `addmm` on CPU: `beta * input` is added to the float32
    `alpha * (mat1 @ mat2)` without an intermediate rounding (a fused multiply-add), and
    the sum is rounded to bfloat16 once."""
    product = jnp.asarray(alpha, jnp.float32) * _matmul(mat1, mat2)
    beta = jnp.asarray(beta, jnp.float32).astype(jnp.float64)
    return _bfloat16(beta * input.astype(jnp.float64) + product.astype(jnp.float64))


def _newton_schulz(update, coefficients, ns_steps, eps):
    """torch's `_zeropower_via_newtonschulz`: the iteration runs in bfloat16, on the
    transpose of a tall matrix."""
    a, b, c = coefficients
    x = _bfloat16(update)
    tall = update.shape[0] > update.shape[1]
    if tall:
        x = x.T
    norm = _bfloat16(jnp.sqrt(jnp.sum(jnp.square(x.astype(jnp.float32)))))
    norm = _bfloat16(jnp.maximum(norm.astype(jnp.float32), jnp.asarray(eps, jnp.float32)))
    x = _bfloat16(x.astype(jnp.float32) / norm.astype(jnp.float32))

    def iteration(_, x):
        gram = _bfloat16(_matmul(x, x.T))
        return _addmm(x, _addmm(gram, gram, gram, b, c), x, a, 1.0)
    # a loop, not unrolled: XLA compiles each step's body once
    x = jax.lax.fori_loop(0, ns_steps, iteration, x)
    return x.T if tall else x


def _lr_ratio(adjust_lr_fn: str | None, shape) -> float:
    """torch's `_adjust_lr` factor for a parameter of `shape`."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return 1.0


def _muon(static, hyper, params, grads, states):
    """torch's single-tensor Muon over a group; `states[i]` is (momentum_buffer,). The
    learning-rate factors are Python floats, as torch's (a Tensor lr keeps its dtype);
    `ratios` are each parameter's `adjust_lr_fn` factor."""
    nesterov, ns_steps = static
    lr, weight_decay, momentum, eps, a, b, c, ratios = hyper
    new_params, new_states = [], []
    for p, g, (buf,), ratio in zip(params, grads, states, ratios):
        dtype = p.dtype
        buf = lerp(buf, g, jnp.asarray(1 - momentum, g.dtype))
        update = lerp(g, buf, jnp.asarray(momentum, g.dtype)) if nesterov else buf
        update = _newton_schulz(update, (a, b, c), ns_steps, eps)
        adjusted_lr = lr * ratio
        p = p * jnp.asarray(1 - lr * weight_decay, dtype)
        p = p - jnp.asarray(adjusted_lr, dtype) * update.astype(dtype)
        new_params.append(p.astype(dtype))
        new_states.append((buf,))
    return new_params, new_states


class Muon(Optimizer):
    """Mirrors `torch.optim.Muon`."""

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = DEFAULT_NS_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        check_lr(lr, "Learning rate should be >= 0 but is: {}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure=None):
        from .._ops.creation import zeros_like
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            for p in params:
                if p.is_complex():
                    raise RuntimeError("Muon does not support complex parameters")
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_like(p.grad)
            # torch's checks, made per parameter as it updates them
            if any(p.grad.dim() != 2 for p in params):
                raise ValueError("Param gradient must be a 2D matrix")
            if group["ns_steps"] >= 100:
                raise ValueError("Number of steps must be less than 100 for computational "
                                 "efficiency")
            if len(group["ns_coefficients"]) != 3:
                raise ValueError("Coefficients must be a tuple of exactly 3 values")
            static = (bool(group["nesterov"]), int(group["ns_steps"]))
            ratios = tuple(_lr_ratio(group["adjust_lr_fn"], p.shape) for p in params)
            hyper = tuple(number(v) for v in (group["lr"], group["weight_decay"],
                                              group["momentum"], group["eps"],
                                              *group["ns_coefficients"])) + (ratios,)
            self._run_update(_muon, static, hyper, params, [p.grad for p in params],
                             [self.state[p] for p in params], ("momentum_buffer",))
        return loss
