"""PyTorch's ModuleInfo database swept through jtorch.nn against torch: outputs, buffers
after the call, and gradients of inputs and parameters, in train and eval mode where they
differ (harness: tests/module_harness.py)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from torch.testing._internal.common_modules import module_db  # noqa: E402

from module_harness import entry_id, run_module_entry  # noqa: E402
from test_opinfo import KNOWN  # noqa: E402


@pytest.mark.parametrize("info", module_db, ids=[entry_id(m) for m in module_db])
def test_module(info, request):
    if "module:" + entry_id(info) in KNOWN:
        # strict: an entry that starts passing fails the run until it leaves the list
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    if run_module_entry(info) == 0:
        pytest.skip("the entry has no samples")
