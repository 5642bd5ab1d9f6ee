"""Loading a big float32 state dict: jtorch.load vs real torch.load (and safetensors).

    python benchmarks/serialization.py [--mb 500] [--tensors 50] [--repeat 3]

Real torch writes the state dict once (`torch.save`, and `safetensors.torch.save_file` when
that package is installed) into a temp folder. Each case then runs in a fresh subprocess, so
its peak memory is its own: the loader is imported and warmed up first, the peak-RSS mark is
reset (or read as a baseline), then the file is loaded and every tensor's data is touched (a
numpy sum), so lazy loading is paid for. Printed per case: the best time to load and to load+touch,
the peak RSS above the baseline as a multiple of the file size (after load, after touch), and
the growth of resident anonymous / file-backed memory by the end. Ratios are jtorch / torch for the
matching torch case. The file is in the page cache for every case (it was just written).

Issue 7's targets: jtorch.load(mmap=True) peak extra < 1.5x the file; time within 2x torch.load.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# each case and the torch case its ratio is taken against
CASES = {
    "torch.load": None,
    "jtorch.load": "torch.load",
    "torch.load(mmap=True)": None,
    "jtorch.load(mmap=True)": "torch.load(mmap=True)",
    "safetensors.torch.load_file": None,
    "jtorch.safetensors.load_file": "safetensors.torch.load_file",
}


# -- the child: one load, measured -----------------------------------------------------------

def _status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); the baseline peak to subtract."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status()["VmHWM"]


def _touch(t) -> float:
    # numpy's sum for both libraries, so touching costs the same work everywhere
    return float(t.numpy().sum())


def _loader(case: str, path: str):
    if case.startswith("jtorch"):
        import jtorch
        jtorch.ones(4).sum().item()     # jax's CPU client starts outside the measurement
        if case == "jtorch.safetensors.load_file":
            return lambda: jtorch.safetensors.load_file(path), _touch
        if not hasattr(jtorch, "load"):
            raise SystemExit("jtorch.load does not exist yet")
        mmap = "mmap=True" in case
        return lambda: jtorch.load(path, mmap=mmap), _touch
    import torch
    torch.ones(4).sum().item()
    if case == "safetensors.torch.load_file":
        import safetensors.torch
        return lambda: safetensors.torch.load_file(path), _touch
    mmap = "mmap=True" in case
    return lambda: torch.load(path, weights_only=True, mmap=mmap), _touch


def child(case: str, path: str) -> None:
    load, touch = _loader(case, path)
    base = _reset_peak()
    before = _status()
    start = time.perf_counter()
    state = load()
    loaded = time.perf_counter() - start
    after_load = _status()["VmHWM"] - base
    for t in state.values():
        touch(t)
    touched = time.perf_counter() - start
    end = _status()
    print(json.dumps({"load_s": loaded, "touch_s": touched, "peak_load": after_load,
                      "peak_touch": end["VmHWM"] - base, "anon": end["RssAnon"] - before["RssAnon"],
                      "file": end["RssFile"] - before["RssFile"], "tensors": len(state)}))


# -- the parent: write once, run every case --------------------------------------------------

def _write(folder: str, mb: int, count: int) -> dict:
    import torch
    numel = mb * 2 ** 20 // 4 // count
    cols = 1024
    rows = max(1, numel // cols)
    gen = torch.Generator().manual_seed(0)
    state = {f"layer{i}.weight": torch.randn(rows, cols, generator=gen) for i in range(count)}
    paths = {"pt": os.path.join(folder, "state.pt")}
    torch.save(state, paths["pt"])
    try:
        import safetensors.torch
        paths["safetensors"] = os.path.join(folder, "state.safetensors")
        safetensors.torch.save_file(state, paths["safetensors"])
    except ImportError:
        pass
    return paths


def _run(case: str, path: str) -> dict | str:
    # the children measure the jtorch of this checkout, whatever is installed
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, __file__, "--child", case, path],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="state dict size in MiB")
    parser.add_argument("--tensors", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per case")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        paths = _write(folder, args.mb, args.tensors)
        size = os.path.getsize(paths["pt"])
        print(f"{args.tensors} float32 tensors, torch.save file {size / 2**20:.0f} MiB; best of "
              f"{args.repeat} fresh processes; memory = peak RSS above baseline / file size")
        print(f"{'case':30s} {'load s':>8s} {'+touch s':>8s} {'ratio':>11s} "
              f"{'mem load':>8s} {'mem touch':>9s} {'+anon MiB':>9s} {'+file MiB':>9s}")
        results = {}
        for case in args.cases.split(","):
            versus = CASES[case]
            path = paths.get("safetensors" if "safetensors" in case else "pt")
            if path is None:
                print(f"{case:30s} skipped: safetensors is not installed")
                continue
            runs = [_run(case, path) for _ in range(args.repeat)]
            good = [r for r in runs if isinstance(r, dict)]
            if not good:
                print(f"{case:30s} failed: {runs[0]}")
                continue
            best = min(good, key=lambda r: r["touch_s"])
            best["load_s"] = min(r["load_s"] for r in good)
            best["touch_s"] = min(r["touch_s"] for r in good)
            results[case] = best
            ratio = ""
            if versus in results:
                ratio = (f"{best['load_s'] / results[versus]['load_s']:5.2f}/"
                         f"{best['touch_s'] / results[versus]['touch_s']:<5.2f}")
            fsize = os.path.getsize(path)
            print(f"{case:30s} {best['load_s']:8.3f} {best['touch_s']:8.3f} {ratio:>11s} "
                  f"{max(r['peak_load'] for r in good) / fsize:7.2f}x "
                  f"{max(r['peak_touch'] for r in good) / fsize:8.2f}x "
                  f"{best['anon'] / 2**20:9.0f} {best['file'] / 2**20:9.0f}")
        print("ratio = jtorch/torch time, load/load+touch; memory is the worst run's")


if __name__ == "__main__":
    main()
