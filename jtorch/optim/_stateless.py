"""Mirrors `torch.optim.swap_in_optimizer_params_and_state`."""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from .._tensor import Tensor
from .optimizer import Optimizer

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _fail(message: str):
    raise RuntimeError(f"{_NAME} requires {message}")


def _swap_plan(optimizer: Optimizer, parameters: dict[str, Tensor], saved: dict[str, Any]):
    """Checks `saved` (an `optimizer.state_dict()`-shaped dict) against the live optimizer
    and pairs each live group with its saved group and its slice of `parameters`."""
    if not optimizer.state:
        _fail("initialized optimizer state.")
    if not isinstance(saved, dict):
        _fail("a DCP-style optimizer state_dict.")
    state, groups = saved.get("state"), saved.get("param_groups")
    if not isinstance(state, dict):
        _fail("swapin_optim_state['state'] to be a dict mapping packed parameter ids to "
              f"per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        _fail("optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        _fail("per-parameter optimizer state entries to be dictionaries.")
    if not isinstance(groups, list):
        _fail("swapin_optim_state['param_groups'] to be a list of param-group dicts, got "
              f"{type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    tensors = list(parameters.values())
    plan, start, ids_seen = [], 0, set()
    for index, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(group, dict):
            _fail("each optimizer param group to be a dictionary.")
        ids = group.get("params")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            _fail("optimizer.state_dict()-style param_groups[*]['params'] entries keyed by "
                  "packed parameter ids.")
        if len(ids) != len(live["params"]):
            raise RuntimeError(f"swapin_optim_state param group {index} has a different "
                               "number of params than the live optimizer param group.")
        saved_only = [k for k in group if k not in live]
        live_only = [k for k in live if k not in group]
        if saved_only or live_only:
            _fail("optimizer.state_dict()-style param group keys to exactly match the live "
                  f"optimizer group keys for group {index}. Keys only in swap-in: "
                  f"{saved_only}. Keys only in live: {live_only}.")
        if start + len(ids) > len(tensors):
            _fail("the explicit parameter state to match optimizer.param_groups ordering.")
        plan.append((live, group, tensors[start:start + len(ids)]))
        start += len(ids)
        ids_seen.update(ids)
    extra = [k for k in state if k not in ids_seen]
    if extra:
        _fail("swapin_optim_state['state'] to be keyed only by packed parameter ids from "
              f"param_groups[*]['params']; got extra keys {extra!r}.")
    return state, plan


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer: Optimizer,
                                       swapin_parameters: dict[str, Tensor],
                                       swapin_optim_state: dict[str, Any]):
    """Mirrors `torch.optim.swap_in_optimizer_params_and_state`: inside the context the
    optimizer steps `swapin_parameters` with the state and hyper-parameters of
    `swapin_optim_state`; the state's tensors are updated in place, and the live groups and
    state come back on exit."""
    state, plan = _swap_plan(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    # shallow copies: the same `params` list object comes back, as torch keeps it
    snapshots = [dict(group) for group in optimizer.param_groups]
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, group, tensors in plan:
            live.update({k: v for k, v in group.items() if k != "params"})
            live["params"] = tensors
            for tensor, param_id in zip(tensors, group["params"]):
                # a copy of each entry's dict: its tensors are shared (updated in place),
                # entries the step adds stay local to the context
                swapped[tensor] = dict(state.get(param_id, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = live_state
