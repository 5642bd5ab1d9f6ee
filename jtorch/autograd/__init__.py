"""Mirrors `torch.autograd`: the recorded graph, backward, grad and grad mode."""
from __future__ import annotations

from .._ops import registry as _registry
from . import graph
from .engine import backward as backward, grad as grad
from .grad_mode import (enable_grad as enable_grad, inference_mode as inference_mode,
                        is_grad_enabled as is_grad_enabled,
                        is_inference_mode_enabled as is_inference_mode_enabled,
                        no_grad as no_grad, set_grad_enabled as set_grad_enabled)
from .._tensor import Tensor as Variable  # noqa: F401 - torch.autograd.Variable (legacy)

_registry.record = graph.record
from .function import Function as Function, FunctionCtx as FunctionCtx  # noqa: E402
from . import function  # noqa: E402,F401
