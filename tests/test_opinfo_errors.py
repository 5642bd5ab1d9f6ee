"""OpInfo error inputs: where torch raises, jtorch raises the same exception class."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_harness import entry_id, run_error_inputs  # noqa: E402
from test_opinfo import KNOWN  # noqa: E402

ENTRIES = [op for op in op_db if op.error_inputs_func is not None]


@pytest.mark.parametrize("op", ENTRIES, ids=[entry_id(op) for op in ENTRIES])
def test_error_inputs(op, request):
    if "errors:" + entry_id(op) in KNOWN:
        # strict: an entry that starts passing fails the run until it leaves the list
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    if run_error_inputs(op) == 0:
        pytest.skip("torch raised on none of this entry's error inputs here")
