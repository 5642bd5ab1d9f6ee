"""Mirrors `torch.optim.LBFGS`.

A step branches in Python on loss values after every closure call, as torch's does, so it is
not one kernel: the vector math runs on flat jax arrays in a few jitted helpers (the two-loop
recursion is one, compiled once per power-of-two history length). The scalars torch keeps as 0-d tensors
(step sizes, curvatures, directional derivatives) are numpy scalars of the same dtype here:
NumPy 2 promotes them with Python numbers as torch promotes 0-d tensors, so each comparison
and interpolation rounds as torch's does; `state` holds them as 0-d tensors, as torch's.
"""
from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _alias
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer, check_lr

__all__ = ["LBFGS"]


def _real_flat(x):
    """torch's `view_as_real(x).view(-1)` for complex x, else `x.view(-1)`."""
    if jnp.iscomplexobj(x):
        x = jnp.stack([x.real, x.imag], -1)
    return x.reshape(-1)


@jax.jit
def _concat(grads):
    return jnp.concatenate([_real_flat(g) for g in grads])


@jax.jit
def _moved(params, direction, step):
    """Each parameter plus `step * direction`'s slice of it (complex ones as real pairs)."""
    out, offset = [], 0
    for p in params:
        real = jnp.stack([p.real, p.imag], -1) if jnp.iscomplexobj(p) else p
        piece = direction[offset:offset + real.size].reshape(real.shape)
        offset += real.size
        new = (real + step.astype(real.dtype) * piece).astype(real.dtype)
        out.append(jax.lax.complex(new[..., 0], new[..., 1]) if jnp.iscomplexobj(p) else new)
    return out


def _exact_dot(a, b):
    # rounded once from float64: the nearest to torch's BLAS dot, whatever its summation order
    wide = jnp.promote_types(a.dtype, jnp.float64)
    return jnp.dot(a.astype(wide), b.astype(wide)).astype(a.dtype)


_dot = jax.jit(_exact_dot)


@jax.jit
def _abs_max(x):
    return jnp.max(jnp.abs(x))


@jax.jit
def _abs_sum(x):
    wide = jnp.promote_types(x.dtype, jnp.float64)
    return jnp.sum(jnp.abs(x).astype(wide)).astype(x.dtype)


@jax.jit
def _step_abs_max(direction, step):
    return jnp.max(jnp.abs(direction * step.astype(direction.dtype)))


@jax.jit
def _curvature_pair(flat_grad, prev_flat_grad, direction, step):
    """torch's y = g - g_prev, s = d * t and the products y.s, y.y."""
    y = flat_grad - prev_flat_grad
    s = direction * step.astype(direction.dtype)
    return y, s, _exact_dot(y, s), _exact_dot(y, y)


@jax.jit
def _two_loop(flat_grad, old_dirs, old_stps, ro, count, h_diag):
    """The L-BFGS direction -H g by torch's two-loop recursion over the first `count`
    entries of the history lists (oldest first; the rest is padding, skipped). Returns it
    and the first loop's coefficients `al`."""
    dirs, stps, ro = jnp.stack(old_dirs), jnp.stack(old_stps), jnp.stack(ro)
    used = jnp.arange(len(old_dirs)) < count

    def newest_first(q, item):
        y, s, rho, use = item
        al = _exact_dot(s, q) * rho
        return jnp.where(use, q - al * y, q), al

    q, al = jax.lax.scan(newest_first, -flat_grad, (dirs, stps, ro, used), reverse=True)

    def oldest_first(r, item):
        y, s, rho, a, use = item
        return jnp.where(use, r + (a - _exact_dot(y, r) * rho) * s, r), None

    r, _ = jax.lax.scan(oldest_first, q * h_diag.astype(q.dtype), (dirs, stps, ro, al, used))
    return r, al


def _bucket(count, history_size):
    """The two-loop's list length for `count` entries: the next power of two (at most the
    history size), so that it compiles once per bucket rather than per history length."""
    return min(max(4, 1 << (count - 1).bit_length()), max(history_size, count))


def _host(value):
    """A 0-d array or tensor as a numpy scalar of its dtype: torch's 0-d tensor arithmetic."""
    if isinstance(value, Tensor):
        value = value._value
    return np.asarray(value)[()]


def _scalar(value):
    """A state entry as the step computes with it: 0-d tensors as numpy scalars."""
    return _host(value) if isinstance(value, Tensor) else value


def _stored(value):
    """A scalar as torch's state holds it: numpy scalars (torch's 0-d tensors) as tensors."""
    return Tensor._wrap(jnp.asarray(value)) if isinstance(value, np.generic) else value


def _divide(numerator, denominator):
    # torch's `number / tensor` is `tensor.reciprocal() * number`: two roundings
    if isinstance(denominator, np.generic) and not isinstance(numerator, np.generic):
        return (1 / denominator) * numerator
    return numerator / denominator


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped
    to `bounds` (by default the two points); their middle where the cubic has none."""
    if bounds is None:
        bounds = (x1, x2) if x1 <= x2 else (x2, x1)
    lower, upper = bounds
    d1 = g1 + g2 - _divide(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lower), upper)
    return (lower + upper) / 2.0


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """torch's strong-Wolfe line search along d from loss f, gradient g, slope gtd: bracket
    a step satisfying both conditions, then zoom in by cubic interpolation. `evaluate(t)`
    gives (loss, flat gradient) at step t. Returns (loss, gradient, step, evaluations).
    Points are (step, loss, gradient, slope) tuples."""
    d_norm = _host(_abs_max(d))
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = _host(_dot(g_new, d))
    prev = (0, f, g, gtd)
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        point = (t, f_new, g_new, gtd_new)
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= prev[1]):
            bracket = [prev, point]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [point]
            done = True
            break
        if gtd_new >= 0:
            bracket = [prev, point]
            break
        # still descending: extrapolate, between just past t and ten times t
        t = _cubic_interpolate(prev[0], prev[1], prev[3], t, f_new, gtd_new,
                               bounds=(t + 0.01 * (t - prev[0]), t * 10))
        prev = point
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = _host(_dot(g_new, d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [(0, f, g, gtd), (t, f_new, g_new, gtd_new)]

    insufficient_progress = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (t_a, f_a, _, gtd_a), (t_b, f_b, _, gtd_b) = bracket
        if abs(t_b - t_a) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(t_a, f_a, gtd_a, t_b, f_b, gtd_b)
        top, bottom = max(t_a, t_b), min(t_a, t_b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            # near an end of the bracket: twice in a row, or past it, step 10% inside
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = _host(_dot(g_new, d))
        ls_iter += 1
        point = (t, f_new, g_new, gtd_new)
        if f_new > (f + c1 * t * gtd) or f_new >= bracket[low][1]:
            bracket[high] = point
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = point
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """Mirrors `torch.optim.LBFGS`.

    Dot products and sums are rounded once from float64 (torch's BLAS and reduction orders
    are not reproducible here), so results agree with torch's to rounding, not bit for bit;
    in float32, long runs whose history outgrows the number of parameters amplify that.
    """

    def __init__(self, params, lr: float | Tensor = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(2 * p.numel() if p.is_complex() else p.numel()
                                    for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self):
        return _concat([jnp.zeros(p._value.shape, p._value.dtype) if p.grad is None
                        else p.grad._value for p in self._params])

    def _set_param(self, values) -> None:
        for p, value in zip(self._params, values, strict=True):
            _alias.write(p, value)

    def _add_grad(self, step, direction) -> None:
        self._set_param(_moved([p._value for p in self._params], direction,
                               jnp.asarray(step, direction.dtype)))

    @staticmethod
    def _direction(flat_grad, old_dirs, old_stps, ro, h_diag, history_size):
        """The two-loop recursion's direction, and its coefficients as numpy scalars."""
        count = len(old_dirs)
        padding = _bucket(count, history_size) - count
        zeros = jnp.zeros_like(flat_grad)
        # one placement for all: jit's cache keys on whether each input is committed
        device = next(iter(flat_grad.devices()))
        inputs = jax.device_put(
            ([v._value for v in old_dirs] + [zeros] * padding,
             [v._value for v in old_stps] + [zeros] * padding,
             [v._value for v in ro] + [jnp.zeros((), flat_grad.dtype)] * padding,
             jnp.asarray(h_diag)), device)
        d, al = _two_loop(flat_grad, *inputs[:3], count, inputs[3])
        return d, np.asarray(al)[:count]

    @staticmethod
    def _evaluate(closure):
        with enable_grad():
            return closure()

    def step(self, closure: Callable[[], float]):
        """Mirrors `torch.optim.LBFGS.step`: the closure is required."""
        if len(self.param_groups) != 1:
            raise AssertionError("Expected exactly one param_group, but got "
                                 f"{len(self.param_groups)}")
        # numpy warns where torch's 0-d tensors silently give inf or nan
        with no_grad(), np.errstate(all="ignore"):
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, lr_tensor = group["lr"], None
        if isinstance(lr, Tensor):
            # torch: `t = lr` keeps the group's (squeezed) tensor itself in state["t"]
            lr_tensor = lr if lr.dim() == 0 else lr.squeeze()
            lr = _host(lr_tensor)
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # torch keeps the optimizer's whole state under its first parameter
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if _host(_abs_max(flat_grad)) <= tolerance_grad:
            return orig_loss

        d = state.get("d")
        d = d._value if isinstance(d, Tensor) else d
        t = _scalar(state.get("t"))
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag = _scalar(state.get("H_diag"))
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        opt_cond = False
        al = None   # the last two-loop's coefficients, copied into state["al"] at the end

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y, s, ys, yy = _curvature_pair(flat_grad, prev_flat_grad._value, d,
                                               jnp.asarray(t, d.dtype))
                ys = _host(ys)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(Tensor._wrap(y))
                    old_stps.append(Tensor._wrap(s))
                    ro.append(_stored(1.0 / ys))
                    h_diag = ys / _host(yy)
                if "al" not in state:
                    state["al"] = [None] * history_size
                if old_dirs:
                    d, al = self._direction(flat_grad, old_dirs, old_stps, ro, h_diag,
                                            history_size)
                else:
                    d = -flat_grad * jnp.asarray(h_diag, flat_grad.dtype)

            if prev_flat_grad is None:
                prev_flat_grad = Tensor._wrap(flat_grad)
            else:
                _alias.write(prev_flat_grad, flat_grad)
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / _host(_abs_sum(flat_grad))) * lr
            else:
                t = lr

            gtd = _host(_dot(flat_grad, d))
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p._value for p in self._params]

                def evaluate(step, x=x_init, direction=d):
                    self._add_grad(step, direction)
                    value = float(self._evaluate(closure))
                    grad = self._gather_flat_grad()
                    self._set_param(x)
                    return value, grad

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = _host(_abs_max(flat_grad)) <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # torch skips the evaluation after the last iteration
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _host(_abs_max(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _host(_step_abs_max(d, jnp.asarray(t, d.dtype))) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        if al is not None:
            state["al"][:len(al)] = [_stored(a) for a in al]
        state["d"] = Tensor._wrap(d) if isinstance(d, jax.Array) else d
        state["t"] = lr_tensor if lr_tensor is not None and t is lr else _stored(t)
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = _stored(h_diag)
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss
