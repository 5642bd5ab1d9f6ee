"""The OpInfo compatibility figure: how many of torch's OpInfo entries jtorch passes.

    python compat/opinfo_report.py            # prints the counts and the failures
    python compat/opinfo_report.py --write    # also rewrites compat/opinfo_known_failures.txt

    python compat/opinfo_report.py --only grad   # one sweep: forward, errors, grad, inplace
                                                 # or module

Runs the same comparison as tests/test_opinfo.py (forward, float32 plus one integer or bool
dtype, against torch 2.13 on the CPU), tests/test_opinfo_errors.py (error inputs),
tests/test_opinfo_grad.py (gradients, float32) and tests/test_opinfo_inplace.py (in-place
variants, on a clone and through a view); `--only module` sweeps torch's ModuleInfo
database as tests/nn/test_moduleinfo.py does.
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

from opinfo_harness import (entry_id, run_entry, run_error_inputs, run_gradient_entry,  # noqa: E402
                            run_inplace_entry)
import module_harness  # noqa: E402


def sweep(entries, runner):
    passed, failed, skipped = [], {}, []
    for op in entries:
        name = op.name if hasattr(op, "module_cls") else entry_id(op)
        try:
            (passed if runner(op) else skipped).append(name)
        except Exception as e:   # noqa: BLE001 - a report lists every kind of failure
            failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:150]}"
    return passed, failed, skipped


SWEEPS = {
    "forward": ("", lambda: [op for op in op_db if torch.float32 in op.supported_dtypes("cpu")],
                run_entry, "float32-testable"),
    "errors": ("errors:", lambda: [op for op in op_db if op.error_inputs_func is not None],
               run_error_inputs, "entries with error inputs"),
    "grad": ("grad:", lambda: [op for op in op_db if op.supports_autograd
                               and torch.float32 in op.supported_dtypes("cpu")],
             run_gradient_entry, "float32 gradient-testable"),
    "inplace": ("inplace:", lambda: [op for op in op_db if op.inplace_variant is not None
                                     and torch.float32 in op.supported_dtypes("cpu")],
                run_inplace_entry, "float32 entries with an in-place variant"),
    "module": ("module:", lambda: __import__("torch.testing._internal.common_modules",
                                             fromlist=["module_db"]).module_db,
               module_harness.run_module_entry, "ModuleInfo entries"),
}
SWEEP_PREFIXES = tuple(prefix[:-1] for prefix, *_ in SWEEPS.values() if prefix)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true",
                        help="rewrite compat/opinfo_known_failures.txt from this run (the "
                             "entries of sweeps not run are kept)")
    parser.add_argument("--only", choices=sorted(SWEEPS), action="append",
                        help="run only this sweep (repeatable)")
    args = parser.parse_args()
    start = time.time()
    failures = {}
    for name in args.only or list(SWEEPS):
        prefix, entries, runner, what = SWEEPS[name]
        entries = entries()
        passed, failed, skipped = sweep(entries, runner)
        print(f"OpInfo {name}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} "
              f"skipped of {len(entries)} {what}")
        if name == "forward":
            by_ns = collections.Counter(_namespace(n) for n in passed)
            print("  passed by namespace: " + ", ".join(f"{k} {v}"
                                                      for k, v in sorted(by_ns.items())))
        failures[prefix] = failed
    print(f"({time.time() - start:.0f} s)")
    for prefix, failed in failures.items():
        for name, why in sorted(failed.items()):
            print(f"  FAIL {prefix}{name}: {why}")
    if args.write:
        write(failures)


def _namespace(name):
    if name.startswith(("linalg.", "fft.", "special.", "nn.", "masked.", "signal.", "sparse.")):
        return name.split(".")[0]
    return "torch"


def write(failures):
    path = HERE / "opinfo_known_failures.txt"
    kept = []
    for line in path.read_text().splitlines() if path.exists() else []:
        entry = line.split("#")[0].strip()
        if not entry:
            continue
        prefix = entry.split(":")[0] + ":" if ":" in entry else ""
        if prefix not in failures:
            kept.append(line)
    lines = ["# OpInfo entries jtorch does not pass yet. This list only shrinks: the tests mark these",
             "# xfail(strict), so an entry that starts passing fails the run until it is removed here.",
             "# `errors:NAME` is the entry's error-input test (tests/test_opinfo_errors.py),",
             "# `grad:NAME` its gradient test (tests/test_opinfo_grad.py),",
             "# `inplace:NAME` its in-place variant, on the sample and through a view of a larger",
             "# base (tests/test_opinfo_inplace.py), `module:NAME` a ModuleInfo entry",
             "# (tests/nn/test_moduleinfo.py).",
             "# See the failures with their messages: python compat/opinfo_report.py"]
    for prefix, failed in failures.items():
        kept += [f"{prefix}{n}  # {why}" for n, why in failed.items()]
    lines += sorted(kept, key=lambda ln: (ln.count(":") and ln.split(":")[0] in SWEEP_PREFIXES,
                                          ln))
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
