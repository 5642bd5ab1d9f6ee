"""Mirrors `torch.nn.modules.linear_cross_entropy_options`."""
from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["LinearCrossEntropyOptions"]


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Mirrors `torch.nn.LinearCrossEntropyOptions`: torch's settings for its chunked
    `linear_cross_entropy`. jtorch accepts and keeps them; XLA decides how the fused
    matmul and softmax are tiled, so they change nothing."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: object | None = None
