"""Mirrors `torch.optim.swa_utils`: weight averaging (SWA, EMA), `update_bn` and `SWALR`.

The averaging of a whole group of tensors (same device and dtype) is one jitted kernel
whose results are written back in place, as the optimizers do.
"""
from __future__ import annotations

import itertools
import math
import warnings
from copy import deepcopy
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp

from .. import _alias, _dtype
from .._ops.creation import tensor
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ._lr_base import _GET_LR_WARNING, LRScheduler, _format_param
from .optimizer import lerp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import jtorch as torch

    from .optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

PARAM_LIST = tuple[Tensor, ...] | list[Tensor]


def _as_stored(value, like):
    # integer tensors: torch computes in floats and copy_ truncates back to the integer dtype
    return value if value.dtype == like.dtype else value.astype(like.dtype)


@jax.jit
def _lerp_all(avgs, curs, weight):
    return [lerp(a, c, jnp.asarray(weight, a.dtype)) for a, c in zip(avgs, curs)]


@jax.jit
def _ema_all(avgs, curs, decay):
    # torch's non-float path: copy_(ema * decay + model * (1 - decay))
    return [_as_stored(a * decay + c * (1 - decay), a) for a, c in zip(avgs, curs)]


@jax.jit
def _mean_all(avgs, curs, n_averaged):
    # torch's per-tensor SWA: avg + (model - avg) / (n + 1), in the tensors' float dtype
    # (float32 for integer tensors, as torch's true division gives)
    def one(a, c):
        dtype = a.dtype if jnp.issubdtype(a.dtype, jnp.inexact) else jnp.float32
        n = (n_averaged + 1).astype(dtype)
        return _as_stored(a.astype(dtype) + (c - a).astype(dtype) / n, a)
    return [one(a, c) for a, c in zip(avgs, curs)]


def _run(kernel, averaged: PARAM_LIST, current: PARAM_LIST, scalar) -> None:
    """`kernel` over the arrays of a tensor group, written back into `averaged` in place."""
    scalar = scalar._value if isinstance(scalar, Tensor) else scalar
    values = kernel([t._value for t in averaged], [t._value for t in current], scalar)
    with no_grad():
        for t, value in zip(averaged, values):
            _alias.write(t, value)


_INTEGER_ADDCDIV = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
    "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
    "tensor2), for all dtypes.")


def _is_float(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def get_ema_multi_avg_fn(decay=0.999):
    """Mirrors `torch.optim.swa_utils.get_ema_multi_avg_fn`."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param_list: PARAM_LIST, current_param_list: PARAM_LIST, _) -> None:
        if _is_float(ema_param_list[0]):
            _run(_lerp_all, ema_param_list, current_param_list, 1 - decay)
        else:
            _run(_ema_all, ema_param_list, current_param_list, decay)
    return ema_update


def get_swa_multi_avg_fn():
    """Mirrors `torch.optim.swa_utils.get_swa_multi_avg_fn`."""
    def swa_update(averaged_param_list: PARAM_LIST, current_param_list: PARAM_LIST,
                   num_averaged: Tensor | int) -> None:
        if not _is_float(averaged_param_list[0]):
            # torch's integer path (foreach addcdiv_ / add_ with a float alpha) refuses
            raise RuntimeError(_INTEGER_ADDCDIV if isinstance(num_averaged, Tensor) else
                               "For integral input tensors, argument alpha must not be a "
                               "floating point number.")
        n = num_averaged._value if isinstance(num_averaged, Tensor) else num_averaged
        _run(_lerp_all, averaged_param_list, current_param_list, 1 / (n + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """Mirrors `torch.optim.swa_utils.get_ema_avg_fn`."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """Mirrors `torch.optim.swa_utils.get_swa_avg_fn`."""
    def swa_update(averaged_param: Tensor, current_param: Tensor,
                   num_averaged: Tensor | int):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """Mirrors `torch.optim.swa_utils.AveragedModel`.

    Without `avg_fn` or `multi_avg_fn` the average is torch's CPU formula
    `avg + (model - avg) / (n + 1)` on every device (torch's CUDA path uses `lerp`, which
    rounds differently in the last bit)."""

    n_averaged: Tensor

    def __init__(self, model: Module, device: int | torch.device | None = None,
                 avg_fn: Callable[[Tensor, Tensor, Tensor | int], Tensor] | None = None,
                 multi_avg_fn: Callable[[PARAM_LIST, PARAM_LIST, Tensor | int], None]
                 | None = None,
                 use_buffers=False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        pairs = [(a.detach(), b.detach().to(a.device)) for a, b in zip(mine, theirs)]
        first = bool(self.n_averaged == 0)
        if first:
            with no_grad():
                for averaged, current in pairs:
                    averaged.copy_(current)
        elif self.avg_fn is None:
            groups: dict[Any, list] = {}
            for averaged, current in pairs:
                groups.setdefault((str(averaged.device), averaged.dtype), []).append(
                    (averaged, current))
            for (device, _), group in groups.items():
                averaged, current = [list(side) for side in zip(*group)]
                n_averaged = self.n_averaged.to(device)
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(averaged, current, n_averaged)
                else:
                    _run(_mean_all, averaged, current, n_averaged)
        else:
            with no_grad():
                for averaged, current in pairs:
                    averaged.copy_(self.avg_fn(averaged, current,
                                               self.n_averaged.to(averaged.device)))
        if not self.use_buffers:
            with no_grad():
                for mine_buffer, their_buffer in zip(self.module.buffers(), model.buffers(),
                                                     strict=True):
                    mine_buffer.detach().copy_(their_buffer.detach().to(mine_buffer.device))
        with no_grad():
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module,
              device: int | torch.device | None = None) -> None:
    """Mirrors `torch.optim.swa_utils.update_bn`."""
    with no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None      # a cumulative average over the whole loader
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Mirrors `torch.optim.swa_utils.SWALR`."""

    _not_state = ("optimizer", "anneal_func")

    def __init__(self, optimizer: Optimizer, swa_lr: float, anneal_epochs=10,
                 anneal_strategy: Literal['cos', 'linear'] = "cos", last_epoch=-1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        # the groups change only once every argument passed (torch sets swa_lr first)
        for group, group_swa_lr in zip(optimizer.param_groups, swa_lrs, strict=True):
            group["swa_lr"] = group_swa_lr
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        # the lr the anneal started from, recovered from the current one
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn(_GET_LR_WARNING, UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(groups, prev_lrs, strict=True)]

    def _set_anneal_func(self, anneal_strategy: Literal['cos', 'linear']) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = (self._cosine_anneal if anneal_strategy == "cos"
                            else self._linear_anneal)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
