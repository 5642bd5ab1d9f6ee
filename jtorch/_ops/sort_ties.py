"""Which of several equal elements torch's CPU kernels report (topk, kthvalue, mode).

torch leaves the index of a tied value unspecified; in practice it is fixed by the
selection algorithm its CPU kernels run: a Sedgewick quickselect (kthvalue), and the
GNU libstdc++ introsort / introselect / heap selection (mode's std::sort, topk's
std::nth_element and std::partial_sort). These are re-implementations of those
algorithms' documented steps on Python lists of (value, index) pairs, run only on the rows
where ties make the answer depend on them. Under tracing (no concrete values) jtorch keeps
its own deterministic choice: the first index among equals.
"""
from __future__ import annotations

import math

import jax
import numpy as np

_THRESHOLD = 16       # libstdc++'s _S_threshold: below it, insertion sort finishes the job


def concrete(x) -> bool:
    """True when `x` holds values (eager), False for a tracer."""
    return not isinstance(x, jax.core.Tracer)


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


# -- torch's quickselect (kthvalue) --------------------------------------------------------------

def quickselect(items: list, k: int) -> list:
    """Torch's median-of-three quickselect; `items` are (value, index), NaN above all."""
    def gt(x, y):
        return (_is_nan(x[0]) and not _is_nan(y[0])) or x[0] > y[0]

    a = items
    lo, hi = 0, len(a) - 1
    while True:
        if hi <= lo:
            return a
        if hi == lo + 1:
            if gt(a[lo], a[hi]):
                a[lo], a[hi] = a[hi], a[lo]
            return a
        mid = (lo + hi) >> 1
        a[mid], a[lo + 1] = a[lo + 1], a[mid]
        if gt(a[lo + 1], a[hi]):
            a[lo + 1], a[hi] = a[hi], a[lo + 1]
        if gt(a[lo], a[hi]):
            a[lo], a[hi] = a[hi], a[lo]
        if gt(a[lo + 1], a[lo]):
            a[lo + 1], a[lo] = a[lo], a[lo + 1]
        i, j = lo + 1, hi
        pivot = a[lo]
        while True:
            i += 1
            while gt(pivot, a[i]):
                i += 1
            j -= 1
            while gt(a[j], pivot):
                j -= 1
            if j < i:
                break
            a[i], a[j] = a[j], a[i]
        a[lo], a[j] = a[j], a[lo]
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


# -- libstdc++'s sorting algorithms ---------------------------------------------------------------

def _median_to_first(a, result, x, y, z, less):
    if less(a[x], a[y]):
        if less(a[y], a[z]):
            pick = y
        elif less(a[x], a[z]):
            pick = z
        else:
            pick = x
    elif less(a[x], a[z]):
        pick = x
    elif less(a[y], a[z]):
        pick = z
    else:
        pick = y
    a[result], a[pick] = a[pick], a[result]


def _partition_pivot(a, first, last, less):
    mid = first + (last - first) // 2
    _median_to_first(a, first, first + 1, mid, last - 1, less)
    lo, hi, pivot = first + 1, last, first
    while True:
        while less(a[lo], a[pivot]):
            lo += 1
        hi -= 1
        while less(a[pivot], a[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _insertion_sort(a, first, last, less):
    for i in range(first + 1, last):
        value = a[i]
        if less(value, a[first]):
            a[first + 1:i + 1] = a[first:i]
            a[first] = value
        else:
            _linear_insert(a, i, less)


def _linear_insert(a, last, less):
    value = a[last]
    j = last - 1
    while less(value, a[j]):
        a[last] = a[j]
        last = j
        j -= 1
    a[last] = value


def _adjust_heap(a, first, hole, length, value, less):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _pop_heap(a, first, last, result, less):
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, value, less)


def _heap_select(a, first, middle, last, less):
    length = middle - first
    if length > 1:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(a, first, parent, length, a[first + parent], less)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, last):
        if less(a[i], a[first]):
            _pop_heap(a, first, middle, i, less)


def _sort_heap(a, first, last, less):
    while last - first > 1:
        last -= 1
        _pop_heap(a, first, last, last, less)


def partial_sort(a, middle, less, first=0, last=None):
    """std::partial_sort(first, middle, last)."""
    last = len(a) if last is None else last
    _heap_select(a, first, middle, last, less)
    _sort_heap(a, first, middle, less)
    return a


def std_sort(a, less, first=0, last=None):
    """std::sort: introsort, then a final insertion sort."""
    last = len(a) if last is None else last
    if last - first < 2:
        return a

    def loop(first, last, depth):
        while last - first > _THRESHOLD:
            if depth == 0:
                partial_sort(a, last, less, first, last)
                return
            depth -= 1
            cut = _partition_pivot(a, first, last, less)
            loop(cut, last, depth)
            last = cut

    loop(first, last, 2 * ((last - first).bit_length() - 1))
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD, less)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(a, i, less)
    else:
        _insertion_sort(a, first, last, less)
    return a


def nth_element(a, nth, less):
    """std::nth_element: introselect, then insertion sort of the last small range."""
    first, last = 0, len(a)
    if first == last or nth == last:
        return a
    depth = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last, less)
            a[first], a[nth] = a[nth], a[first]
            return a
        depth -= 1
        cut = _partition_pivot(a, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last, less)
    return a


# -- per-op row fix-ups -------------------------------------------------------------------------

def rows(x, d):
    """`x` (numpy) with axis d last, as (rows, n), and a function to undo that for results."""
    moved = np.moveaxis(x, d, -1)
    shape = moved.shape[:-1]
    flat = moved.reshape(-1, moved.shape[-1]) if moved.ndim else moved.reshape(1, 1)

    def back(r):
        return np.moveaxis(r.reshape(shape + r.shape[1:]), -1, d)
    return flat, back


def rows_with_ties(x) -> np.ndarray:
    """Indices of the rows of a (rows, n) array holding two equal values (NaNs count as
    equal to each other)."""
    s = np.sort(x, axis=1)
    same = s[:, 1:] == s[:, :-1]
    if x.dtype.kind == "f":
        same |= np.isnan(s[:, 1:]) & np.isnan(s[:, :-1])
    return np.flatnonzero(same.any(axis=1))


def topk_row(row, k, largest, sorted_):
    """(values, indices) of torch's CPU topk on one row."""
    def less(x, y):
        xn, yn = _is_nan(x[0]), _is_nan(y[0])
        if xn or yn:
            return (xn if largest else yn) if xn != yn else False
        if x[0] == y[0]:
            return False
        return x[0] > y[0] if largest else x[0] < y[0]

    items = list(zip(row.tolist(), range(row.size)))
    if k * 64 <= row.size:
        partial_sort(items, k, less)
    else:
        nth_element(items, k - 1, less)
        if sorted_:
            std_sort(items, less, 0, k - 1)   # torch sorts the k-1 before the nth
    return [v for v, _ in items[:k]], [i for _, i in items[:k]]


def mode_row(row):
    """(value, index) of torch's CPU mode on one row."""
    items = std_sort(list(zip(row.tolist(), range(row.size))), lambda x, y: x[0] < y[0])
    best, best_count, count = items[0], 0, 0
    for i, item in enumerate(items):
        count += 1
        if i == len(items) - 1 or item[0] != items[i + 1][0]:
            if count > best_count:
                best, best_count = item, count
            count = 0
    return best
