"""torch's device semantics where jax has an accelerator (`cuda` is jax's first GPU or TPU).

Skipped on a CPU-only host; run on a GPU machine. Values are compared with the same
computation on the CPU (and with torch's CPU result where torch is at hand).
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import jtorch
from jtorch import _device

pytestmark = pytest.mark.skipif(not _device.accelerator_devices(),
                                reason="jax has no accelerator here")


def on_accelerator(t) -> bool:
    return all(d.platform != "cpu" for d in t._value.devices())


def test_fresh_tensors_are_on_the_cpu_as_in_torch():
    for t in (jtorch.zeros(3), jtorch.tensor([1.0, 2.0]), jtorch.arange(4), jtorch.randn(2),
              jtorch.ones(2) + 1):
        assert t.device == jtorch.device("cpu") and not t.is_cuda
        assert not on_accelerator(t)


def test_cuda_moves_and_ops_stay_there():
    x = jtorch.arange(12, dtype=jtorch.float32).reshape(3, 4)
    g = x.cuda()
    assert g.device == jtorch.device("cuda", 0) and g.is_cuda and on_accelerator(g)
    assert x.to("cuda").device == g.device == x.to(jtorch.device("cuda:0")).device
    y = (g @ g.T).softmax(-1).sum(0)
    assert y.device == g.device and on_accelerator(y)
    np.testing.assert_allclose(y.cpu().numpy(), (x @ x.T).softmax(-1).sum(0).numpy(),
                               rtol=1e-5)
    assert y.cpu().device == jtorch.device("cpu") and not on_accelerator(y.cpu())
    assert jtorch.zeros(2, device="cuda").is_cuda and jtorch.randn(2, device="cuda").is_cuda
    assert jtorch.cuda.device_count() >= 1 and jtorch.cuda.get_device_name()


def test_mixing_devices_raises_as_torch_does():
    g = jtorch.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="same device"):
        g + jtorch.ones(3)
    # torch lets a 0-d CPU tensor join a CUDA op, as it does a Python number
    assert (g * jtorch.tensor(2.0)).is_cuda


def test_training_on_the_accelerator():
    jtorch.manual_seed(0)
    # no bias right before the BatchNorm: its gradient is rounding noise, which Adam's
    # first steps would blow up to +-lr
    model = jtorch.nn.Sequential(jtorch.nn.Linear(4, 8), jtorch.nn.ReLU(),
                                 jtorch.nn.BatchNorm1d(8), jtorch.nn.Linear(8, 2)).to("cuda")
    assert all(p.is_cuda for p in model.parameters()) and all(b.is_cuda for b in model.buffers())
    cpu_model = jtorch.nn.Sequential(jtorch.nn.Linear(4, 8), jtorch.nn.ReLU(),
                                     jtorch.nn.BatchNorm1d(8), jtorch.nn.Linear(8, 2))
    cpu_model.load_state_dict({k: v.cpu() for k, v in model.state_dict().items()})
    x, y = jtorch.randn(16, 4), jtorch.randint(2, (16,))
    for m in (model, cpu_model):
        optimizer = jtorch.optim.Adam(m.parameters(), lr=0.1)
        dev = next(m.parameters()).device
        for _ in range(3):
            loss = jtorch.nn.functional.cross_entropy(m(x.to(dev)), y.to(dev))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        assert loss.device == dev
    assert all(p.grad.is_cuda for p in model.parameters())
    # one jitted update per group: `step` moves to the parameters' device (torch keeps it
    # on the CPU unless capturable)
    assert optimizer.state[next(cpu_model.parameters())]["step"].item() == 3
    assert optimizer.state[next(cpu_model.parameters())]["exp_avg"].device.type == "cpu"
    for (name, a), b in zip(model.state_dict().items(), cpu_model.state_dict().values()):
        assert a.is_cuda, name
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=name)


def test_save_on_the_accelerator_and_load_anywhere():
    state = {"w": jtorch.randn(3, 2).cuda(), "n": 4}
    buffer = io.BytesIO()
    jtorch.save(state, buffer)
    buffer.seek(0)
    back = jtorch.load(buffer)
    assert back["w"].is_cuda and back["n"] == 4
    buffer.seek(0)
    on_cpu = jtorch.load(buffer, map_location="cpu")
    assert on_cpu["w"].device.type == "cpu"
    np.testing.assert_array_equal(on_cpu["w"].numpy(), state["w"].cpu().numpy())
    torch = pytest.importorskip("torch")
    buffer.seek(0)
    theirs = torch.load(buffer, map_location="cpu")
    np.testing.assert_array_equal(theirs["w"].numpy(), on_cpu["w"].numpy())


def test_default_device_and_loader_pinning():
    jtorch.set_default_device("cuda")
    try:
        assert jtorch.zeros(2).is_cuda and jtorch.arange(3).is_cuda
    finally:
        jtorch.set_default_device(None)
    assert not jtorch.zeros(2).is_cuda
    data = jtorch.utils.data.TensorDataset(jtorch.arange(8.0).reshape(4, 2))
    (batch,) = next(iter(jtorch.utils.data.DataLoader(data, batch_size=2, pin_memory=True)))
    assert batch.to("cuda", non_blocking=True).is_cuda
    pinned = batch.pin_memory()
    assert pinned.is_pinned() and not batch.is_pinned() and pinned.tolist() == batch.tolist()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        batch.cuda().pin_memory()
