"""Train an LSTM to forecast sine waves: it reads 48 points of a wave and predicts the next 24.

    python -m jtorch examples/lstm_sine.py [--steps N]

A plain PyTorch script (run it with `python` for real PyTorch). Every wave has a random
frequency, phase and amplitude. A two-layer LSTM reads the observed points; a linear layer
maps its last hidden state to the whole forecast. At the end the model forecasts waves it has
not seen, and its error is compared with two guesses that need no model.
"""
from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

SEEN, AHEAD = 48, 24     # points read, points forecast
DT = 0.25                # time between points


def waves(count: int, length: int, generator) -> torch.Tensor:
    """`count` sine waves of `length` points, shaped (count, length, 1)."""
    frequency = 0.5 + torch.rand(count, 1, generator=generator)         # 0.5 to 1.5 rad/unit
    phase = 2 * math.pi * torch.rand(count, 1, generator=generator)
    amplitude = 0.5 + 0.5 * torch.rand(count, 1, generator=generator)
    t = torch.arange(length) * DT
    return (amplitude * torch.sin(frequency * t + phase)).unsqueeze(-1)


class Forecaster(nn.Module):
    def __init__(self, hidden: int, layers: int, ahead: int):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, ahead)

    def forward(self, seen):
        """(batch, points, 1) observed -> (batch, ahead, 1) forecast."""
        _, (h, _) = self.lstm(seen)
        return self.out(h[-1]).unsqueeze(-1)


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=48)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = Forecaster(args.hidden, args.layers, AHEAD).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        wave = waves(args.batch_size, SEEN + AHEAD, generator).to(args.device)
        loss = F.mse_loss(model(wave[:, :SEEN]), wave[:, SEEN:])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 25 == 0 or step == 1:
            print(f"step {step:4d}  mse {loss.item():.5f}  "
                  f"{time.perf_counter() - start:5.1f} s", flush=True)

    # forecast 256 waves the model has not seen
    model.eval()
    wave = waves(256, SEEN + AHEAD, generator).to(args.device)
    truth = wave[:, SEEN:]
    with torch.no_grad():
        forecast = model(wave[:, :SEEN])
    error = F.mse_loss(forecast, truth).item()
    zero = truth.pow(2).mean().item()
    last = F.mse_loss(wave[:, SEEN - 1:SEEN].expand_as(truth), truth).item()
    print(f"forecast mse {error:.5f}; guessing zero {zero:.5f}, repeating the last point "
          f"{last:.5f}")
    print("one wave, every fourth point:")
    for i in range(0, AHEAD, 4):
        print(f"  t={(SEEN + i) * DT:5.2f}  true {truth[0, i, 0].item():+.3f}  "
              f"forecast {forecast[0, i, 0].item():+.3f}")
    return error / zero


if __name__ == "__main__":
    main()
