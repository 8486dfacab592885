"""Benchmark: 10 seeds of an MLP trained as one vectorised group, one at a time, and as a plain loop.

    python -m tests.bench.replicas_bench [--device cuda]

Same work in all three: digits (64 features, 10 classes), an MLP 64 -> 64 -> 64,
Adam lr 1e-3, 20 epochs, batch 128, seeds 0..9. The plain loop is what a user
would write: nn.Sequential and a shuffling DataLoader, one seed after another.
Prints wall times and the ratios to the plain loop, all measured in this run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from homog.runtime.training import TrainData, train_group

SEEDS = list(range(10))
EPOCHS, BATCH, LR = 20, 128, 1e-3


def _learner() -> dict:
    return {
        "kind": "model",
        "inputs": ["x"],
        "arch": {"name": "mlp", "params": {"hidden": [64, 64], "dropout": 0.0, "activation": "relu"}},
        "augment": {"x": []},
        "training": {
            "epochs": EPOCHS,
            "batch_size": BATCH,
            "optimizer": {"name": "adam", "params": {"lr": LR, "weight_decay": 0.0}},
            "schedule": {"name": "constant", "params": {}},
            "early_stopping": None,
            "gradient_clip": None,
            "mixed_precision": False,
        },
    }


def plain_loop(x: torch.Tensor, y: torch.Tensor, device: torch.device) -> None:
    for seed in SEEDS:
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        ).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True
        )
        for _ in range(EPOCHS):
            for xb, yb in loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                optimizer.step()


def timed(work) -> float:
    start = time.perf_counter()
    work()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    device = torch.device(parser.parse_args().device)
    digits = load_digits()
    x = (digits.data - digits.data.mean(0)) / (digits.data.std(0) + 1e-9)
    train = np.arange(len(x))[: int(0.75 * len(x))]
    data = TrainData(
        [torch.tensor(x, dtype=torch.float32, device=device)],
        torch.tensor(digits.target, device=device),
        train,
        np.array([], dtype=int),
        10,
        [(64,)],
    )
    xt, yt = data.inputs[0][train], data.labels[train]
    plain_loop(xt[:256], yt[:256], device)  # warm-up
    plain = timed(lambda: plain_loop(xt, yt, device))
    vectorised = timed(lambda: train_group(_learner(), data, SEEDS, 1.0, 1.0, device))
    one_at_a_time = timed(lambda: [train_group(_learner(), data, [s], 1.0, 1.0, device) for s in SEEDS])
    print(f"device: {device}, torch threads: {torch.get_num_threads()}")
    print(f"10 seeds x {EPOCHS} epochs, batch {BATCH}, {len(train)} examples")
    print(f"{'plain PyTorch loop (baseline)':<34} {plain:8.2f} s   1.00")
    print(f"{'homogc, one replica at a time':<34} {one_at_a_time:8.2f} s   {one_at_a_time / plain:.2f}")
    print(f"{'homogc, 10 replicas vectorised':<34} {vectorised:8.2f} s   {vectorised / plain:.2f}")
    print(f"vectorised / one at a time: {vectorised / one_at_a_time:.2f}")


if __name__ == "__main__":
    main()
