"""default_collate / default_convert, plus the numpy flavour that worker processes run.

Workers never build jtorch tensors for the default collate: they collate into numpy and
wrap each would-be tensor in `_Pending`; the main process turns those into tensors
(`materialize`). The structure rules (mappings, namedtuples, sequences) are shared.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import jtorch

_STR_OBJ_DTYPE = re.compile(r"[SaUO]")   # numpy dtype codes default_collate refuses

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


class _Pending:
    """A collated numpy array that the main process turns into a tensor."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def __reduce__(self):
        return (_Pending, (self.array,))


def _rebuild_mapping(data, items: dict):
    try:
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)   # keeps the mapping type's extra attributes
            clone.update(items)
            return clone
        return type(data)(items)
    except TypeError:   # the type cannot copy/update or be built from a dict
        return items


def _rebuild_sequence(data, items: list):
    try:
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(data)(items)
    except TypeError:   # e.g. range
        return items


def collate(batch, *, collate_fn_map: dict | None = None):
    """Mirrors `torch.utils.data._utils.collate.collate`."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch],
                                                    collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):   # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map)
                           for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        items = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return items   # torch returns a list for plain tuples (backwards compatibility)
        return _rebuild_sequence(elem, items)
    raise TypeError(_ERR.format(elem_type))


def _check_stack_shapes(shapes: list) -> None:
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(shape)} at entry {i}")


# --- main-process leaves: jtorch tensors -----------------------------------------------

def collate_tensor_fn(batch, *, collate_fn_map=None):
    return jtorch.stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _STR_OBJ_DTYPE.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([jtorch.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return jtorch.as_tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return jtorch.tensor(batch, dtype=jtorch.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return jtorch.tensor(batch)   # int64, or bool when every element is a bool


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict = {
    jtorch.Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Mirrors `torch.utils.data.default_collate`."""
    return collate(batch, collate_fn_map=default_collate_fn_map)


def _convert_structure(data, leaf: Callable[[Any], Any], tuples_to_lists: bool):
    converted = leaf(data)
    if converted is not _NOT_A_LEAF:
        return converted
    recurse = lambda d: _convert_structure(d, leaf, tuples_to_lists)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: recurse(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(recurse(d) for d in data))
    if isinstance(data, tuple):
        items = [recurse(d) for d in data]
        return items if tuples_to_lists else tuple(items)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [recurse(d) for d in data])
    return data


_NOT_A_LEAF = object()


def _is_numpy_value(data) -> bool:
    """default_convert's leaf rule: numpy values become tensors, except strings and arrays
    of strings or objects."""
    kind = type(data)
    if kind.__module__ != "numpy" or kind.__name__ in ("str_", "string_"):
        return False
    return not (isinstance(data, np.ndarray) and _STR_OBJ_DTYPE.search(data.dtype.str))


def default_convert(data):
    """Mirrors `torch.utils.data.default_convert`."""
    def leaf(d):
        if isinstance(d, jtorch.Tensor):
            return d
        return jtorch.as_tensor(np.asarray(d)) if _is_numpy_value(d) else _NOT_A_LEAF
    return _convert_structure(data, leaf, tuples_to_lists=True)


# --- worker leaves: numpy arrays wrapped in _Pending -----------------------------------

def _tensor_to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _numpy_collate_tensor(batch, *, collate_fn_map=None):
    arrays = [b.array if isinstance(b, _Pending) else _tensor_to_numpy(b) for b in batch]
    _check_stack_shapes([a.shape for a in arrays])
    return _Pending(np.stack(arrays, 0))


def _numpy_collate_array(batch, *, collate_fn_map=None):
    if _STR_OBJ_DTYPE.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERR.format(batch[0].dtype))
    return _numpy_collate_tensor([_Pending(np.asarray(b)) for b in batch])


def _numpy_collate_scalar(batch, *, collate_fn_map=None):
    return _Pending(np.asarray(batch))


def _numpy_collate_float(batch, *, collate_fn_map=None):
    return _Pending(np.asarray(batch, dtype=np.float64))


def _numpy_collate_int(batch, *, collate_fn_map=None):
    if all(isinstance(b, bool) for b in batch):
        return _Pending(np.asarray(batch, dtype=np.bool_))
    return _Pending(np.asarray(batch, dtype=np.int64))


numpy_collate_fn_map: dict = {
    jtorch.Tensor: _numpy_collate_tensor,
    np.ndarray: _numpy_collate_array,
    (np.bool_, np.number, np.object_): _numpy_collate_scalar,
    float: _numpy_collate_float,
    int: _numpy_collate_int,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def numpy_collate(batch):
    """default_collate's rules, leaving numpy arrays for the main process to wrap."""
    return collate(batch, collate_fn_map=numpy_collate_fn_map)


def numpy_convert(data):
    """default_convert's rules, leaving numpy arrays for the main process to wrap."""
    def leaf(d):
        if isinstance(d, jtorch.Tensor):
            return _Pending(_tensor_to_numpy(d))
        return _Pending(np.asarray(d)) if _is_numpy_value(d) else _NOT_A_LEAF
    return _convert_structure(data, leaf, tuples_to_lists=True)


def materialize(data):
    """Main process: turns every `_Pending` in a worker's batch into a jtorch tensor."""
    def leaf(d):
        if isinstance(d, _Pending):
            return jtorch.as_tensor(d.array)
        if isinstance(d, (str, bytes, jtorch.Tensor, np.ndarray)):
            return d
        return _NOT_A_LEAF
    return _convert_structure(data, leaf, tuples_to_lists=False)
