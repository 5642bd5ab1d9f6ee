"""Test-wide setup: XLA compiles the tests' kernels without its expensive optimisations.

Most of the suite's time is XLA compiling one kernel per op, shape and dtype for tiny
tensors; at -O0 that compile is about a third cheaper and the kernels compute the same
values (XLA's CPU backend does not use fast-math either way). Set JTORCH_TEST_XLA_OPTIMIZE=1
to test with XLA's default optimisation level.
"""
from __future__ import annotations

import os

if not os.environ.get("JTORCH_TEST_XLA_OPTIMIZE"):
    os.environ["XLA_FLAGS"] = " ".join(filter(None, [
        os.environ.get("XLA_FLAGS"),
        "--xla_backend_optimization_level=0",
        "--xla_llvm_disable_expensive_passes=true",
    ]))
