"""torch.device parsing and mapping onto jax devices."""
from __future__ import annotations

import pytest

import jtorch

torch = pytest.importorskip("torch")

SPECS = [("cpu",), ("cuda",), ("cuda:1",), ("cpu", 0), ("cuda", 2)]


@pytest.mark.parametrize("spec", SPECS)
def test_device_matches_torch(spec):
    t, j = torch.device(*spec), jtorch.device(*spec)
    assert (j.type, j.index, str(j), repr(j)) == (t.type, t.index, str(t), repr(t))
    assert j == jtorch.device(str(t)) and hash(j) == hash(jtorch.device(str(t)))


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1", "cuda:0:1"])
def test_bad_device_strings_raise_like_torch(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError):
        jtorch.device(bad)


def test_tensor_device_is_cpu_here():
    x = jtorch.ones(2)
    assert x.device == jtorch.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    assert x.to("cpu") is x
    assert x.get_device() == -1


def test_cuda_without_accelerator_raises_runtime_error():
    from jtorch import _device
    if _device.accelerator_devices():
        pytest.skip("an accelerator is present")
    with pytest.raises(RuntimeError):
        jtorch.ones(2).cuda()
    with pytest.raises(RuntimeError):
        jtorch.ones(2, device="cuda")


def test_set_default_device_and_context():
    try:
        jtorch.set_default_device("cpu")
        assert jtorch.get_default_device() == jtorch.device("cpu")
        assert jtorch.zeros(1).device.type == "cpu"
    finally:
        jtorch.set_default_device(None)
    with jtorch.device("cpu"):
        assert jtorch.get_default_device() == jtorch.device("cpu")
