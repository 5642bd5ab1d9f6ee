"""PyTorch's OpInfo database swept through jtorch, forward, against torch itself."""
from __future__ import annotations

import pathlib

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_harness import entry_id, run_entry  # noqa: E402

KNOWN_FAILURES_FILE = pathlib.Path(__file__).parent.parent / "compat" / "opinfo_known_failures.txt"


def known_failures() -> set[str]:
    lines = KNOWN_FAILURES_FILE.read_text().splitlines() if KNOWN_FAILURES_FILE.exists() else []
    return {ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()}


KNOWN = known_failures()
ENTRIES = [op for op in op_db if torch.float32 in op.supported_dtypes("cpu")]


@pytest.mark.parametrize("op", ENTRIES, ids=[entry_id(op) for op in ENTRIES])
def test_forward(op, request):
    if entry_id(op) in KNOWN:
        # strict: an entry that starts passing fails the run until it leaves the list,
        # so the list only shrinks
        request.applymarker(pytest.mark.xfail(reason="compat/opinfo_known_failures.txt",
                                              strict=True))
    if run_entry(op) == 0:
        pytest.skip("torch ran none of this entry's samples")
