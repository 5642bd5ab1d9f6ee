"""The examples run unmodified under `python -m jtorch` and learn, in a few steps each.

Each runs in its own interpreter as a user runs it. The checkpoint the GPT example saves is
loaded by real torch into the same example's model built with real torch.
"""
from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import torch

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def run_example(name: str, *args: str, cwd) -> str:
    out = subprocess.run([sys.executable, "-m", "jtorch", str(EXAMPLES / f"{name}.py"), *args],
                         cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def numbers(pattern: str, text: str) -> list[float]:
    return [float(x) for x in re.findall(pattern, text)]


def load_with_real_torch(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.torch is torch          # a plain torch script
    return module


def test_char_gpt_trains_saves_a_torch_checkpoint_and_samples(tmp_path):
    size = ["--width", "32", "--heads", "2", "--layers", "1", "--context", "16"]
    out = run_example("char_gpt", "--steps", "30", "--eval-every", "15", "--batch-size", "16",
                      "--sample-chars", "40", "--out", "gpt.pt", *size, cwd=tmp_path)
    losses = numbers(r"step +\d+  loss (\d+\.\d+)", out)
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.5, out
    assert len(numbers(r"validation loss (\d+\.\d+)", out)) == 2, out
    text = (EXAMPLES / "data" / "shakespeare.txt").read_text()
    sample = out.split("sample after the prompt ", 1)[1].split(":\n", 1)[1]
    assert len(sample) == 40 + 1 and set(sample) <= set(text), sample     # and print's "\n"

    checkpoint = torch.load(tmp_path / "gpt.pt", weights_only=True)
    assert checkpoint["chars"] == "".join(sorted(set(text)))
    example = load_with_real_torch("char_gpt")
    model = example.GPT(len(checkpoint["chars"]), context=16, width=32, heads=2, layers=1)
    model.load_state_dict(checkpoint["model"])            # strict: the same keys and shapes
    assert model.head.weight is model.tokens.weight
    optimizer = torch.optim.AdamW(model.parameters())
    optimizer.load_state_dict(checkpoint["optimizer"])
    assert optimizer.state[model.tokens.weight]["step"].item() == 30


def test_convnet_with_loader_workers_learns(tmp_path):
    out = run_example("convnet", "--epochs", "2", "--train-size", "512", "--test-size", "256",
                      "--batch-size", "32", "--workers", "1", cwd=tmp_path)
    assert "1 loader workers" in out
    accuracy = numbers(r"test accuracy (\d\.\d+)", out)
    assert len(accuracy) == 2 and accuracy[-1] > 0.3, out     # chance is 1/6
    assert len(numbers(r"lr (\d\.\d+)", out)) == 2                    # batches 16 and 32


def test_lstm_forecasts_better_than_guessing(tmp_path):
    out = run_example("lstm_sine", "--steps", "100", "--hidden", "16", "--lr", "0.02",
                      cwd=tmp_path)
    mse = numbers(r"step +\d+  mse (\d\.\d+)", out)
    assert len(mse) == 5 and mse[-1] < mse[0] / 3, out
    forecast, zero, last = numbers(r"(\d\.\d+)", out.split("forecast mse ", 1)[1].split("\n")[0])
    assert forecast < min(zero, last) / 2, out
