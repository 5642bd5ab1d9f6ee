"""The README's main job runs and learns."""
from __future__ import annotations

import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_tiny_learns(capsys):
    accuracy = load("train_tiny").main(["--steps", "50"])
    assert accuracy > 0.9
    assert "loss" in capsys.readouterr().out
