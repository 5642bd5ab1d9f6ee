"""Datasets for test_data.py's worker-process tests: importable without torch, so spawned
workers import only jtorch and numpy."""
from __future__ import annotations

import os
import time

import numpy as np

import jtorch
from jtorch.utils.data import Dataset, IterableDataset, get_worker_info

INIT_CALLS = []


class Squares(Dataset):
    """Item i: (float32 array [i, i*i], i, id of the worker that fetched it)."""

    def __init__(self, n=10, fail_at=None, slow_at=None):
        self.n, self.fail_at, self.slow_at = n, fail_at, slow_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"no item {i}")
        if i == self.slow_at:
            time.sleep(3)
        info = get_worker_info()
        tag = getattr(info.dataset, "tag", "") if info else ""
        return np.array([i, i * i], np.float32), i, (-1 if info is None else info.id), tag


class Shards(IterableDataset):
    """0..n-1, split between workers by get_worker_info (torch's documented recipe)."""

    def __init__(self, n=7):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        return iter(range(info.id, self.n, info.num_workers) if info else range(self.n))


def tag_worker(worker_id):
    """Tags the worker's dataset with its id, count and the jax platforms it may use."""
    info = get_worker_info()
    info.dataset.tag = f"w{worker_id}/{info.num_workers}/{os.environ.get('JAX_PLATFORMS')}"


def tensor_collate(batch):
    """A user collate_fn: runs in the worker and returns a jtorch tensor."""
    return jtorch.tensor(batch) * 10
