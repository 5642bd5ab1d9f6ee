"""Mirrors `torch.nn.utils.rnn`: packed sequences and padding helpers.

Packing and padding are gathers with index arrays computed on the host from the lengths
(which torch also keeps on the CPU), so they stay differentiable jtorch ops."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

import jtorch

from ..._tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _maybe(value, fn):
    return None if value is None else fn(value)


class PackedSequence(PackedSequence_):
    """Mirrors `torch.nn.utils.rnn.PackedSequence`."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # torch's legacy form: PackedSequence((data, batch_sizes))
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually. They should be instantiated "
                             "by functions like pack_sequence and pack_padded_sequences in "
                             "nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Mirrors `PackedSequence.to`: data converts; the indices follow its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: t.to(data.device)
        return type(self)(data, self.batch_sizes, _maybe(self.sorted_indices, move),
                          _maybe(self.unsorted_indices, move))

    def cuda(self, device=None, non_blocking: bool = False, **kwargs) -> PackedSequence:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device=device)

    def cpu(self, **kwargs) -> PackedSequence:
        return self.to(device="cpu")

    def pin_memory(self) -> PackedSequence:
        pin = lambda t: t.pin_memory()
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          _maybe(self.sorted_indices, pin), _maybe(self.unsorted_indices, pin))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


for _name, _dtype in (("double", "float64"), ("float", "float32"), ("half", "float16"),
                      ("long", "int64"), ("int", "int32"), ("short", "int16"),
                      ("char", "int8"), ("byte", "uint8")):
    setattr(PackedSequence, _name,
            lambda self, _d=_dtype: self.to(dtype=getattr(jtorch, _d)))
    getattr(PackedSequence, _name).__name__ = _name
del _name, _dtype


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """Mirrors `torch.nn.utils.rnn.invert_permutation`."""
    if permutation is None:
        return None
    output = jtorch.empty_like(permutation)
    return output.scatter_(0, permutation,
                           jtorch.arange(permutation.numel(), device=permutation.device))


def _host_lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        host = np.asarray(lengths.to(dtype=jtorch.int64).numpy())
    else:
        host = np.asarray(lengths, dtype=np.int64)
    if host.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{host.ndim}D cpu Long tensor")
    return host


def pack_padded_sequence(input: Tensor, lengths: Tensor | list[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Mirrors `torch.nn.utils.rnn.pack_padded_sequence` (lengths past the input's time
    dimension raise a RuntimeError; torch reads past the end)."""
    host = _host_lengths(lengths)
    sorted_indices = None
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    if not enforce_sorted:
        order = np.argsort(-host, kind="stable")
        host = host[order]
        sorted_indices = jtorch.tensor(order, dtype=jtorch.int64, device=input.device)
        input = input.index_select(batch_dim, sorted_indices)
    batch, steps = input.shape[batch_dim], input.shape[time_dim]
    if len(host) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(host)} (batch_size={batch})")
    if host.size and host[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if (np.diff(host) > 0).any():
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if host.size and host[0] > steps:
        raise RuntimeError(f"a length ({host[0]}) exceeds the input's sequence length "
                           f"({steps})")
    mask = np.arange(host[0] if host.size else 0)[:, None] < host[None, :]   # (time, batch)
    t_idx, b_idx = np.nonzero(mask)            # time-major: torch's packed order
    flat = b_idx * steps + t_idx if batch_first else t_idx * batch + b_idx
    data = input.flatten(0, 1)[jtorch.tensor(flat, dtype=jtorch.int64, device=input.device)]
    batch_sizes = jtorch.tensor(mask.sum(1), dtype=jtorch.int64)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Mirrors `torch.nn.utils.rnn.pad_packed_sequence`."""
    sizes = np.asarray(sequence.batch_sizes.numpy(), dtype=np.int64)
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and "
                             f"max sequence length being {steps}")
        steps = total_length
    batch = int(sizes[0])
    data = sequence.data
    mask = np.zeros((steps, batch), bool)
    mask[:len(sizes)] = np.arange(batch)[None, :] < sizes[:, None]
    # each (time, batch) place reads its row of data, or the padding row appended at the end
    index = np.full((steps, batch), data.shape[0], np.int64)
    index[mask] = np.arange(data.shape[0])
    if batch_first:
        index = index.T
    pad = jtorch.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = jtorch.cat([data, pad])[jtorch.tensor(index, device=data.device)]
    lengths = jtorch.tensor(mask.sum(0), dtype=jtorch.int64)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        return (padded.index_select(0 if batch_first else 1, unsorted),
                lengths[unsorted.cpu()])
    return padded, lengths


def pad_sequence(sequences: Tensor | list[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Mirrors `torch.nn.utils.rnn.pad_sequence`."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        for dim, (a, b) in enumerate(zip(trailing, s.shape[1:]), start=1):
            if a != b:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor "
                                   f"b ({b}) at non-singleton dimension {dim}")
        s = s.to(first.dtype)
        fill = jtorch.full((longest - s.shape[0], *trailing), padding_value,
                           dtype=first.dtype, device=first.device)
        rows.append(jtorch.cat([s, fill] if padding_side == "right" else [fill, s]))
    return jtorch.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Mirrors `torch.nn.utils.rnn.unpad_sequence` (like torch, transposes a time-major
    `padded_sequences` in place)."""
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    host = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    if len(host) != padded_sequences.shape[0]:
        raise ValueError("zip() argument 2 is shorter than argument 1" if len(host) <
                         padded_sequences.shape[0] else
                         "zip() argument 2 is longer than argument 1")
    # torch selects with a boolean mask: each result is a copy, not a view of the input
    return [seq[:int(n)].clone() for seq, n in zip(padded_sequences, host)]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Mirrors `torch.nn.utils.rnn.pack_sequence`."""
    lengths = jtorch.as_tensor([s.size(0) for s in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Mirrors `torch.nn.utils.rnn.unpack_sequence`."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def __getattr__(name: str):
    from jtorch._missing import missing_attribute
    return missing_attribute(__name__, name)
