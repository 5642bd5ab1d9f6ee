"""Train a small convnet to tell six kinds of synthetic image apart, with a DataLoader.

    python -m jtorch examples/convnet.py [--epochs N] [--workers N]

A plain PyTorch script (run it with `python` for real PyTorch). Each 1x24x24 image is
one of six shapes (square or its outline, disc or ring, cross, diagonal) at a random place
and size, under heavy noise. A seeded `Dataset` draws them with numpy and a `DataLoader`
(worker processes with `--workers`) batches them. The model uses `BatchNorm2d`; `OneCycleLR` sets the learning rate;
each epoch ends with the accuracy on a held-out set in `eval()` mode.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

CLASSES = ("square", "filled square", "ring", "disc", "cross", "diagonal")
SIZE = 24
NOISE = 0.6


def draw(kind: int, rng: np.random.Generator) -> np.ndarray:
    """One image of class `kind`, float32: a shape of ones on zeros, plus Gaussian noise."""
    radius = rng.integers(3, 9)
    cy, cx = rng.integers(radius, SIZE - radius, size=2)
    y, x = np.mgrid[:SIZE, :SIZE]
    dy, dx = y - cy, x - cx
    box, dist2 = np.maximum(abs(dy), abs(dx)), dy ** 2 + dx ** 2
    shape = [box == radius, box <= radius,
             abs(np.sqrt(dist2) - radius) < 0.5, dist2 <= radius ** 2,
             ((dy == 0) | (dx == 0)) & (box <= radius),
             (dy == dx) & (box <= radius)][kind]
    image = shape.astype(np.float32) + rng.normal(0, NOISE, (SIZE, SIZE)).astype(np.float32)
    return image[None]                                     # one channel


class Shapes(Dataset):
    """`count` images, each drawn from its own seed so workers and reruns agree."""

    def __init__(self, count: int, seed: int):
        self.count, self.seed = count, seed

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, index])
        label = int(rng.integers(len(CLASSES)))
        return draw(label, rng), label


class ConvNet(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        def stage(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))
        self.features = nn.Sequential(stage(1, 16), stage(16, 32), stage(32, 64))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                        nn.Linear(64 * (SIZE // 8) ** 2, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


@torch.no_grad()
def accuracy(model, loader, device) -> float:
    model.eval()
    correct = total = 0
    for images, labels in loader:
        correct += (model(images.to(device)).argmax(1).cpu() == labels).sum().item()
        total += len(labels)
    model.train()
    return correct / total


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-size", type=int, default=4096)
    parser.add_argument("--test-size", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    workers = {"num_workers": args.workers, "persistent_workers": args.workers > 0}
    train = DataLoader(Shapes(args.train_size, seed=args.seed), batch_size=args.batch_size,
                       shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(args.seed), **workers)
    test = DataLoader(Shapes(args.test_size, seed=args.seed + 1), batch_size=256, **workers)

    model = ConvNet(len(CLASSES)).to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=5e-4, nesterov=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train))
    print(f"{len(train.dataset)} training and {len(test.dataset)} test images, "
          f"{len(train)} batches an epoch, {args.workers} loader workers, on {args.device}")

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for step, (images, labels) in enumerate(train, 1):
            images, labels = images.to(args.device), labels.to(args.device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
            if step % 16 == 0:
                print(f"epoch {epoch}  batch {step:3d}/{len(train)}  loss {loss.item():.3f}  "
                      f"lr {schedule.get_last_lr()[0]:.4f}", flush=True)
        test_accuracy = accuracy(model, test, args.device)
        print(f"epoch {epoch}  mean loss {total / len(train):.3f}  "
              f"test accuracy {test_accuracy:.3f}  {time.perf_counter() - start:5.1f} s",
              flush=True)
    return test_accuracy


if __name__ == "__main__":
    main()
