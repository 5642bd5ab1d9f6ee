"""torch.save / torch.load against real torch: files move both ways, through paths and
BytesIO, with every dtype, shared storages, state dicts, and the weights_only refusals."""
from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import jtorch

DTYPES = ["float32", "float64", "float16", "bfloat16", "complex64", "complex128", "int8",
          "int16", "int32", "int64", "uint8", "bool"]


def _np(t):
    """A tensor of either framework as numpy (bfloat16 through float32)."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray((t.float() if t.dtype == jtorch.bfloat16 else t).detach().numpy())


def _to_torch_file(obj) -> io.BytesIO:
    buf = io.BytesIO()
    jtorch.save(obj, buf)
    buf.seek(0)
    return buf


def _to_jtorch_file(obj) -> io.BytesIO:
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


def _sample(lib, dtype_name):
    base = lib.arange(-3, 9).reshape(3, 4)
    if dtype_name == "bool":
        return base % 2 == 0
    dtype = getattr(lib, dtype_name)
    if dtype.is_complex:
        return (base + 0.5j * base).to(dtype)
    return (base * 1.25).to(dtype) if dtype.is_floating_point else base.to(dtype)


# -- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_both_ways(name):
    j = _sample(jtorch, name)
    t = torch.load(_to_torch_file({"x": j}), weights_only=True)["x"]
    assert t.dtype == getattr(torch, name) and t.shape == torch.Size([3, 4])
    np.testing.assert_array_equal(_np(t), _np(j))
    back = jtorch.load(_to_jtorch_file({"x": t}))["x"]
    assert back.dtype == getattr(jtorch, name) and back.shape == jtorch.Size([3, 4])
    np.testing.assert_array_equal(_np(back), _np(t))


def test_layout_matches_torch_byte_for_byte():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    jmodule = jtorch.nn.Sequential(jtorch.nn.Linear(3, 2), jtorch.nn.BatchNorm1d(2))
    jmodule.load_state_dict(jtorch.load(_to_jtorch_file(module.state_dict())))
    ours = _to_torch_file(jmodule.state_dict()).getvalue()
    theirs = _to_jtorch_file(module.state_dict()).getvalue()
    names = [i.filename for i in zipfile.ZipFile(io.BytesIO(ours)).infolist()]
    assert names == [i.filename for i in zipfile.ZipFile(io.BytesIO(theirs)).infolist()]
    # everything but the 40 digits of .data/serialization_id (and its CRC) is the same
    assert _masked(ours) == _masked(theirs)


def _masked(data: bytes) -> bytes:
    sid = zipfile.ZipFile(io.BytesIO(data)).getinfo("archive/.data/serialization_id")
    crc = struct.pack("<I", sid.CRC)
    return data.replace(zipfile.ZipFile(io.BytesIO(data)).read(sid), b"0" * 40) \
        .replace(crc, b"\0" * 4)


def test_alignment_and_stored_records(tmp_path):
    path = tmp_path / "model.pt"
    jtorch.save({"a": jtorch.ones(5), "b": jtorch.zeros(3, dtype=jtorch.int64)}, path)
    data = path.read_bytes()
    archive = zipfile.ZipFile(path)
    assert [i.filename for i in archive.infolist()] == [
        "model/data.pkl", "model/.format_version", "model/.storage_alignment",
        "model/byteorder", "model/data/0", "model/data/1", "model/version",
        "model/.data/serialization_id"]
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:
                                                        info.header_offset + 30])
        assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
    assert archive.read("model/version") == b"3\n"
    assert archive.read("model/.format_version") == b"1"


def test_paths_and_file_objects(tmp_path):
    x = jtorch.arange(4.0)
    jtorch.save(x, str(tmp_path / "a.pt"))
    np.testing.assert_array_equal(torch.load(tmp_path / "a.pt").numpy(), x.numpy())
    with open(tmp_path / "b.pt", "wb") as f:
        torch.save(torch.arange(3), f)
    with open(tmp_path / "b.pt", "rb") as f:
        assert jtorch.load(f).tolist() == [0, 1, 2]
    assert jtorch.load(tmp_path / "b.pt").tolist() == [0, 1, 2]


def test_parameters_and_requires_grad():
    p = jtorch.nn.Parameter(jtorch.ones(2))
    frozen = jtorch.nn.Parameter(jtorch.ones(2), requires_grad=False)
    y = jtorch.ones(2, requires_grad=True) * 2          # not a leaf: torch saves it too
    t = torch.load(_to_torch_file([p, frozen, y, p]))
    assert isinstance(t[0], torch.nn.Parameter) and t[0].requires_grad
    assert isinstance(t[1], torch.nn.Parameter) and not t[1].requires_grad
    assert t[2].requires_grad and t[2].is_leaf and t[2].tolist() == [2.0, 2.0]
    assert t[3] is t[0]
    j = jtorch.load(_to_jtorch_file(t))
    assert isinstance(j[0], jtorch.nn.Parameter) and j[0].requires_grad
    assert isinstance(j[1], jtorch.nn.Parameter) and not j[1].requires_grad
    assert j[2].requires_grad and j[2].is_leaf
    assert j[3] is j[0]


def _check_views(a, v, w):
    assert v.stride() == (4, 2) and v.storage_offset() == 1
    assert w.stride() == (1, 4) and w.storage_offset() == 0
    assert v.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()


def test_shared_storage_views_both_ways():
    a = jtorch.arange(12.0).reshape(3, 4)
    t = torch.load(_to_torch_file({"v": a[:, 1::2], "a": a, "w": a.t()}))
    _check_views(t["a"], t["v"], t["w"])
    assert len(zipfile.ZipFile(_to_torch_file({"v": a[:, 1::2], "a": a})).namelist()) == 7
    ta = torch.arange(12.0).reshape(3, 4)
    j = jtorch.load(_to_jtorch_file({"v": ta[:, 1::2], "a": ta, "w": ta.t()}))
    _check_views(j["a"], j["v"], j["w"])
    np.testing.assert_array_equal(j["v"].numpy(), ta[:, 1::2].numpy())
    j["a"][0, 1] = 100.0            # aliasing survives: a write shows through every view
    assert j["v"][0, 0].item() == 100.0 and j["w"][1, 0].item() == 100.0


def test_part_of_a_storage_keeps_offset():
    t = torch.arange(10.0)[3:7]
    j = jtorch.load(_to_jtorch_file(t))
    assert j.storage_offset() == 3 and j.tolist() == [3.0, 4.0, 5.0, 6.0]
    back = torch.load(_to_torch_file(j))
    assert back.storage_offset() == 3 and back.untyped_storage().nbytes() == 40


def test_python_objects_both_ways():
    obj = {"ints": [1, -5, 300, 70000, 10 ** 20], "floats": (1.5, -0.0), "s": "héllo",
           "none": None, "flags": [True, False], "nested": {"l": [{"t": (1, "a")}]},
           "b": b"raw", "size": None, "dtypes": None, "device": None, "set": {1, 2},
           "c": 2 + 3j}
    jobj = dict(obj, size=jtorch.Size([2, 3]), dtypes=[jtorch.float16, jtorch.bool],
                device=jtorch.device("cpu"))
    t = torch.load(_to_torch_file(jobj))
    assert t == dict(obj, size=torch.Size([2, 3]), dtypes=[torch.float16, torch.bool],
                     device=torch.device("cpu"))
    j = jtorch.load(_to_jtorch_file(t))
    assert j == jobj and type(j["size"]) is jtorch.Size and j["dtypes"][1] is jtorch.bool


def test_module_state_dict_with_metadata():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    jmodel = jtorch.nn.Sequential(jtorch.nn.Linear(4, 3), jtorch.nn.ReLU(),
                                  jtorch.nn.Linear(3, 2))
    sd = jtorch.load(_to_jtorch_file(model.state_dict()))
    assert isinstance(sd, OrderedDict) and sd._metadata == model.state_dict()._metadata
    jmodel.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(jmodel(jtorch.tensor(x)).detach().numpy(),
                               model(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    back = torch.load(_to_torch_file(jmodel.state_dict()))
    assert back._metadata == model.state_dict()._metadata
    model.load_state_dict(back)


def test_optimizer_state_dict_both_ways():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    jmodel = jtorch.nn.Linear(3, 2)
    jmodel.load_state_dict(jtorch.load(_to_jtorch_file(model.state_dict())))
    jopt = jtorch.optim.Adam(jmodel.parameters(), lr=0.1)
    jopt.load_state_dict(jtorch.load(_to_jtorch_file(opt.state_dict())))
    for o in (opt, jopt):
        o.zero_grad()
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    jmodel(jtorch.ones(4, 3)).sum().backward()
    jopt.step()
    np.testing.assert_allclose(jmodel.weight.detach().numpy(), model.weight.detach().numpy(),
                               rtol=1e-5)
    back = torch.load(_to_torch_file(jopt.state_dict()))
    assert back["param_groups"][0]["params"] == [0, 1]
    np.testing.assert_allclose(back["state"][0]["exp_avg"].numpy(),
                               opt.state_dict()["state"][0]["exp_avg"].numpy(), rtol=1e-5)
    opt.load_state_dict(back)


def test_whole_module_weights_only_false(tmp_path):
    model = jtorch.nn.Linear(3, 2)
    jtorch.save(model, tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match="jtorch.nn.modules.linear.Linear"):
        jtorch.load(tmp_path / "m.pt")
    loaded = jtorch.load(tmp_path / "m.pt", weights_only=False)
    x = jtorch.ones(1, 3)
    np.testing.assert_allclose(loaded(x).detach().numpy(), model(x).detach().numpy())


# -- weights_only ---------------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class _Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is _Point and other.x == self.x


def test_weights_only_refuses_malicious_pickle():
    for writer in (_to_torch_file, _to_jtorch_file):
        with pytest.raises(pickle.UnpicklingError, match="system"):
            jtorch.load(writer(_Evil()))
    with pytest.raises(pickle.UnpicklingError, match="slice"):
        jtorch.load(_to_jtorch_file(slice(1, 2)))


def test_unknown_class_and_safe_globals():
    point = _Point(3)
    name = f"{__name__}._Point"
    with pytest.raises(pickle.UnpicklingError, match=name):
        jtorch.load(_to_torch_file(point))
    with jtorch.serialization.safe_globals([_Point]):
        assert jtorch.serialization.get_safe_globals() == [_Point]
        assert jtorch.load(_to_torch_file(point)) == point
    assert jtorch.serialization.get_safe_globals() == []
    jtorch.serialization.add_safe_globals([_Point])
    try:
        assert jtorch.load(_to_torch_file(point)) == point
    finally:
        jtorch.serialization.clear_safe_globals()
    assert jtorch.load(_to_torch_file(point), weights_only=False) == point


def test_explicit_pickle_module_needs_weights_only_false():
    with pytest.raises(RuntimeError, match="pickle_module"):
        jtorch.load(_to_torch_file(1), pickle_module=pickle, weights_only=True)
    assert jtorch.load(_to_torch_file([1]), pickle_module=pickle) == [1]


# -- map_location and mmap ------------------------------------------------------------------

@pytest.mark.parametrize("where", [None, "cpu", jtorch.device("cpu"), {"cpu": "cpu"},
                                   lambda storage, location: storage,
                                   lambda storage, location: storage.cpu(),
                                   lambda storage, location: None])
def test_map_location_forms(where):
    data = {"a": torch.arange(6.0).view(2, 3), "p": torch.nn.Parameter(torch.ones(2))}
    j = jtorch.load(_to_jtorch_file(data), map_location=where)
    assert j["a"].device == jtorch.device("cpu") and j["a"].tolist() == data["a"].tolist()
    assert isinstance(j["p"], jtorch.nn.Parameter)


def test_map_location_cuda_tagged_storage():
    buf = io.BytesIO()
    archive = zipfile.ZipFile(_to_jtorch_file(torch.arange(3.0)))
    with zipfile.ZipFile(buf, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            out.writestr(name, data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
                         if name.endswith("data.pkl") else data)
    buf.seek(0)
    if not jtorch.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location"):
            jtorch.load(io.BytesIO(buf.getvalue()))
    assert jtorch.load(io.BytesIO(buf.getvalue()), map_location="cpu").tolist() == [0, 1, 2]
    assert jtorch.load(io.BytesIO(buf.getvalue()),
                       map_location={"cuda:0": "cpu"}).tolist() == [0, 1, 2]


def test_mmap(tmp_path):
    path = tmp_path / "m.pt"
    a = torch.arange(12.0).reshape(3, 4)
    torch.save({"a": a, "v": a[1:], "i": torch.arange(5, dtype=torch.int16)}, path)
    j = jtorch.load(path, mmap=True)
    assert j["a"].tolist() == a.tolist() and j["v"].storage_offset() == 4
    assert j["i"].tolist() == list(range(5))
    # the tensor's buffer is the file's mapped pages, not a copy
    pointer = j["i"]._value.unsafe_buffer_pointer()
    with open("/proc/self/maps") as maps:
        spans = [line.split()[0].split("-") for line in maps
                 if line.rstrip().endswith(str(path))]
    assert any(int(lo, 16) <= pointer < int(hi, 16) for lo, hi in spans)
    with pytest.raises(ValueError, match="file path"):
        jtorch.load(io.BytesIO(path.read_bytes()), mmap=True)


# -- bad input ------------------------------------------------------------------------------

def _rezip(source: bytes, drop=(), compression=zipfile.ZIP_STORED, rename=None) -> io.BytesIO:
    buf = io.BytesIO()
    archive = zipfile.ZipFile(io.BytesIO(source))
    with zipfile.ZipFile(buf, "w", compression=compression) as out:
        for name in archive.namelist():
            if name.split("/", 1)[1] not in drop:
                out.writestr(rename(name) if rename else name, archive.read(name))
    buf.seek(0)
    return buf


def test_bad_files():
    good = _to_jtorch_file({"a": torch.arange(6.0)}).getvalue()
    for truncated in (good[: len(good) // 2], good[:-10], good[:100]):
        with pytest.raises(RuntimeError, match="failed finding central directory"):
            jtorch.load(io.BytesIO(truncated))
    with pytest.raises(RuntimeError, match="version"):
        jtorch.load(_rezip(good, drop=("data.pkl", "version")))
    with pytest.raises(RuntimeError, match="data.pkl"):
        jtorch.load(_rezip(good, drop=("data.pkl",)))
    with pytest.raises(RuntimeError, match="data/0"):
        jtorch.load(_rezip(good, drop=("data/0",)))
    with pytest.raises(EOFError):
        jtorch.load(io.BytesIO(b""))
    with pytest.raises(pickle.UnpicklingError):
        jtorch.load(io.BytesIO(b"this is not a checkpoint at all"))
    with pytest.raises(RuntimeError, match="magic number"):
        jtorch.load(io.BytesIO(pickle.dumps(12345, protocol=2)))


def test_any_prefix_and_deflated_records():
    good = _to_jtorch_file({"a": torch.arange(6.0)}).getvalue()
    renamed = _rezip(good, rename=lambda n: n.replace("archive/", "whatever/"))
    assert jtorch.load(renamed)["a"].tolist() == list(range(6))
    assert jtorch.load(_rezip(good, compression=zipfile.ZIP_DEFLATED))["a"].tolist() \
        == list(range(6))


# -- legacy ---------------------------------------------------------------------------------

def test_legacy_format_written_by_torch():
    a = torch.arange(6.0)
    obj = {"a": a, "v": a[1:4], "c": torch.ones(2, dtype=torch.int16),
           "p": torch.nn.Parameter(torch.full((2,), 3.0)), "meta": [1, "x"]}
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    buf.seek(0)
    j = jtorch.load(buf)
    assert j["a"].tolist() == a.tolist() and j["v"].tolist() == [1.0, 2.0, 3.0]
    assert j["v"].storage_offset() == 1
    assert j["c"].dtype == jtorch.int16 and j["c"].tolist() == [1, 1]
    assert isinstance(j["p"], jtorch.nn.Parameter) and j["p"].tolist() == [3.0, 3.0]
    assert j["meta"] == [1, "x"]
    j["a"][2] = 50.0
    assert j["v"][1].item() == 50.0


def test_save_and_load_without_torch(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"w": torch.arange(4.0), "n": torch.nn.Parameter(torch.ones(1))}, path)
    script = (f"import sys; sys.modules['torch'] = None; import jtorch; "
              f"d = jtorch.load({str(path)!r}); assert d['w'].tolist() == [0, 1, 2, 3]; "
              f"jtorch.save(d, {str(tmp_path / 'y.pt')!r}); print('ok')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHONPATH=os.getcwd()), check=False)
    assert out.stdout.strip() == "ok", out.stderr
    assert torch.load(tmp_path / "y.pt")["w"].tolist() == [0, 1, 2, 3]


def test_unsafe_globals_in_checkpoint_and_missing_names():
    buf = _to_torch_file({"p": _Point(1), "t": jtorch.ones(1), "s": {1}})
    assert jtorch.serialization.get_unsafe_globals_in_checkpoint(buf) == [f"{__name__}._Point"]
    with pytest.raises(AttributeError, match="does not implement"):
        getattr(jtorch.serialization, "register_package")  # noqa: B009


def test_save_over_a_file_loaded_with_mmap(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.arange(1000.0)}, path)
    sd = jtorch.load(path, mmap=True)
    sd["w"] = sd["w"][:10]          # the mapped pages of the old file are read while saving
    jtorch.save(sd, path)
    assert torch.load(path)["w"].tolist() == list(range(10))
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]


def test_torch_maps_jtorch_files_and_byteorder_record(tmp_path):
    path = tmp_path / "j.pt"
    jtorch.save({"a": jtorch.arange(5.0), "b": jtorch.ones(3, dtype=jtorch.int8)}, path)
    loaded = torch.load(path, mmap=True)
    assert loaded["a"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and loaded["b"].tolist() == [1] * 3
    jtorch.save(jtorch.ones(1), tmp_path / "n.pt", _disable_byteorder_record=True)
    assert "n/byteorder" not in zipfile.ZipFile(tmp_path / "n.pt").namelist()
    assert torch.load(tmp_path / "n.pt").tolist() == [1.0]


def test_model_trained_in_torch_runs_in_jtorch(tmp_path):
    """A small convnet trained a few steps in torch and saved to a file: the same model
    written with jtorch loads it (strict) and gives torch's outputs, using the BatchNorm
    running statistics torch trained."""
    def build(T):
        return T.nn.Sequential(T.nn.Conv2d(1, 4, 3), T.nn.BatchNorm2d(4), T.nn.ReLU(),
                               T.nn.Flatten(), T.nn.Linear(4 * 6 * 6, 3))
    torch.manual_seed(0)
    model = build(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
    torch.save(model.state_dict(), tmp_path / "trained.pt")
    jmodel = build(jtorch)
    jmodel.load_state_dict(jtorch.load(tmp_path / "trained.pt"))
    model.eval()
    jmodel.eval()
    np.testing.assert_allclose(jmodel(jtorch.tensor(x)).detach().numpy(),
                               model(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
