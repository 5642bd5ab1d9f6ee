"""Mirrors `torch.autograd`: the recorded graph, backward, grad, grad mode, Function,
functional and gradcheck."""
from __future__ import annotations

from .._ops import registry as _registry
from .._tensor import Tensor as Variable  # noqa: F401 - torch.autograd.Variable (legacy)
from . import graph
from .engine import backward as backward, grad as grad
from .grad_mode import (enable_grad as enable_grad, inference_mode as inference_mode,
                        is_grad_enabled as is_grad_enabled,
                        is_inference_mode_enabled as is_inference_mode_enabled,
                        no_grad as no_grad, set_grad_enabled as set_grad_enabled)
from . import function as function
from .function import Function as Function, FunctionCtx as FunctionCtx
from . import functional as functional
from .gradcheck import gradcheck as gradcheck, gradgradcheck as gradgradcheck

# ops record their graph nodes from now on
_registry.record = graph.record
_registry.resave = graph.resave


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
