"""What runs inside a DataLoader worker process, and get_worker_info.

Workers are started with 'spawn' by default (JAX is not fork-safe once initialised). A
worker fetches samples and, for the default collate, collates them into numpy
(`collate.numpy_collate`); jtorch tensors are made in the main process. A user
collate_fn runs in the worker as in torch, and whatever it returns is pickled back.
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

_worker_info = None

# how often a blocked worker checks that the main process is still alive
_PARENT_CHECK_INTERVAL = 1.0


class WorkerInfo:
    """Mirrors `torch.utils.data.get_worker_info()`'s result."""

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_keys", tuple(kwargs))

    def __setattr__(self, key, value):
        raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self._keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info() -> WorkerInfo | None:
    """Mirrors `torch.utils.data.get_worker_info`."""
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, re-raised in the main process with its type."""

    def __init__(self, where: str):
        exc_type, exc, tb = sys.exc_info()
        self.exc_name = exc_type.__name__
        self.message = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            pickle.dumps(exc_type)
        except Exception:  # noqa: BLE001 - unpicklable there (e.g. a local class)
            exc_type = RuntimeError
        self.exc_type = exc_type
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.message}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - an exception class whose constructor wants other arguments
            raise RuntimeError(msg) from None
        raise exception


class _KeyErrorMessage(str):
    def __repr__(self):   # KeyError shows repr(arg); keep the traceback readable
        return str(self)


@dataclass(frozen=True)
class IterableDatasetStopped:
    worker_id: int


@dataclass(frozen=True)
class WorkerReady:
    """Sent once a worker has started (imports, seeding, worker_init_fn done)."""
    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    seed: int | None = None


def _fetch(dataset, fetcher_state, index, auto_collation, collate_fn, drop_last):
    if fetcher_state is None:   # map-style
        if not auto_collation:
            return collate_fn(dataset[index])
        getitems = getattr(dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [dataset[i] for i in index]
        return collate_fn(data)
    if auto_collation:
        data = []
        for _ in index:
            try:
                data.append(next(fetcher_state))
            except StopIteration:
                break
        if not data or (drop_last and len(data) < len(index)):
            raise StopIteration
        return collate_fn(data)
    return collate_fn(next(fetcher_state))


def worker_loop(dataset, is_iterable, index_queue, result_queue, auto_collation, collate_fn,
                drop_last, base_seed, init_fn, worker_id, num_workers, parent_pid):
    global _worker_info
    seed = base_seed + worker_id
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed % (1 << 64)])
                   .generate_state(4))
    import jtorch  # already imported: this module lives in the jtorch package
    jtorch.manual_seed(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                              dataset=dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        iterator = iter(dataset) if is_iterable else None
    except Exception:  # noqa: BLE001 - reported with the first batch
        init_error = ExceptionWrapper(where)
    ended = False
    result_queue.put((WorkerReady(worker_id), None))
    while True:
        try:
            task = index_queue.get(timeout=_PARENT_CHECK_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent_pid:   # the main process died: do not linger
                return
            continue
        if task is None:
            return
        if isinstance(task, ResumeIteration):
            result_queue.put((task, None))
            ended = False
            if is_iterable and init_error is None:
                iterator = iter(dataset)
            continue
        if ended:   # an exhausted iterable worker ignores tasks until resumed
            continue
        idx, index = task
        if init_error is not None:
            data, init_error = init_error, None
            ended = is_iterable
        else:
            try:
                data = _fetch(dataset, iterator, index, auto_collation, collate_fn, drop_last)
            except StopIteration:
                if is_iterable:
                    data, ended = IterableDatasetStopped(worker_id), True
                else:
                    data = ExceptionWrapper(where)
            except Exception:  # noqa: BLE001 - re-raised in the main process
                data = ExceptionWrapper(where)
        result_queue.put((idx, data))
        del data
