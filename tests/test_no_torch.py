"""jtorch imports and works where torch is not installed, and never imports torch."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
import jtorch
x = jtorch.arange(6).reshape(2, 3).float()
assert (x + 1).sum().item() == 21.0
w = jtorch.ones(3, requires_grad=True)
(x @ w).pow(2).sum().backward()
assert w.grad.tolist() == [72.0, 102.0, 132.0], w.grad   # (x @ w) = [3, 12]
leaked = [m for m in sys.modules if (m == "torch" or m.startswith("torch.")) and sys.modules[m] is not None]
assert not leaked, leaked
print("ok")
"""


def test_import_without_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
