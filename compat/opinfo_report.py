"""The OpInfo compatibility figure: how many of torch's OpInfo entries jtorch passes.

    python compat/opinfo_report.py            # prints the counts and the failures
    python compat/opinfo_report.py --write    # also rewrites compat/opinfo_known_failures.txt

Runs the same comparison as tests/test_opinfo.py (forward, float32 plus one integer or bool
dtype, against torch 2.13 on the CPU) and tests/test_opinfo_errors.py (error inputs).
"""
from __future__ import annotations

import argparse
import collections
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

import torch  # noqa: E402
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from opinfo_harness import entry_id, run_entry, run_error_inputs  # noqa: E402


def sweep(entries, runner):
    passed, failed, skipped = [], {}, []
    for op in entries:
        try:
            (passed if runner(op) else skipped).append(entry_id(op))
        except Exception as e:   # noqa: BLE001 - a report lists every kind of failure
            failed[entry_id(op)] = f"{type(e).__name__}: {str(e).splitlines()[0][:150]}"
    return passed, failed, skipped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true",
                        help="rewrite compat/opinfo_known_failures.txt from this run")
    args = parser.parse_args()
    start = time.time()
    forward = [op for op in op_db if torch.float32 in op.supported_dtypes("cpu")]
    f_pass, f_fail, f_skip = sweep(forward, run_entry)
    errors = [op for op in op_db if op.error_inputs_func is not None]
    e_pass, e_fail, e_skip = sweep(errors, run_error_inputs)
    by_ns = collections.Counter(n.split(".")[0] if "." in n.split(".")[0] or n.count(".") > 1
                                or n.startswith(("linalg.", "fft.", "special.", "nn.", "masked.",
                                                 "signal.", "sparse."))
                                else "torch" for n in f_pass)
    print(f"OpInfo forward: {len(f_pass)} passed, {len(f_fail)} failed, {len(f_skip)} skipped "
          f"of {len(forward)} float32-testable entries")
    print("  passed by namespace: " + ", ".join(f"{k} {v}" for k, v in sorted(by_ns.items())))
    print(f"OpInfo error inputs: {len(e_pass)} passed, {len(e_fail)} failed, {len(e_skip)} "
          f"skipped of {len(errors)} entries")
    print(f"({time.time() - start:.0f} s)")
    for name, why in sorted(f_fail.items()):
        print(f"  FAIL {name}: {why}")
    for name, why in sorted(e_fail.items()):
        print(f"  FAIL errors:{name}: {why}")
    if args.write:
        lines = ["# OpInfo entries jtorch does not pass yet. This list only shrinks: the tests mark these",
                 "# xfail(strict), so an entry that starts passing fails the run until it is removed here.",
                 "# `errors:NAME` is the entry's error-input test (tests/test_opinfo_errors.py).",
                 "# See the failures with their messages: python compat/opinfo_report.py"]
        lines += [f"{n}  # {why}" for n, why in sorted(f_fail.items())]
        lines += [f"errors:{n}  # {why}" for n, why in sorted(e_fail.items())]
        (HERE / "opinfo_known_failures.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
