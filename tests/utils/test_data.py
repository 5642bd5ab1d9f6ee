"""jtorch.utils.data against torch.utils.data: collation, datasets, samplers, DataLoader."""
from __future__ import annotations

import collections
import os
import warnings

import numpy as np
import pytest

import jtorch
import jtorch.utils.data as jdata
from jtorch.utils.data._utils import collate as jcollate

torch = pytest.importorskip("torch")
import data_worker_datasets as wd
import torch.utils.data as tdata

Point = collections.namedtuple("Point", ["x", "y"])


class UserList(list):
    pass


def same(a, b):
    """a (jtorch) and b (torch) have the same structure, types, dtypes and values."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, jtorch.Tensor), (type(a), b)
        assert str(a.dtype) == str(b.dtype) and tuple(a.shape) == tuple(b.shape), (a, b)
        np.testing.assert_array_equal(a.double().numpy(), b.double().numpy())
        return
    assert type(a).__name__ == type(b).__name__, (a, b)
    if isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b)
        return
    if isinstance(b, dict):
        assert list(a) == list(b)
        for k in b:
            same(a[k], b[k])
    elif isinstance(b, (list, tuple)) and not isinstance(b, (str, bytes)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert a == b


# batches built in either library (T); every default_collate rule
COLLATE_CASES = [
    "[1, 2, 3]", "[True, False]", "[1.5, 2.0]", "[1, True]", "['a', 'bc']", "[b'x', b'y']",
    "[np.float32(1), np.float32(2)]", "[np.int16(1), np.int16(3)]", "[np.bool_(True)] * 2",
    "[np.arange(3, dtype=np.int32), np.ones(3, dtype=np.int32)]",
    "[np.zeros((2, 2), np.float16), np.ones((2, 2), np.float16)]",
    "[np.array(1.5), np.array(2.5)]", "[np.zeros(2, np.uint8), np.ones(2, np.uint8)]",
    "[T.tensor([1., 2.]), T.tensor([3., 4.])]", "[T.tensor(1), T.tensor(2)]",
    "[T.zeros(2, 3, dtype=T.bfloat16)] * 2",
    "[{'a': 1, 'b': np.ones(2)}, {'a': 2, 'b': np.zeros(2)}]",
    "[collections.OrderedDict(z=1.0, a='s')] * 2",
    "[Point(1, 2.0), Point(3, 4.0)]", "[(1, 'a'), (2, 'b')]", "[[1, 2], [3, 4]]",
    "[UserList([1, 2]), UserList([3, 4])]", "[range(2), range(2)]",
    "[({'k': [T.ones(2), 1]}, 0.5)] * 3",
]


@pytest.mark.parametrize("case", COLLATE_CASES)
def test_default_collate_matches_torch(case):
    env = {"np": np, "collections": collections, "Point": Point, "UserList": UserList}
    expected = tdata.default_collate(eval(case, dict(env, T=torch)))
    same(jdata.default_collate(eval(case, dict(env, T=jtorch))), expected)
    # what a worker does: numpy collate there, tensors made in the main process
    same(jcollate.materialize(jcollate.numpy_collate(eval(case, dict(env, T=jtorch)))),
         expected)


CONVERT_CASES = [
    "np.arange(3)", "np.float32(2)", "np.array(['a'])", "np.str_('s')", "1", "2.5", "'s'",
    "T.ones(2)", "{'a': np.ones(2), 'b': [np.int8(1), 'x']}", "(np.ones(1), 2)",
    "Point(np.zeros(1), 1)", "[np.ones(2)]",
]


@pytest.mark.parametrize("case", CONVERT_CASES)
def test_default_convert_matches_torch(case):
    env = {"np": np, "Point": Point}
    expected = tdata.default_convert(eval(case, dict(env, T=torch)))
    same(jdata.default_convert(eval(case, dict(env, T=jtorch))), expected)
    same(jcollate.materialize(jcollate.numpy_convert(eval(case, dict(env, T=jtorch)))),
         expected)


COLLATE_ERRORS = [
    "[object(), object()]", "[np.array(['a']), np.array(['b'])]", "[[1, 2], [3]]",
    "[np.ones(2), np.ones(3)]", "[T.ones(2), T.ones(3)]", "[None, None]",
]


@pytest.mark.parametrize("case", COLLATE_ERRORS)
def test_default_collate_errors_match_torch(case):
    with pytest.raises(Exception) as expected:
        tdata.default_collate(eval(case, {"np": np, "T": torch}))
    for collate in (jdata.default_collate, jcollate.numpy_collate):
        with pytest.raises(expected.type) as got:
            collate(eval(case, {"np": np, "T": jtorch}))
        if "object at" not in str(expected.value):
            assert str(got.value) == str(expected.value)


class Items:
    """A map-style dataset in both libraries: item i is (float32 array, int, str)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i, f"s{i}"


class Count:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def both_datasets(kind, n):
    if kind == "map":
        return (type("D", (Items, jdata.Dataset), {})(n), type("D", (Items, tdata.Dataset), {})(n))
    return (type("I", (Count, jdata.IterableDataset), {})(n),
            type("I", (Count, tdata.IterableDataset), {})(n))


LOADER_CASES = [
    ("map", 10, {}), ("map", 10, {"batch_size": 3}), ("map", 10, {"batch_size": 3, "drop_last": True}),
    ("map", 10, {"batch_size": None}), ("map", 10, {"batch_size": 4, "collate_fn": lambda b: b}),
    ("map", 6, {"batch_sampler": [[0, 5], [2], [1, 3, 4]]}), ("map", 6, {"sampler": [5, 1, 3]}),
    ("iter", 7, {"batch_size": 3}), ("iter", 7, {"batch_size": 3, "drop_last": True}),
    ("iter", 4, {"batch_size": None}),
]


@pytest.mark.parametrize("kind,n,kwargs", LOADER_CASES)
def test_sequential_loader_matches_torch(kind, n, kwargs):
    jds, tds = both_datasets(kind, n)
    jl, tl = jdata.DataLoader(jds, **kwargs), tdata.DataLoader(tds, **kwargs)
    assert len(jl) == len(tl)
    same(list(jl), list(tl))


def test_tensor_dataset_loader_matches_torch():
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    y = np.arange(8)
    jl = jdata.DataLoader(jdata.TensorDataset(jtorch.tensor(x), jtorch.tensor(y)), batch_size=3)
    tl = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=3)
    same(list(jl), list(tl))


LOADER_ERRORS = [
    ("map", {"num_workers": -1}), ("map", {"timeout": -1}), ("map", {"prefetch_factor": 2}),
    ("map", {"persistent_workers": True}), ("map", {"sampler": [0], "shuffle": True}),
    ("map", {"batch_sampler": [[0]], "batch_size": 2}), ("map", {"batch_sampler": [[0]], "drop_last": True}),
    ("map", {"batch_size": None, "drop_last": True}), ("iter", {"shuffle": True}),
    ("iter", {"sampler": [0]}), ("map", {"batch_size": 0}), ("map", {"batch_size": -2}),
    ("map", {"drop_last": 1}), ("map", {"multiprocessing_context": "spawn"}),
    ("map", {"num_workers": 1, "multiprocessing_context": "nope"}),
    ("map", {"num_workers": 1, "multiprocessing_context": 3}),
]


@pytest.mark.parametrize("kind,kwargs", LOADER_ERRORS)
def test_loader_errors_match_torch(kind, kwargs):
    jds, tds = both_datasets(kind, 4)
    with pytest.raises(Exception) as expected:
        tdata.DataLoader(tds, **kwargs)
    with pytest.raises(expected.type) as got:
        jdata.DataLoader(jds, **kwargs)
    assert str(got.value) == str(expected.value)


def test_loader_attributes_frozen_and_len():
    jl = jdata.DataLoader(both_datasets("map", 5)[0], batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        jl.batch_size = 3
    assert len(jl) == 3 and isinstance(jl.sampler, jdata.SequentialSampler)
    assert isinstance(jdata.DataLoader(range(4), shuffle=True).sampler, jdata.RandomSampler)


def test_shuffle_reproducible_under_seed():
    def epoch(**kwargs):
        return [b.tolist() for b in jdata.DataLoader(range(20), batch_size=6, shuffle=True, **kwargs)]
    jtorch.manual_seed(3)
    first = epoch()
    jtorch.manual_seed(3)
    assert epoch() == first and epoch() != first
    assert sorted(i for b in first for i in b) == list(range(20)) and [len(b) for b in first] == [6, 6, 6, 2]
    g = jtorch.Generator().manual_seed(5)
    a = epoch(generator=g)
    assert a == epoch(generator=jtorch.Generator().manual_seed(5))


def test_samplers():
    assert list(jdata.SequentialSampler(range(4))) == list(tdata.SequentialSampler(range(4)))
    for n, kwargs in [(7, {}), (5, {"num_samples": 12}), (5, {"replacement": True, "num_samples": 40})]:
        s, again = (list(jdata.RandomSampler(range(n), generator=jtorch.Generator().manual_seed(1),
                                             **kwargs)) for _ in range(2))
        assert s == again and len(s) == len(tdata.RandomSampler(range(n), **kwargs))
        assert set(s) <= set(range(n))
        if not kwargs.get("replacement"):
            assert sorted(s[:n]) == list(range(n))
    sub = list(jdata.SubsetRandomSampler([10, 20, 30], generator=jtorch.Generator().manual_seed(0)))
    assert sorted(sub) == [10, 20, 30]
    w = list(jdata.WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 50, generator=jtorch.Generator()))
    assert len(w) == 50 and set(w) <= {1, 3}
    assert sorted(jdata.WeightedRandomSampler([1.0] * 4, 4, replacement=False)) == [0, 1, 2, 3]
    for bs, drop in [(3, False), (3, True), (5, False)]:
        jb, tb = jdata.BatchSampler(range(10), bs, drop), tdata.BatchSampler(range(10), bs, drop)
        assert list(jb) == list(tb) and len(jb) == len(tb)


SAMPLER_ERRORS = [
    "S.RandomSampler(range(3), replacement=1)", "S.RandomSampler(range(3), num_samples=0)",
    "S.RandomSampler([])", "S.WeightedRandomSampler([1.0], 0)",
    "S.WeightedRandomSampler([1.0], 2, replacement=0)", "S.WeightedRandomSampler([[1.0]], 2)",
    "S.BatchSampler(range(3), True, False)", "S.DistributedSampler(range(3), 2, 2)",
]


@pytest.mark.parametrize("case", SAMPLER_ERRORS)
def test_sampler_errors_match_torch(case):
    with pytest.raises(Exception) as expected:
        eval(case, {"S": tdata})
    with pytest.raises(expected.type) as got:
        eval(case, {"S": jdata})
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False), (8, 4, False)])
def test_distributed_sampler(n, replicas, drop_last):
    for rank in range(replicas):
        kwargs = {"num_replicas": replicas, "rank": rank, "drop_last": drop_last}
        j = jdata.DistributedSampler(range(n), shuffle=False, **kwargs)
        t = tdata.DistributedSampler(range(n), shuffle=False, **kwargs)
        assert list(j) == list(t) and len(j) == len(t)
    shuffled = [jdata.DistributedSampler(range(n), num_replicas=replicas, rank=r, drop_last=drop_last)
                for r in range(replicas)]
    epoch0 = [list(s) for s in shuffled]
    assert epoch0 == [list(s) for s in shuffled]
    if not drop_last and n >= replicas:
        assert {i for part in epoch0 for i in part} == set(range(n))
    for s in shuffled:
        s.set_epoch(1)
    if n > 2:
        assert [list(s) for s in shuffled] != epoch0


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]),
                                       (7, [0.34, 0.33, 0.33]), (3, [0.1, 0.9])])
def test_random_split_lengths(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsplit = tdata.random_split(range(n), lengths)
        jsplit = jdata.random_split(range(n), lengths, generator=jtorch.Generator().manual_seed(0))
    assert [len(s) for s in jsplit] == [len(s) for s in tsplit]
    assert sorted(i for s in jsplit for i in s) == list(range(n))
    again = jdata.random_split(range(n), lengths, generator=jtorch.Generator().manual_seed(0))
    assert [list(s) for s in again] == [list(s) for s in jsplit]


@pytest.mark.parametrize("lengths", [[3, 3], [1.2, -0.2], [0.5, 0.6]])
def test_random_split_errors_match_torch(lengths):
    with pytest.raises(Exception) as expected:
        tdata.random_split(range(5), lengths)
    with pytest.raises(expected.type, match=str(expected.value)):
        jdata.random_split(range(5), lengths)


def test_datasets_match_torch():
    jc = jdata.ConcatDataset([range(3), range(10, 14)])
    tc = tdata.ConcatDataset([range(3), range(10, 14)])
    assert len(jc) == len(tc) and [jc[i] for i in range(-7, 7)] == [tc[i] for i in range(-7, 7)]
    assert jc.cumulative_sizes == tc.cumulative_sizes
    with pytest.raises(ValueError, match="absolute value of index"):
        jc[-8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        jdata.ConcatDataset([])
    ji, _ = both_datasets("iter", 3)
    assert list(ji + ji) == [0, 1, 2, 0, 1, 2] and len(jdata.ChainDataset([ji, ji])) == 6
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        jdata.ConcatDataset([ji])
    sub = jdata.Subset(list(range(10, 20)), [4, 0, 2])
    assert [sub[i] for i in range(3)] == [14, 10, 12] and sub.__getitems__([2, 0]) == [12, 14]
    st = jdata.StackDataset(range(3), "abc")
    assert st[1] == (1, "b") and jdata.StackDataset(a=range(2), b="xy")[1] == {"a": 1, "b": "y"}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        jdata.StackDataset(range(2), "abc")
    td = jdata.TensorDataset(jtorch.arange(4), jtorch.ones(4, 2))
    assert len(td) == 4 and td[1][0].item() == 1 and tuple(td[1][1].shape) == (2,)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        jdata.TensorDataset(jtorch.ones(2), jtorch.ones(3))
    with pytest.raises(NotImplementedError):
        jdata.Dataset()[0]
    assert jdata.get_worker_info() is None
    with pytest.raises(AttributeError, match="does not implement"):
        _ = jdata.DataPipe


# --- worker processes (each spawned worker imports jtorch: about 2 s) ------------------

def test_workers_persistent_init_fn_and_worker_info():
    platforms = os.environ.get("JAX_PLATFORMS")
    loader = jdata.DataLoader(wd.Squares(10), batch_size=3, num_workers=2,
                              persistent_workers=True, worker_init_fn=wd.tag_worker)
    expected = list(jdata.DataLoader(wd.Squares(10), batch_size=3))
    assert len(loader) == 4
    for _ in range(2):   # the second epoch reuses the same workers
        batches = list(loader)
        assert len(batches) == 4
        for got, want in zip(batches, expected):
            for g, w in zip(got[:2], want[:2]):
                assert g.dtype == w.dtype and g.tolist() == w.tolist()
        assert [b[2].tolist() for b in batches] == [[0] * 3, [1] * 3, [0] * 3, [1]]
        # workers run jax on the CPU alone: on a GPU host each would otherwise claim most
        # of the GPU's memory
        assert [b[3] for b in batches] == [("w0/2/cpu",) * 3, ("w1/2/cpu",) * 3,
                                           ("w0/2/cpu",) * 3, ("w1/2/cpu",)]
    assert os.environ.get("JAX_PLATFORMS") == platforms
    pids = [w.pid for w in loader._iterator._workers]
    iter(loader)
    assert [w.pid for w in loader._iterator._workers] == pids
    loader._iterator._shutdown_workers()


def test_workers_iterable_and_user_collate():
    loader = jdata.DataLoader(wd.Shards(7), batch_size=2, num_workers=2,
                              collate_fn=wd.tensor_collate)
    got = [b.tolist() for b in loader]
    # torch's order: batches alternate between workers until each runs out
    assert got == [[0, 20], [10, 30], [40, 60], [50]]


def test_worker_error_and_timeout():
    # the timeout (shorter than a spawned worker's start-up) counts from the first batch on
    loader = iter(jdata.DataLoader(wd.Squares(4, fail_at=1, slow_at=2), num_workers=1,
                                   timeout=1))
    assert next(loader)[1].tolist() == [0]
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        next(loader)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 1 seconds"):
        next(loader)
