"""DataLoader and its single- and multi-process iterators.

Multi-process loading differs from torch in two deliberate ways:
- workers start with 'spawn' unless `multiprocessing_context` says otherwise, because a
  forked child of a process that has initialised JAX can deadlock;
- with the default collate_fn (or default_convert when batch_size=None), workers collate
  into numpy and the main process wraps the arrays as tensors, so a dataset that returns
  numpy or Python values never runs a JAX op in a worker. A custom collate_fn runs in the
  worker as in torch and its result comes back as it is: if it builds jtorch tensors, each
  worker runs (and compiles) JAX ops itself and the tensors are pickled through a pipe, a
  copy that torch avoids with shared memory. Returning numpy from a custom collate_fn is
  the cheap path. Each worker imports jtorch (about 2 s at start-up; reused across epochs
  with persistent_workers=True), and the dataset and collate_fn must be picklable by name
  (defined at module level, under `if __name__ == "__main__":` in scripts), as with
  torch's own spawn start method.
pin_memory is accepted and ignored (there is no pinned host memory in JAX).
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import multiprocessing.context
import os
import queue
from collections.abc import Callable, Iterable
from typing import Any

import jtorch

from ._utils import collate as _collate
from ._utils import worker as _worker
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

default_collate = _collate.default_collate
default_convert = _collate.default_convert
get_worker_info = _worker.get_worker_info

# how often the main process, waiting for a batch, checks that its workers are alive
_WORKER_CHECK_INTERVAL = 1.0


class _InfiniteConstantSampler(Sampler):
    """Stands in for a sampler with an IterableDataset: one None per requested sample."""

    def __iter__(self):
        return itertools.repeat(None)


class DataLoader:
    """Mirrors `torch.utils.data.DataLoader`; see the module docstring for workers."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in (
                "batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                "persistent_workers"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                valid = multiprocessing.get_all_start_methods()
                if context not in valid:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {valid!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self._multiprocessing_context = context

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else -(-length // self.batch_size))
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Accepted for compatibility; jtorch does not warn about worker counts."""


class _BaseIter:
    def __init__(self, loader: DataLoader):
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _next_index(self):
        return next(self._sampler_iter)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._fetcher = iter(self._dataset) if self._is_iterable else None

    def __next__(self):
        index = self._next_index()
        data = _worker._fetch(self._dataset, self._fetcher, index, self._auto_collation,
                              self._collate_fn, self._drop_last)
        self._num_yielded += 1
        return data


def _worker_collate_fn(collate_fn: Callable) -> Callable:
    """What a worker runs: the numpy flavour of the default collates, else the user's."""
    if collate_fn is _collate.default_collate:
        return _collate.numpy_collate
    if collate_fn is _collate.default_convert:
        return _collate.numpy_convert
    return collate_fn


@contextlib.contextmanager
def _cpu_only_child():
    """A process started inside runs jax on the CPU alone (JAX_PLATFORMS=cpu in the
    environment it inherits). Workers only index and collate into numpy; jax on a GPU in
    each would claim most of that GPU's memory for itself."""
    saved = os.environ.get("JAX_PLATFORMS")
    os.environ["JAX_PLATFORMS"] = "cpu"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["JAX_PLATFORMS"]
        else:
            os.environ["JAX_PLATFORMS"] = saved


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        context = loader.multiprocessing_context or multiprocessing.get_context("spawn")
        base_seed = int(jtorch.empty((), dtype=jtorch.int64)
                        .random_(generator=loader.generator).item())
        self._result_queue = context.Queue()
        self._index_queues, self._workers = [], []
        self._shutdown = False
        self._workers_ready = 0
        collate_fn = _worker_collate_fn(self._collate_fn)
        # only the numpy collates leave arrays for this process to wrap; a user collate_fn's
        # result is passed through untouched, as torch does
        self._materialize = collate_fn is not self._collate_fn
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()
                process = context.Process(
                    target=_worker.worker_loop, daemon=True,
                    args=(self._dataset, self._is_iterable, index_queue, self._result_queue,
                          self._auto_collation, collate_fn, self._drop_last, base_seed,
                          loader.worker_init_fn, worker_id, self._num_workers, os.getpid()))
                self._index_queues.append(index_queue)
                with _cpu_only_child():
                    process.start()   # pickles the dataset: it must be importable by name
                self._workers.append(process)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._send_idx = self._rcvd_idx = 0
        self._task_info: dict[int, list] = {}   # idx -> [worker_id] or [worker_id, data]
        self._tasks_outstanding = 0
        self._worker_active = [True] * self._num_workers
        self._next_worker = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # persistent workers: let each finish what the last epoch left queued, then
            # wait for every acknowledgement and drop the stale batches that came before
            for index_queue in self._index_queues:
                index_queue.put(_worker.ResumeIteration())
            pending = self._num_workers
            while pending:
                idx, _ = self._get_data()
                if isinstance(idx, _worker.ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        if self._tasks_outstanding >= self._prefetch * self._num_workers:
            return
        if not any(self._worker_active):
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        worker_id = next(self._next_worker)
        while not self._worker_active[worker_id]:
            worker_id = next(self._next_worker)
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = [worker_id]
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self):
        while True:
            idx, data = self._get_message()
            if idx is None or isinstance(idx, _worker.WorkerReady):
                # None: nothing arrived within the liveness-check interval; ask again
                self._workers_ready += idx is not None
                continue
            return idx, data

    def _get_message(self):
        # `timeout` bounds the wait for a batch, not a spawned worker's start-up (importing
        # jtorch takes seconds, where torch's forked workers start at once)
        if self._timeout > 0 and self._workers_ready == self._num_workers:
            try:
                return self._result_queue.get(timeout=self._timeout)
            except queue.Empty:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        try:
            return self._result_queue.get(timeout=_WORKER_CHECK_INTERVAL)
        except queue.Empty:
            dead = [w.pid for w in self._workers if not w.is_alive()]
            if dead:
                self._shutdown_workers()
                pids = ", ".join(str(p) for p in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited "
                                   f"unexpectedly") from None
            return None, None

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx and self._rcvd_idx not in self._task_info:
                self._rcvd_idx += 1   # tasks dropped when their iterable worker ran out
            if self._rcvd_idx == self._send_idx:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process(info[1])
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker.IterableDatasetStopped):
                self._retire_worker(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx].append(data)   # out of order: keep it for later
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process(data)

    def _retire_worker(self, worker_id: int) -> None:
        """An iterable worker ran out: it will answer none of its queued tasks."""
        self._worker_active[worker_id] = False
        for idx in [i for i, info in self._task_info.items()
                    if info[0] == worker_id and len(info) == 1]:
            del self._task_info[idx]
            self._tasks_outstanding -= 1

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        self._num_yielded += 1
        return _collate.materialize(data) if self._materialize else data

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        for index_queue in self._index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for process in self._workers:
            # a worker still busy in __getitem__ gets a second, then is stopped: nobody
            # will read what it is computing
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
        for q in (*self._index_queues, self._result_queue):
            q.close()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # noqa: BLE001, S110 - interpreter teardown: queues may already be gone
            pass
