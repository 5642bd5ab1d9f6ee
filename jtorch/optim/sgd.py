"""Mirrors `torch.optim.SGD`."""
from __future__ import annotations

from .._tensor import Tensor
from .optimizer import Optimizer, number

__all__ = ["SGD"]


def _sgd(static, hyper, params, grads, states):
    """torch's single-tensor SGD over a whole group. `states[i]` is (momentum_buffer,) with
    momentum (the buffer None before its first step), else ()."""
    use_momentum, nesterov, maximize, use_decay = static
    lr, momentum, dampening, weight_decay = hyper
    new_params, new_states = [], []
    for p, g, state in zip(params, grads, states):
        buf = state[0] if use_momentum else None
        g = -g if maximize else g
        if use_decay:
            g = g + weight_decay * p
        if use_momentum:
            # torch: the first buffer is the gradient itself, undampened
            buf = g if buf is None else buf * momentum + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        new_params.append((p - lr * g).astype(p.dtype))
        new_states.append((buf,) if use_momentum else ())
    return new_params, new_states


class SGD(Optimizer):
    """Mirrors `torch.optim.SGD` (`foreach`, `fused`, `differentiable` are accepted and
    change nothing: the group's update is one jitted kernel)."""

    def __init__(self, params, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0,
                 nesterov: bool = False, *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        self._check_fused()

    _group_defaults = (("nesterov", False), ("maximize", False), ("foreach", None),
                       ("differentiable", False), ("fused", False))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group, params in self._groups_to_update():
            use_momentum = group["momentum"] != 0
            # torch keeps state only with momentum: the buffer, made on the first step
            states = [self.state[p] for p in params] if use_momentum else [{} for _ in params]
            for state in states:
                if use_momentum:
                    state.setdefault("momentum_buffer", None)
            static = (use_momentum, bool(group["nesterov"]), bool(group["maximize"]),
                      number(group["weight_decay"]) != 0)
            hyper = tuple(number(group[k]) for k in ("lr", "momentum", "dampening",
                                                      "weight_decay"))
            self._run_update(_sgd, static, hyper, params, [p.grad for p in params], states,
                             ("momentum_buffer",) if use_momentum else ())
        return loss
