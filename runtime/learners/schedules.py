"""Learning-rate schedules and early stopping, as the registry names them."""

from __future__ import annotations

import math

import numpy as np

from homog.compiler.ir import CallIR

from ..registry import implementation, implements


@implements("schedule", "constant")
def constant(epoch: int, epochs: int) -> float:
    return 1.0


@implements("schedule", "cosine")
def cosine(epoch: int, epochs: int, warmup: int) -> float:
    """Linear warm-up over `warmup` epochs, then cosine decay to zero."""
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    progress = (epoch - warmup) / max(1, epochs - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


@implements("schedule", "step")
def step(epoch: int, epochs: int, every: int, gamma: float) -> float:
    return gamma ** (epoch // every)


def learning_rate_factor(schedule: CallIR, epoch: int, epochs: int) -> float:
    return implementation("schedule", schedule.name)(epoch, epochs, **schedule.params)


@implements("stopping", "patience")
class Patience:
    """Early stopping per replica on the validation split; remembers each replica's best weights."""

    def __init__(self, replicas: int, epochs: int, min_delta: float, monitor: str) -> None:
        self.patience, self.min_delta, self.monitor = epochs, min_delta, monitor
        self.best = [math.inf] * replicas
        self.wait = [0] * replicas
        self.stopped_at: list[int | None] = [None] * replicas
        self.snapshots: list[dict[str, np.ndarray] | None] = [None] * replicas

    def update(self, epoch: int, losses: list[float], accuracies: list[float], snapshot) -> None:
        scores = losses if self.monitor == "val_loss" else [-a for a in accuracies]
        for r, score in enumerate(scores):
            if self.stopped_at[r] is not None:
                continue
            if score < self.best[r] - self.min_delta:
                self.best[r], self.wait[r] = score, 0
                self.snapshots[r] = snapshot(r)
            else:
                self.wait[r] += 1
                if self.wait[r] >= self.patience:
                    self.stopped_at[r] = epoch

    @property
    def all_stopped(self) -> bool:
        return all(s is not None for s in self.stopped_at)


class Never:
    """No early stopping: every replica trains every epoch."""

    def __init__(self, replicas: int) -> None:
        self.stopped_at: list[int | None] = [None] * replicas
        self.snapshots: list[dict[str, np.ndarray] | None] = [None] * replicas
        self.all_stopped = False

    def update(self, epoch: int, losses: list[float], accuracies: list[float], snapshot) -> None:
        pass


def stopper(rule: CallIR | None, replicas: int) -> Patience | Never:
    if rule is None:
        return Never(replicas)
    return implementation("stopping", rule.name)(replicas, **rule.params)
