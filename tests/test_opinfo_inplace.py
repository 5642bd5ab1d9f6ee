"""OpInfo in-place variants (`Tensor.add_` ...): on a clone and through a view of a larger
base, jtorch's against torch's."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_harness import entry_id, run_inplace_entry  # noqa: E402
from test_opinfo import KNOWN  # noqa: E402

ENTRIES = [op for op in op_db
           if op.inplace_variant is not None and torch.float32 in op.supported_dtypes("cpu")]


@pytest.mark.parametrize("op", ENTRIES, ids=[entry_id(op) for op in ENTRIES])
def test_inplace(op, request):
    if "inplace:" + entry_id(op) in KNOWN:
        # strict: an entry that starts passing fails the run until it leaves the list
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    if run_inplace_entry(op) == 0:
        pytest.skip("torch ran none of this entry's samples in place")
