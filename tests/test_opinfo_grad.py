"""PyTorch's OpInfo database, gradients: jtorch's backward against torch's, op by op."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_harness import entry_id, run_gradient_entry  # noqa: E402
from test_opinfo import KNOWN  # noqa: E402

ENTRIES = [op for op in op_db
           if op.supports_autograd and torch.float32 in op.supported_dtypes("cpu")]


@pytest.mark.parametrize("op", ENTRIES, ids=[entry_id(op) for op in ENTRIES])
def test_gradient(op, request):
    if "grad:" + entry_id(op) in KNOWN:
        # strict: an entry that starts passing fails the run until it leaves the list
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    if run_gradient_entry(op) == 0:
        pytest.skip("torch differentiated none of this entry's samples")
