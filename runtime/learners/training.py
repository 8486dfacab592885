"""The one training loop of torch learners: a group of replicas, one replica being a group of one.

Every replica has its own training subset (its seed's data fraction), batch
order, augmentation draws and dropout masks (from its generator), its own loss
and gradient clipping, and its own early stopping; their losses are summed
for one backward pass, which leaves each replica's gradients its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from homog.compiler.ir import TrainingIR

from . import Trained
from .augment import augment
from .optimizers import make_optimizer
from .schedules import learning_rate_factor, stopper


@dataclass
class Batches:
    """A fold's data on the device, with each replica's training indices."""

    inputs: list[torch.Tensor]  # one per modality, every example
    labels: torch.Tensor
    trains: list[torch.Tensor]  # per replica
    validation: torch.Tensor
    augments: list[list] = field(default_factory=list)  # per modality


def train(
    model: nn.Module,
    training: TrainingIR,
    batches: Batches,
    on_epoch: Callable[[int, int], None] | None = None,
) -> list[Trained]:
    """Train every replica of `model` (a StackedNet or a Single) and return each one's result;
    `on_epoch(done, total)` hears of each epoch finished (progress display)."""
    device = batches.labels.device
    replicas = len(model.generators)
    optimizer = make_optimizer(model.parameters(), training.optimizer)
    base_lr = optimizer.lr
    stop = stopper(training.early_stopping, replicas)
    curves: list[dict[str, list[float]]] = [{"loss": [], "accuracy": []} for _ in range(replicas)]
    for epoch in range(training.epochs):
        optimizer.lr = base_lr * learning_rate_factor(training.schedule, epoch, training.epochs)
        losses, accuracies = _epoch(model, optimizer, training, batches, device)
        for r in range(replicas):
            if stop.stopped_at[r] is None:
                curves[r]["loss"].append(losses[r])
                curves[r]["accuracy"].append(accuracies[r])
        if len(batches.validation):
            val_losses, val_accuracies = _validate(model, batches)
            for r in range(replicas):
                if stop.stopped_at[r] is None:
                    curves[r].setdefault("val_loss", []).append(val_losses[r])
                    curves[r].setdefault("val_accuracy", []).append(val_accuracies[r])
            stop.update(epoch, val_losses, val_accuracies, model.state_of)
            if stop.all_stopped:
                break
        if on_epoch is not None:
            on_epoch(epoch + 1, training.epochs)
    return [
        Trained(
            stop.snapshots[r] or model.state_of(r), curves[r], model.parameter_count(), len(curves[r]["loss"])
        )
        for r in range(replicas)
    ]


def _epoch(model, optimizer, training: TrainingIR, batches: Batches, device) -> tuple[list, list]:
    model.train()
    generators = model.generators
    n = len(batches.trains[0])
    orders = torch.stack(
        [
            t[torch.randperm(n, generator=g, device=device)]
            for t, g in zip(batches.trains, generators, strict=True)
        ]
    )
    loss_sum = torch.zeros(len(generators), device=device)
    correct = torch.zeros(len(generators), device=device)
    use_amp = training.mixed_precision and device.type == "cuda"
    for start in range(0, n, training.batch_size):
        index = orders[:, start : start + training.batch_size]
        # Augment in the modality's own shape (a flip needs the image), each replica from its generator.
        xs = [
            torch.stack([augment(x[index[r]], aug, g) for r, g in enumerate(generators)]) if aug else x[index]
            for x, aug in zip(batches.inputs, batches.augments, strict=True)
        ]
        yb = batches.labels[index]
        with torch.autocast(device.type, enabled=use_amp):
            logits, _ = model(xs)
            per_replica = nn.functional.cross_entropy(
                logits.transpose(1, 2).float(), yb, reduction="none"
            ).mean(dim=1)
        optimizer.zero_grad()
        per_replica.sum().backward()
        if training.gradient_clip:
            model.clip_gradients(training.gradient_clip)
        optimizer.step()
        loss_sum += per_replica.detach() * index.shape[1]
        correct += (logits.argmax(dim=2) == yb).sum(dim=1).float().detach()
    return (loss_sum / n).tolist(), (correct / n).tolist()


def _validate(model, batches: Batches, block: int = 8192) -> tuple[list[float], list[float]]:
    """Each replica's validation loss and accuracy, a block of examples at a time, without autograd;
    the examples are the same for every replica (expanded, not copied)."""
    replicas = len(model.generators)
    model.eval()
    n = len(batches.validation)
    losses = torch.zeros(replicas, device=batches.labels.device, dtype=torch.float64)
    correct = torch.zeros(replicas, device=batches.labels.device, dtype=torch.float64)
    with torch.inference_mode():
        for start in range(0, n, block):
            chosen = batches.validation[start : start + block]
            xs = [x[chosen].unsqueeze(0).expand(replicas, *x[chosen].shape) for x in batches.inputs]
            logits, _ = model(xs)
            yv = batches.labels[chosen].expand(replicas, -1)
            losses += (
                nn.functional.cross_entropy(logits.transpose(1, 2), yv, reduction="none").double().sum(1)
            )
            correct += (logits.argmax(dim=2) == yv).double().sum(dim=1)
    return (losses / n).tolist(), (correct / n).tolist()
