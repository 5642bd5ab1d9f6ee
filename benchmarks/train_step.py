"""One eager training step (forward, backward, SGD): jtorch vs real torch vs hand-written JAX.

    python benchmarks/train_step.py [--quick] [--phases] [--models mlp,conv] [--torch-threads N]

Two models written with torch.nn.functional only: an MLP (batch 64, 256->512->512->1, ReLU, MSE)
and a small convnet (batch 32, 1x28x28, two conv3x3+relu+maxpool2, linear->10, cross entropy),
plus the MLP at tiny sizes (batch 4, 8->8->8->1), where the step time is all per-op overhead.
jtorch and torch run the same step function (`loss.backward()`, then `p -= lr * p.grad` and
`p.grad = None` under `no_grad`); the JAX step is `jit(value_and_grad(loss))` plus a jitted SGD.
The jtorch step is also timed under `_vjp_at_forward` (per-op `jax.vjp` at forward time, no
replay), the alternative design issue 3 asks about. All start from the same numpy parameters;
the losses after a few steps are checked to agree.

Times are per step, medians over repeats of back-to-back steps with the results waited for at
the end of each repeat (a training loop's throughput: jax may overlap dispatch with compute).
torch is optional: its column is skipped when absent.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import jtorch

from _vjp_at_forward import vjp_at_forward

try:
    import torch
except ImportError:
    torch = None

LR = 0.01
CHECK_STEPS = 3
SETTLE_S = 0.1


# -- the models: one function body for jtorch and torch -------------------------------------------

def mlp_loss(tt, params, x, y):
    F = tt.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    h = F.relu(F.linear(x, w1, b1))
    h = F.relu(F.linear(h, w2, b2))
    return F.mse_loss(F.linear(h, w3, b3), y)


def conv_loss(tt, params, x, y):
    F = tt.nn.functional
    c1, c1b, c2, c2b, w, b = params
    h = F.max_pool2d(F.relu(F.conv2d(x, c1, c1b)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c2, c2b)), 2)
    return F.cross_entropy(F.linear(h.flatten(1), w, b), y)


def train_step(tt, loss_fn, params, x, y):
    """What a torch user writes (no optimizer object: jtorch has none yet)."""
    loss = loss_fn(tt, params, x, y)
    loss.backward()
    with tt.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss


# -- the same models in JAX -----------------------------------------------------------------------

_HIGHEST = lax.Precision.HIGHEST     # jtorch's float32 matmuls are full precision, as torch's


def _linear(x, w, b):
    return jnp.matmul(x, w.T, precision=_HIGHEST) + b


def jax_mlp_loss(params, x, y):
    w1, b1, w2, b2, w3, b3 = params
    h = jax.nn.relu(_linear(x, w1, b1))
    h = jax.nn.relu(_linear(h, w2, b2))
    return jnp.mean((_linear(h, w3, b3) - y) ** 2)


def _conv_relu_pool(x, w, b):
    h = lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                 precision=_HIGHEST) + b[None, :, None, None]
    h = jax.nn.relu(h)
    return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def jax_conv_loss(params, x, y):
    c1, c1b, c2, c2b, w, b = params
    h = _conv_relu_pool(_conv_relu_pool(x, c1, c1b), c2, c2b)
    logp = jax.nn.log_softmax(_linear(h.reshape(h.shape[0], -1), w, b), axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# -- parameters and data (numpy, shared by every implementation) ---------------------------------

def _uniform(rng, shape, fan_in):
    bound = 1.0 / np.sqrt(fan_in)     # torch's default Linear/Conv init range
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def mlp_case(rng, batch=64, sizes=(256, 512, 512, 1)):
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [_uniform(rng, (n_out, n_in), n_in), _uniform(rng, (n_out,), n_in)]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.standard_normal((batch, sizes[-1])).astype(np.float32)
    return params, x, y


def tiny_mlp_case(rng):
    """The MLP's step at sizes where compute is negligible: what is left is per-op overhead."""
    return mlp_case(rng, batch=4, sizes=(8, 8, 8, 1))


def conv_case(rng):
    params = [_uniform(rng, (16, 1, 3, 3), 9), _uniform(rng, (16,), 9),
              _uniform(rng, (32, 16, 3, 3), 144), _uniform(rng, (32,), 144),
              _uniform(rng, (10, 800), 800), _uniform(rng, (10,), 800)]
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, (32,)).astype(np.int64)
    return params, x, y


MODELS = {"mlp": (mlp_case, mlp_loss, jax_mlp_loss),
          "mlp-tiny": (tiny_mlp_case, mlp_loss, jax_mlp_loss),
          "conv": (conv_case, conv_loss, jax_conv_loss)}


# -- one stepper per implementation: step() runs one, sync() waits for its results ----------------

def torchlike_stepper(tt, loss_fn, case):
    """(step, sync, loss_value, params) for jtorch or torch."""
    params_np, x_np, y_np = case
    params = [tt.from_numpy(p.copy()).requires_grad_() for p in params_np]
    x, y = tt.from_numpy(x_np.copy()), tt.from_numpy(y_np.copy())
    last = [None]

    def step():
        last[0] = train_step(tt, loss_fn, params, x, y)

    if tt is jtorch:
        def sync():
            jax.block_until_ready([last[0]._value] + [p._value for p in params])
    else:
        def sync():
            pass
    return step, sync, lambda: float(last[0].item()), params


def jax_stepper(loss_fn, case):
    params_np, x_np, y_np = case
    state = [[jnp.asarray(p) for p in params_np], None]
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    value_and_grad = jax.jit(jax.value_and_grad(loss_fn))
    sgd = jax.jit(lambda ps, gs: [p - LR * g for p, g in zip(ps, gs)])

    def step():
        loss, grads = value_and_grad(state[0], x, y)
        state[0] = sgd(state[0], grads)
        state[1] = loss

    def sync():
        jax.block_until_ready(state)
    return step, sync, lambda: float(state[1]), state


# -- timing ---------------------------------------------------------------------------------------

def time_steps(steppers: dict, *, budget_s: float, repeats: int) -> dict:
    """ms per step for each `name -> (step, sync, context)`: the median over `repeats` of the
    mean time of back-to-back steps. Repeats go round-robin over the implementations so that
    load from other processes on the machine spreads evenly over them."""
    number = {}
    for name, (step, sync, context) in steppers.items():
        with context():
            for _ in range(3):            # warm-up: compiles and fills every cache
                step()
            sync()
            t0 = time.perf_counter()
            step()
            sync()
            once = time.perf_counter() - t0
        number[name] = max(3, int(budget_s / repeats / len(steppers) / max(once, 1e-5)))
    times: dict = {name: [] for name in steppers}
    for _ in range(repeats):
        for name, (step, sync, context) in steppers.items():
            # let the previous block's worker threads (XLA's pool, torch's OpenMP team) stop
            # spinning, or they take this block's cores
            time.sleep(SETTLE_S)
            with context():
                t0 = time.perf_counter()
                for _ in range(number[name]):
                    step()
                sync()
                times[name].append((time.perf_counter() - t0) / number[name])
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def check_losses(name, case, loss_fn, jax_loss_fn):
    """Losses after CHECK_STEPS steps from the same start, and the vjp-at-forward gradients
    against the replay engine's; returns whether everything agreed."""
    def run(stepper):
        step, _, value, _ = stepper
        out = []
        for _ in range(CHECK_STEPS):
            step()
            out.append(value())
        return out

    losses = {"jtorch": run(torchlike_stepper(jtorch, loss_fn, case))}
    with vjp_at_forward():
        losses["vjp-at-forward"] = run(torchlike_stepper(jtorch, loss_fn, case))
    if torch is not None:
        losses["torch"] = run(torchlike_stepper(torch, loss_fn, case))
    losses["jax"] = run(jax_stepper(jax_loss_fn, case))
    ref = np.array(losses["jtorch"])
    ok = all(np.allclose(v, ref, rtol=1e-4, atol=1e-6) for v in losses.values())
    print(f"  {name} losses after steps 1..{CHECK_STEPS}: " +
          "  ".join(f"{k} {' '.join(f'{v:.6f}' for v in vs)}" for k, vs in losses.items()) +
          f"  -> {'agree' if ok else 'DISAGREE'}")

    # one backward each way from the same parameters: the experiment's gradients must match
    grads = []
    for ctx in (contextlib.nullcontext(), vjp_at_forward()):
        with ctx:
            params = [jtorch.from_numpy(p.copy()).requires_grad_() for p in case[0]]
            x, y = jtorch.from_numpy(case[1].copy()), jtorch.from_numpy(case[2].copy())
            loss_fn(jtorch, params, x, y).backward()
            grads.append([np.asarray(p.grad._value) for p in params])
    err = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-30))
              for a, b in zip(*grads))
    grads_ok = err < 1e-5
    print(f"  {name} vjp-at-forward vs replay gradients: max relative error {err:.1e} -> "
          f"{'agree' if grads_ok else 'DISAGREE'}")
    return ok and grads_ok


def phase_split(tt, loss_fn, case, steps: int) -> dict:
    """Median host time (ms) of forward, backward and update in `steps` steps of jtorch or torch;
    results are waited for between steps, outside the timed phases."""
    params_np, x_np, y_np = case
    params = [tt.from_numpy(p.copy()).requires_grad_() for p in params_np]
    x, y = tt.from_numpy(x_np.copy()), tt.from_numpy(y_np.copy())
    rows = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        loss = loss_fn(tt, params, x, y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        with tt.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        t3 = time.perf_counter()
        if tt is jtorch:
            jax.block_until_ready([p._value for p in params])
        if i >= 3:
            rows.append((t1 - t0, t2 - t1, t3 - t2))
    return {name: statistics.median(col) * 1e3
            for name, col in zip(("forward", "backward", "update"), zip(*rows))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing runs")
    parser.add_argument("--models", default="mlp,mlp-tiny,conv",
                        help=f"comma-separated, of: {','.join(MODELS)}")
    parser.add_argument("--phases", action="store_true",
                        help="also print jtorch's and torch's forward/backward/update times")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own default)")
    args = parser.parse_args()
    budget_s, repeats = (1.0, 3) if args.quick else (4.0, 5)
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    torch_info = f"{torch.__version__} ({torch.get_num_threads()} threads)" if torch else "absent"
    print(f"jax {jax.__version__} on {jax.devices()[0].platform} ({jax.device_count()} device, "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}); torch {torch_info}; "
          f"{os.cpu_count()} cpus, load average {load:.1f}")
    if load > (os.cpu_count() or 1) * 0.5:
        print("warning: the machine is busy; torch's OpenMP threads suffer most from sharing cores")
    summary = []
    all_ok = True
    for name in args.models.split(","):
        make_case, loss_fn, jax_loss_fn = MODELS[name]
        case = make_case(np.random.default_rng(0))
        print(f"{name}:")
        try:
            all_ok &= check_losses(name, case, loss_fn, jax_loss_fn)
        except Exception as e:      # a jtorch op that cannot step yet: report it, time the rest
            print(f"  {name}: jtorch step FAILED: {type(e).__name__}: {str(e).splitlines()[0]}")
            all_ok = False
            continue
        null = contextlib.nullcontext
        steppers = {"jtorch": (*torchlike_stepper(jtorch, loss_fn, case)[:2], null),
                    "vjp-at-forward": (*torchlike_stepper(jtorch, loss_fn, case)[:2],
                                       vjp_at_forward)}
        if torch is not None:
            steppers["torch"] = (*torchlike_stepper(torch, loss_fn, case)[:2], null)
        steppers["jax"] = (*jax_stepper(jax_loss_fn, case)[:2], null)
        times = time_steps(steppers, budget_s=budget_s, repeats=repeats)
        times.setdefault("torch", float("nan"))
        print("  " + "  ".join(f"{k} {v:.3f} ms" for k, v in times.items()))
        if args.phases:
            runs = [("jtorch", jtorch, null), ("vjp-at-forward", jtorch, vjp_at_forward)]
            if torch is not None:
                runs.append(("torch", torch, null))
            for label, tt, context in runs:
                with context():
                    split = phase_split(tt, loss_fn, case, steps=30 if args.quick else 200)
                print(f"  {label} phases (host ms, median): " +
                      "  ".join(f"{k} {v:.3f}" for k, v in split.items()))
        summary.append((name, times))

    print("summary (ms per step; ratios of step times):")
    for name, t in summary:
        print(f"  {name}: jtorch {t['jtorch']:.3f} ms  torch {t['torch']:.3f} ms  "
              f"jax {t['jax']:.3f} ms  jtorch/torch {t['jtorch'] / t['torch']:.2f}  "
              f"jtorch/jax {t['jtorch'] / t['jax']:.2f}  "
              f"vjp-at-forward {t['vjp-at-forward']:.3f} ms "
              f"(/torch {t['vjp-at-forward'] / t['torch']:.2f}, "
              f"/jtorch {t['vjp-at-forward'] / t['jtorch']:.2f})")
    if not all_ok:
        raise SystemExit("some implementations disagree or fail (see above)")


if __name__ == "__main__":
    main()
