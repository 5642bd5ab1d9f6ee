"""jtorch.safetensors against the real `safetensors.torch`: files move both ways bit for bit,
the same saves are refused, malformed files raise the same errors, and Hugging Face sharded
checkpoints written with torch load into jtorch models."""
from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import pytest
import torch

import jtorch
import jtorch.safetensors as jst

st = pytest.importorskip("safetensors.torch")
from safetensors import safe_open as torch_safe_open

# name -> numpy array; every dtype the format and both libraries share, odd shapes included
_RNG = np.random.default_rng(0)
ARRAYS = {
    "f32": _RNG.standard_normal((3, 4)).astype(np.float32),
    "f64": _RNG.standard_normal(5),
    "f16": _RNG.standard_normal((2, 3)).astype(np.float16),
    "bf16": _RNG.standard_normal((4, 2)).astype(ml_dtypes.bfloat16),
    "c64": (_RNG.standard_normal(3) + 1j * _RNG.standard_normal(3)).astype(np.complex64),
    "bool": _RNG.standard_normal(7) > 0,
    "u8": _RNG.integers(0, 256, 6).astype(np.uint8),
    "i8": _RNG.integers(-128, 128, (2, 2)).astype(np.int8),
    "i16": _RNG.integers(-2**15, 2**15, 3).astype(np.int16),
    "i32": _RNG.integers(-2**31, 2**31, 3).astype(np.int32),
    "i64": _RNG.integers(-2**62, 2**62, (1, 3)),
    "scalar": np.array(2.5, np.float32),
    "empty": np.zeros((0, 3), np.float32),
}


def to_torch(a: np.ndarray) -> torch.Tensor:
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def same(j: jtorch.Tensor, t: torch.Tensor) -> None:
    """Identical dtype, shape and bits."""
    assert repr(j.dtype) == str(t.dtype)
    assert tuple(j.shape) == tuple(t.shape)
    tb = t.contiguous().reshape(-1).view(torch.uint8).numpy()
    jb = np.asarray(j._value).reshape(-1).view(np.uint8)
    np.testing.assert_array_equal(jb, tb)


def torch_tensors() -> dict:
    return {k: to_torch(a) for k, a in ARRAYS.items()}


def jtorch_tensors() -> dict:
    return {k: jtorch.from_numpy(a) for k, a in ARRAYS.items()}


# -- both directions ----------------------------------------------------------------------------

def test_torch_file_loads_in_jtorch(tmp_path):
    expected = torch_tensors()
    path = tmp_path / "t.safetensors"
    st.save_file(expected, path)
    for loaded in (jst.load_file(path), jst.load_file(str(path), device="cpu"),
                   jst.load(st.save(expected))):
        assert sorted(loaded) == sorted(expected)
        for k, t in expected.items():
            same(loaded[k], t)


def test_jtorch_file_loads_in_torch(tmp_path):
    tensors = jtorch_tensors()
    path = tmp_path / "j.safetensors"
    jst.save_file(tensors, path)
    for loaded in (st.load_file(path), st.load(jst.save(tensors))):
        assert sorted(loaded) == sorted(tensors)
        for k, t in loaded.items():
            same(tensors[k], t)
    # the same layout as safetensors writes, byte for byte
    assert path.read_bytes() == st.save(torch_tensors())
    assert jst.save(tensors, {"a": "b"}) == st.save(torch_tensors(), {"a": "b"})


def test_parameters_and_views_save():
    p = jtorch.nn.Parameter(jtorch.arange(6.0))
    base = jtorch.arange(12).reshape(3, 4)
    loaded = st.load(jst.save({"p": p, "row": base[1], "tail": base.reshape(-1)[8:]}))
    assert loaded["p"].tolist() == [0, 1, 2, 3, 4, 5]
    assert loaded["row"].tolist() == [4, 5, 6, 7]
    assert loaded["tail"].tolist() == [8, 9, 10, 11]


@pytest.mark.parametrize("metadata", [None, {}, {"format": "pt", "note": "é ü"}])
def test_metadata_both_ways(tmp_path, metadata):
    t = {"x": torch.ones(2)}
    st.save_file(t, tmp_path / "t.safetensors", metadata=metadata)
    jst.save_file({"x": jtorch.ones(2)}, tmp_path / "j.safetensors", metadata=metadata)
    for path in ("t.safetensors", "j.safetensors"):
        with jst.safe_open(tmp_path / path, "pt") as f, \
                torch_safe_open(tmp_path / path, "pt") as g:
            assert f.metadata() == g.metadata() == metadata
    # the same file, up to the order of metadata keys (safetensors keeps them in a hash map)
    assert _parts((tmp_path / "t.safetensors").read_bytes()) == \
        _parts((tmp_path / "j.safetensors").read_bytes())


def _parts(data: bytes) -> tuple:
    n = struct.unpack("<Q", data[:8])[0]
    return n, json.loads(data[8:8 + n]), data[8 + n:]


def test_safe_open_lazy_access(tmp_path):
    path = tmp_path / "t.safetensors"
    st.save_file(torch_tensors(), path)
    with jst.safe_open(path, "pt") as f, torch_safe_open(path, "pt") as g:
        assert f.keys() == g.keys()
        assert f.offset_keys() == g.offset_keys()
        same(f.get_tensor("bf16"), g.get_tensor("bf16"))
        s, r = f.get_slice("f32"), g.get_slice("f32")
        assert s.get_shape() == r.get_shape() and s.get_dtype() == r.get_dtype()
        for index in [(slice(1, 3),), (slice(None), slice(0, 4, 2)), 2, (Ellipsis, 1)]:
            same(s[index], r[index])
        assert set(f.get_tensors()) == set(ARRAYS)
        with pytest.raises(jst.SafetensorError, match="does not contain tensor nope"):
            f.get_tensor("nope")
    with pytest.raises(jst.SafetensorError, match="File is closed"):
        f.get_tensor("f32")
    with jst.safe_open(path, "np") as f:
        np.testing.assert_array_equal(f.get_tensor("i64"), ARRAYS["i64"])
    with pytest.raises(jst.SafetensorError, match="framework tf2 is invalid"):
        jst.safe_open(path, "tf2")
    for backend in ("mmap", "pread"):
        same(jst.load_file(path, backend=backend)["i8"], st.load_file(path, backend=backend)["i8"])
    with pytest.raises(jst.SafetensorError, match='backend "foo" is invalid'):
        jst.load_file(path, backend="foo")


def test_overwriting_a_loaded_file_keeps_its_tensors(tmp_path):
    # tensors at aligned offsets map the file's pages: a save over it must not pull them away
    # (16 one-float tensors: one of them starts at a 64-byte offset, whatever the header size)
    path = tmp_path / "t.safetensors"
    jst.save_file({f"w{i:02d}": jtorch.full((1,), float(i)) for i in range(16)}, path)
    loaded = jst.load_file(path)
    jst.save_file({"other": jtorch.zeros(3)}, path)
    assert [t.item() for t in loaded.values()] == [float(i) for i in range(16)]
    assert list(jst.load_file(path)) == ["other"]


# -- refused saves --------------------------------------------------------------------------------

def _saves(lib):
    """Calls that safetensors.torch refuses (or accepts); `lib` is torch or jtorch."""
    x = lib.zeros(4, 4)
    return {
        "not a dict": lambda: [x],
        "not a tensor": lambda: {"a": 1},
        "key not str": lambda: {1: x},
        "shared": lambda: {"a": x, "b": x},
        "overlap": lambda: {"a": x[1:], "b": x[:2]},
        "disjoint views": lambda: {"a": x[0], "b": x[1]},
        "non contiguous": lambda: {"a": x.t()},
        "complex128": lambda: {"a": lib.zeros(2, dtype=lib.complex128)},
    }


@pytest.mark.parametrize("case", list(_saves(torch)))
def test_refused_saves_match_torch(case):
    def outcome(save, lib):
        try:
            save(_saves(lib)[case]())
        except Exception as e:  # noqa: BLE001 - the class raised is what is compared
            return type(e)
        return None
    assert outcome(jst.save, jtorch) is outcome(st.save, torch)


def test_bad_metadata_and_failed_save_leaves_file(tmp_path):
    with pytest.raises(TypeError, match="metadata"):
        jst.save({"a": jtorch.ones(1)}, metadata={"a": 1})
    path = tmp_path / "t.safetensors"
    jst.save_file({"a": jtorch.ones(1)}, path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="share memory"):
        x = jtorch.ones(3)
        jst.save_file({"a": x, "b": x}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.safetensors"]


# -- malformed files ------------------------------------------------------------------------------

def _file(header, data: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def _f32(offsets, shape=(1,)):
    return {"dtype": "F32", "shape": list(shape), "data_offsets": list(offsets)}


BAD_FILES = {
    "short": (b"abc", "header too small"),
    "huge header": (struct.pack("<Q", 200_000_000) + b"{}", "header too large"),
    "header past end": (_file({}, length=100), "invalid header length"),
    "not json": (_file(b"{not json"), "invalid JSON in header"),
    "not utf-8": (_file(b'{"\xff"}  '), "invalid UTF-8 in header"),
    "gap": (_file({"a": _f32([4, 8])}, b"\0" * 8), "invalid offset for tensor `a`"),
    "overlap": (_file({"a": _f32([0, 4]), "b": _f32([0, 4])}, b"\0" * 4),
                "invalid offset for tensor"),   # either name: safetensors uses a hash map
    "trailing bytes": (_file({"a": _f32([0, 4])}, b"\0" * 8), "incomplete metadata"),
    "truncated": (_file({"a": _f32([0, 4])}, b"\0" * 2), "incomplete metadata"),
    "size mismatch": (_file({"a": _f32([0, 4], (2,))}, b"\0" * 4),
                      "invalid shape, data type, or offset"),
    "unknown dtype": (_file({"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}},
                            b"\0" * 4), "invalid JSON in header"),
    "missing field": (_file({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4),
                      "invalid JSON in header"),
    "negative dim": (_file({"a": _f32([0, 4], (-1,))}, b"\0" * 4), "invalid JSON in header"),
    "bad metadata": (_file({"__metadata__": {"a": 1}}), "invalid JSON in header"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_raise_like_safetensors(tmp_path, case):
    data, message = BAD_FILES[case]
    with pytest.raises(jst.SafetensorError) as theirs:
        st.load(data)
    assert str(theirs.value).startswith(f"Error while deserializing: {message}")
    with pytest.raises(jst.SafetensorError, match=f"^Error while deserializing: {message}"):
        jst.load(data)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(jst.SafetensorError, match=f"^Error while deserializing: {message}"):
        jst.load_file(path)


def test_unsupported_dtype_and_missing_file(tmp_path):
    data = st.save({"u": torch.zeros(2, dtype=torch.uint16), "f": torch.ones(1)})
    with pytest.raises(NotImplementedError, match="U16 of tensor 'u'"):
        jst.load(data)
    path = tmp_path / "u.safetensors"
    path.write_bytes(data)
    with jst.safe_open(path, "pt") as f:       # the other tensors stay readable
        assert f.get_tensor("f").tolist() == [1.0]
    with pytest.raises(FileNotFoundError):
        jst.load_file(tmp_path / "absent.safetensors")


# -- models ---------------------------------------------------------------------------------------

def _tied(lib):
    """A small language-model head whose output layer shares the embedding's weight."""
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Embedding(5, 4)
            self.norm = lib.nn.LayerNorm(4)
            self.head = lib.nn.Linear(4, 5, bias=False)
            self.head.weight = self.embed.weight

        def forward(self, ids):
            return self.head(self.norm(self.embed(ids)))
    return Tied()


IDS = [[0, 3, 4], [1, 1, 2]]


def test_tied_model_torch_to_jtorch(tmp_path):
    torch.manual_seed(0)
    model = _tied(torch)
    st.save_model(model, tmp_path / "m.safetensors")
    mine = _tied(jtorch)
    assert jst.load_model(mine, tmp_path / "m.safetensors") == (set(), [])
    assert mine.head.weight is mine.embed.weight
    np.testing.assert_allclose(mine(jtorch.tensor(IDS)).detach().numpy(),
                               model(torch.tensor(IDS)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_tied_model_jtorch_to_torch(tmp_path):
    mine = _tied(jtorch)
    jst.save_model(mine, tmp_path / "j.safetensors")
    model = _tied(torch)
    st.save_model(model, tmp_path / "t.safetensors")
    for path in ("j.safetensors", "t.safetensors"):     # same kept and dropped names
        with torch_safe_open(tmp_path / path, "pt") as g:
            assert g.keys() == ["embed.weight", "norm.bias", "norm.weight"]
            assert g.metadata() == {"head.weight": "embed.weight"}
    assert st.load_model(model, tmp_path / "j.safetensors") == (set(), [])
    np.testing.assert_allclose(model(torch.tensor(IDS)).detach().numpy(),
                               mine(jtorch.tensor(IDS)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_model_strict(tmp_path):
    jst.save_file({"embed.weight": jtorch.ones(5, 4)}, tmp_path / "p.safetensors")
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "norm.bias"'):
        jst.load_model(_tied(jtorch), tmp_path / "p.safetensors")
    missing, unexpected = jst.load_model(_tied(jtorch), tmp_path / "p.safetensors", strict=False)
    assert missing == {"norm.bias", "norm.weight"} and unexpected == []


# -- sharded checkpoints --------------------------------------------------------------------------

def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))


def _write_shards(folder, model, kind: str) -> None:
    """model's state dict as two shards plus index, named as transformers names them."""
    state = model.state_dict()
    names = list(state)
    ext, index = {"safetensors": (".safetensors", jst.SAFE_WEIGHTS_INDEX_NAME),
                  "bin": (".bin", jst.WEIGHTS_INDEX_NAME)}[kind]
    stem = "model" if kind == "safetensors" else "pytorch_model"
    weight_map = {}
    for i, part in enumerate((names[:2], names[2:])):
        shard = f"{stem}-0000{i + 1}-of-00002{ext}"
        tensors = {k: state[k].contiguous() for k in part}
        if kind == "safetensors":
            st.save_file(tensors, folder / shard, metadata={"format": "pt"})
        else:
            torch.save(tensors, folder / shard)
        weight_map.update(dict.fromkeys(part, shard))
    (folder / index).write_text(json.dumps({"metadata": {"total_size": 0},
                                            "weight_map": weight_map}))


@pytest.mark.parametrize("kind", [
    "safetensors",
    pytest.param("bin", marks=pytest.mark.skipif(not hasattr(jtorch, "load"),
                                                 reason="needs jtorch.load")),
])
def test_sharded_checkpoint_from_torch(tmp_path, kind):
    torch.manual_seed(0)
    model = _mlp(torch)
    _write_shards(tmp_path, model, kind)
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    expected = model(torch.from_numpy(x)).detach().numpy()

    state = jst.load_sharded_state_dict(tmp_path)
    assert list(state) == list(model.state_dict())
    mine = _mlp(jtorch)
    mine.load_state_dict(state)
    np.testing.assert_allclose(mine(jtorch.from_numpy(x)).detach().numpy(), expected, rtol=1e-6)

    index = next(tmp_path.glob("*.index.json"))
    assert list(jst.load_sharded_state_dict(index)) == list(state)
    other = _mlp(jtorch)
    assert tuple(jst.load_sharded_checkpoint(other, tmp_path)) == ([], [])
    np.testing.assert_allclose(other(jtorch.from_numpy(x)).detach().numpy(), expected, rtol=1e-6)


def test_sharded_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="Can't find a checkpoint index"):
        jst.load_sharded_state_dict(tmp_path)
    _write_shards(tmp_path, _mlp(torch), "safetensors")
    model = jtorch.nn.Sequential(jtorch.nn.Linear(4, 8))
    before = model[0].weight.detach().clone()
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\).*"2.weight"'):
        jst.load_sharded_checkpoint(model, tmp_path)
    assert jtorch.equal(model[0].weight, before)         # nothing loaded
    result = jst.load_sharded_checkpoint(model, tmp_path, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == ["2.weight", "2.bias"]

    index = tmp_path / jst.SAFE_WEIGHTS_INDEX_NAME
    content = json.loads(index.read_text())
    content["weight_map"]["extra"] = "model-00001-of-00002.safetensors"
    index.write_text(json.dumps(content))
    with pytest.raises(KeyError, match="extra"):
        jst.load_sharded_state_dict(tmp_path)
    index.write_text("{}")
    with pytest.raises(ValueError, match="no 'weight_map'"):
        jst.load_sharded_state_dict(index)
