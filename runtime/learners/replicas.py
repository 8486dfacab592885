"""Replica models: R networks of one learner that train as one group.

Both kinds map one `(R, batch, *shape)` tensor per modality to logits
`(R, batch, classes)` and the penultimate representation, and each replica
draws everything random (initial weights, batch order, dropout, augmentation)
from its own generator, seeded by its seed, so a replica trained in a group
equals the same seed trained alone and does not depend on its group.

- `StackedNet`: an MLP, or MLP encoders concatenated under an MLP head, with
  weights stacked along a leading replica axis; every layer is one batched
  matrix product (`baddbmm`), the fastest form for small dense layers.
- `Single`: any other network, as a group of one (built under its seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@dataclass(frozen=True)
class StackShape:
    """Linear layers `sizes[0] -> sizes[1] -> ...`; an activation (and dropout) follows each layer,
    except the last when `ends_linear` (a classifier's output layer)."""

    sizes: list[int]
    dropout: float
    activation: str
    ends_linear: bool


class ReplicaStack(nn.Module):
    """One stack of linear layers for R replicas: weights (R, in, out), every layer one `baddbmm`."""

    def __init__(self, shape: StackShape, generators: list[torch.Generator]) -> None:
        super().__init__()
        self.shape = shape
        self.generators = generators
        self.activation = {"relu": torch.relu, "gelu": nn.functional.gelu, "tanh": torch.tanh}[
            shape.activation
        ]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(shape.sizes, shape.sizes[1:], strict=False):
            # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, per replica.
            bound = 1 / math.sqrt(fan_in)
            w = torch.stack([_uniform((fan_in, fan_out), bound, g) for g in generators])
            b = torch.stack([_uniform((1, fan_out), bound, g) for g in generators])
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, batch, in) -> (output, input of the last layer)."""
        h = penultimate = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            penultimate = h
            h = torch.baddbmm(b, h, w)
            if i == last and self.shape.ends_linear:
                break
            h = self.activation(h)
            if self.training and self.shape.dropout > 0:
                keep = torch.stack(
                    [torch.rand(h.shape[1:], generator=g, device=h.device) >= self.shape.dropout
                     for g in self.generators]
                )  # fmt: skip
                h = h * keep / (1 - self.shape.dropout)
        return h, penultimate


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, device=generator.device) * 2 - 1) * bound


class StackedNet(nn.Module):
    """R independent MLPs (or MLP encoders, concatenation and an MLP head) with stacked weights.

    Each replica's generator draws, in order, the encoders' then the head's initial weights, and
    later its dropout masks.
    """

    def __init__(
        self, seeds: list[int], encoders: list[StackShape], head: StackShape, device: torch.device
    ) -> None:
        super().__init__()
        self.generators = [generator(seed, device) for seed in seeds]
        self.encoders = nn.ModuleList(ReplicaStack(shape, self.generators) for shape in encoders)
        self.head = ReplicaStack(head, self.generators)

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = [x.flatten(2) for x in inputs]
        if self.encoders:
            x = torch.cat([enc(x)[0] for enc, x in zip(self.encoders, inputs, strict=True)], dim=2)
        else:
            (x,) = inputs
        return self.head(x)

    def _stacks(self) -> list[tuple[str, ReplicaStack]]:
        # The head's names are a plain MLP's, so a model's weights read the same in either form.
        return [(f"encoder.{m}.", enc) for m, enc in enumerate(self.encoders)] + [("", self.head)]

    def state_of(self, r: int) -> dict[str, np.ndarray]:
        state = {}
        for prefix, stack in self._stacks():
            for i, (w, b) in enumerate(zip(stack.weights, stack.biases, strict=True)):
                state[f"{prefix}weight.{i}"] = w[r].detach().cpu().numpy().copy()
                state[f"{prefix}bias.{i}"] = b[r].detach().cpu().numpy().copy()
        return state

    def load_replica(self, r: int, state: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for prefix, stack in self._stacks():
                for i, (w, b) in enumerate(zip(stack.weights, stack.biases, strict=True)):
                    w[r].copy_(torch.from_numpy(state[f"{prefix}weight.{i}"]))
                    b[r].copy_(torch.from_numpy(state[f"{prefix}bias.{i}"]))

    def parameter_count(self) -> int:
        return sum(p[0].numel() for p in self.parameters())

    def clip_gradients(self, max_norm: float) -> None:
        """Each replica's gradient norm clipped on its own, as `clip_grad_norm_` would alone."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        norms = torch.sqrt(sum((g.flatten(1) ** 2).sum(dim=1) for g in grads))
        scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


class Single(nn.Module):
    """Any network as a group of one replica: inputs (1, batch, *shape), outputs (1, batch, ...)."""

    def __init__(self, network: nn.Module, seed: int, device: torch.device) -> None:
        super().__init__()
        self.network = network
        self.generators = [generator(seed, device)]

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.network(*(x[0] for x in inputs))
        return logits.unsqueeze(0), features.unsqueeze(0)

    def state_of(self, r: int) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.network.state_dict().items()}

    def load_replica(self, r: int, state: dict[str, np.ndarray]) -> None:
        self.network.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def clip_gradients(self, max_norm: float) -> None:
        nn.utils.clip_grad_norm_(self.network.parameters(), max_norm)
