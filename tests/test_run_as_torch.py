"""Unmodified torch scripts on jtorch: `python -m jtorch`, `install_as_torch()`, the version
and the messages for torch names jtorch lacks."""
from __future__ import annotations

import importlib
import importlib.metadata
import operator
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from packaging.version import Version
from torch.torch_version import TorchVersion

import jtorch

TRAIN_SCRIPT = """
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

import jtorch
assert torch is jtorch and nn is jtorch.nn and F is jtorch.nn.functional
print("argv", sys.argv, __name__, __file__ == os.path.abspath(__file__))
print("path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))

# the set-up lines of many scripts
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
device = ("cuda" if torch.cuda.is_available() else
          "mps" if torch.backends.mps.is_available() else "cpu")
assert device != "mps"

torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
opt = optim.SGD(model.parameters(), lr=0.5)
losses = []
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
assert isinstance(loss, Tensor)
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f} decreased={losses[-1] < losses[0]}")
path = os.path.join(os.path.dirname(__file__), "model.pt")
torch.save(model.state_dict(), path)
model.load_state_dict(torch.load(path))
"""


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "jtorch", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_script_trains_saves_and_sees_its_argv(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN_SCRIPT)
    out = _run(["train.py", "--epochs", "5"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "argv ['train.py', '--epochs', '5'] __main__ True"
    assert lines[1] == "path0 True"
    assert re.fullmatch(r"loss \d+\.\d+ -> \d+\.\d+ decreased=True", lines[2]), lines
    # the checkpoint is PyTorch's own format
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (16, 4)


def test_module_and_spawned_children_alias_torch(tmp_path):
    # a spawned child (DataLoader workers start so) re-runs the main module: it must alias too
    (tmp_path / "spawner.py").write_text(textwrap.dedent("""
        import multiprocessing
        import sys
        import torch

        def child(queue):
            import torch.nn
            queue.put((torch.__name__, torch.nn.Linear.__module__))

        if __name__ == "__main__":
            print(sys.argv[1:], __name__, sys.argv[0] == __file__)
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            process = context.Process(target=child, args=(queue,))
            process.start()
            print(queue.get(timeout=120))
            process.join()
            sys.exit(process.exitcode + 3)
    """))
    out = _run(["-m", "spawner", "x", "-y"], cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert out.stdout.splitlines() == ["['x', '-y'] __main__ True",
                                       "('jtorch', 'jtorch.nn.modules.linear')"]


def test_error_shows_the_scripts_traceback_and_exits_1(tmp_path):
    (tmp_path / "fails.py").write_text(textwrap.dedent("""
        import torch

        def step():
            raise ValueError("boom")

        try:
            torch.compile_me_not
        except AttributeError as e:
            print(e)
        step()
    """))
    out = _run(["fails.py"], cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == "jtorch does not implement torch.compile_me_not yet\n"
    script = str(tmp_path / "fails.py")
    assert out.stderr.splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{script}", line 11, in <module>',
        "    step()",
        f'  File "{script}", line 5, in step',
        '    raise ValueError("boom")',
        "ValueError: boom",
    ]


def test_install_as_torch_in_process_and_undo():
    from multiprocessing import spawn
    real, preparation = sys.modules["torch"], spawn.get_preparation_data
    with jtorch.install_as_torch():
        assert importlib.import_module("torch") is jtorch
        assert importlib.import_module("torch.nn.functional") is jtorch.nn.functional
        assert importlib.import_module("torch.utils.data").DataLoader is \
            jtorch.utils.data.DataLoader
        assert importlib.import_module("torch.optim.lr_scheduler") is jtorch.optim.lr_scheduler
        assert jtorch.install_as_torch() is not None            # installing twice: no-op
        with pytest.raises(ModuleNotFoundError,
                           match="jtorch does not implement torch.distributed yet"):
            importlib.import_module("torch.distributed")
        # `from torch.nn import X` asks jtorch.nn by its own name: Python's message
        with pytest.raises(ImportError, match=r"cannot import name 'qat' from 'jtorch\.nn'"):
            exec("from torch.nn import qat", {})
        assert importlib.import_module("torch") is jtorch        # the nested no-op kept it
    assert sys.modules["torch"] is real and spawn.get_preparation_data is preparation
    assert importlib.import_module("torch.nn") is real.nn
    assert not any(getattr(m, "__name__", "").startswith("jtorch")
                   for n, m in sys.modules.items() if n == "torch" or n.startswith("torch."))


def test_version_is_the_torch_api_level():
    assert Version(jtorch.__version__).release == Version(torch.__version__).release
    assert str(jtorch.__version__) == "2.13.0"
    assert jtorch.version.__version__ is jtorch.__version__
    assert jtorch.version.jtorch == importlib.metadata.version("jtorch")
    assert jtorch.version.cuda is None


@pytest.mark.parametrize("other", [
    "2.2", "2.13", "2.13.0", "2.13.1", "2.14.0a0", "2.13.0rc1", "2.13.0.post1",
    "2.13.0.dev20250101", "1.13.1+cu117", "3", (2, 1), (2, 13), (2, 13, 0), [3], "parrot"])
@pytest.mark.parametrize("op", [operator.eq, operator.lt, operator.le, operator.gt,
                                operator.ge])
def test_version_compares_as_torch_version(op, other):
    assert op(jtorch.__version__, other) == op(TorchVersion("2.13.0"), other)


def test_version_compares_reflected():
    assert Version("2.2") < jtorch.__version__ and (2, 14) > jtorch.__version__
    # torch's TorchVersion knows only its vendored packaging's Version (TypeError here)
    assert jtorch.__version__ > Version("2.12") and jtorch.__version__ == Version("2.13")
    assert operator.ne(jtorch.__version__, "2.12") and not operator.ne(jtorch.__version__, "2.13")


MODULES = ["", ".nn", ".nn.functional", ".nn.init", ".nn.modules", ".nn.utils",
           ".nn.utils.rnn", ".optim", ".optim.lr_scheduler", ".utils", ".cuda", ".linalg",
           ".fft", ".special", ".autograd", ".autograd.functional", ".random", ".signal",
           ".signal.windows", ".masked", ".serialization", ".version", ".backends",
           ".backends.cudnn", ".backends.cuda", ".backends.mps"]


@pytest.mark.parametrize("path", MODULES)
def test_missing_names_say_jtorch_lacks_them(path):
    module = importlib.import_module("jtorch" + path)
    assert not hasattr(module, "no_such_feature")
    with pytest.raises(AttributeError) as info:
        _ = module.no_such_feature
    assert str(info.value) == f"jtorch does not implement torch{path}.no_such_feature yet"
    # Python's own probes keep Python's message
    with pytest.raises(AttributeError, match="has no attribute '__wrapped__'"):
        _ = module.__wrapped__


def test_missing_name_carries_name_and_module_for_did_you_mean():
    with pytest.raises(AttributeError) as info:
        _ = jtorch.nn.Lineer
    assert info.value.name == "Lineer" and info.value.obj is jtorch.nn


def test_missing_tensor_attributes_list_matches_torch_both_ways():
    from jtorch._missing import MISSING_TENSOR_ATTRIBUTES
    public = {n for n in dir(torch.Tensor) if not n.startswith("_")}
    lacking = {n for n in public if not hasattr(jtorch.Tensor, n)}
    assert lacking == MISSING_TENSOR_ATTRIBUTES      # implementing one must drop it from the list
    x = jtorch.ones(2)
    with pytest.raises(AttributeError, match=r"^jtorch does not implement torch.Tensor.to_sparse yet$"):
        x.to_sparse()
    assert not hasattr(x, "to_sparse")
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'to_sprase'$") as info:
        x.to_sprase()
    assert info.value.name == "to_sprase" and info.value.obj is x


def test_small_tensor_methods_as_torch():
    t, j = torch.tensor([[1.0, -2.0], [3.0, 4.0]]), jtorch.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert j.adjoint().tolist() == t.adjoint().tolist()
    assert j.prelu(jtorch.tensor([0.25])).tolist() == t.prelu(torch.tensor([0.25])).tolist()
    assert j.is_same_size(j[0]) is t.is_same_size(t[0]) is False
    assert jtorch.tensor([3]).is_nonzero() is torch.tensor([3]).is_nonzero() is True
    assert (j.is_xla, j.is_mps, j.is_xpu, j.is_pinned()) == (t.is_xla, t.is_mps, t.is_xpu,
                                                            t.is_pinned())
    if not jtorch.cuda.is_available():
        with pytest.raises(RuntimeError, match="accelerator"):
            torch.ones(1).pin_memory()
        with pytest.raises(RuntimeError, match="accelerator"):
            jtorch.ones(1).pin_memory()

