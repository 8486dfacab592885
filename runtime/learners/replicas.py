"""Replica models: R networks of one learner that train as one group.

Both kinds map one `(R, batch, *shape)` tensor per modality to logits
`(R, batch, classes)` and the penultimate representation, and each replica
draws everything random (initial weights, batch order, dropout, augmentation)
from its own generator, seeded by its seed, so a replica trained in a group
equals the same seed trained alone and does not depend on its group.

- `StackedNet`: an MLP, or MLP encoders concatenated under an MLP head, with
  weights stacked along a leading replica axis; every layer is one batched
  matrix product (`baddbmm`), the fastest form for small dense layers (no
  per-operation dispatch of `vmap`, one kernel per layer for all replicas).
- `Vectorised`: any other network (convolutions, recurrent cells, attention,
  every fusion strategy) with its parameters stacked (`stack_module_state`) and
  one forward pass for all replicas: `vmap` over `functional_call`. `vmap` turns
  a convolution into one grouped convolution, a linear layer into one batched
  matrix product, and so on for every operation, which is what one would write
  by hand per layer kind; writing it once keeps each architecture one module.
  `vmap` cannot draw from a replica's own generator, so dropout masks are drawn
  outside it (each replica from its generator, in the order the network calls
  its dropout modules) and handed in as batched inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
        clip_per_replica(self.parameters(), max_norm)


def clip_per_replica(parameters, max_norm: float) -> None:
    """Each replica's gradient norm (over all its parameters) clipped on its own, as
    `clip_grad_norm_` would clip it alone; the leading axis of every parameter is the replica's."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = torch.sqrt(sum((g.flatten(1) ** 2).sum(dim=1) for g in grads))
    scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


class Dropout(nn.Module):
    """`nn.Dropout` whose masks come from outside: a `Vectorised` group draws them from each
    replica's generator. `tape` records the shapes the network's dropouts see (per example) and
    hands each call its mask, in call order."""

    def __init__(self, p: float, tape: _Tape) -> None:
        super().__init__()
        self.p, self.tape = p, tape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.tape.recording:
            self.tape.sites.append((self.p, tuple(x.shape[1:])))
            return x
        return x * self.tape.masks.pop(0)


class _Tape:
    def __init__(self) -> None:
        self.recording = False
        self.sites: list[tuple[float, tuple[int, ...]]] = []  # (p, shape of one example), call order
        self.masks: list[torch.Tensor] = []


def _drawn_dropout(module: nn.Module, tape: _Tape) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, nn.Dropout):
            setattr(module, name, Dropout(child.p, tape))
        else:
            _drawn_dropout(child, tape)
    return module


class Vectorised(nn.Module):
    """R replicas of any network, stacked: one `vmap`ped forward pass for the group.

    Replica r is `build()` under `torch.manual_seed(seeds[r])` (its initial weights, as it would
    be alone), and its generator draws its batch order, augmentations and dropout masks.
    """

    def __init__(
        self,
        build: Callable[[], nn.Module],
        seeds: list[int | None],
        shapes: list[tuple[int, ...]],
        device: torch.device,
    ) -> None:
        super().__init__()
        self.generators = [generator(seed or 0, device) for seed in seeds]
        self.tape = _Tape()
        networks = []
        for seed in seeds:
            with torch.random.fork_rng(devices=[]):
                if seed is not None:
                    torch.manual_seed(seed)
                networks.append(_drawn_dropout(build(), self.tape).to(device))
        self.names = [name for name, _ in networks[0].named_parameters()]
        self.stacked = nn.ParameterList(
            nn.Parameter(torch.stack([dict(n.named_parameters())[name].detach() for n in networks]))
            for name in self.names
        )
        # The network whose code runs with each replica's parameters; not a submodule (its own
        # parameters are not the group's).
        self._network = [networks[0]]
        self._probe(shapes, device)

    def _probe(self, shapes: list[tuple[int, ...]], device: torch.device) -> None:
        """Record the shapes of the dropout masks of one forward pass, per example."""
        network = self._network[0]
        network.train()
        self.tape.recording = True
        try:
            with torch.no_grad():
                network(*(torch.zeros((2, *s), device=device) for s in shapes))
        finally:
            self.tape.recording = False

    @property
    def network(self) -> nn.Module:
        return self._network[0]

    def train(self, mode: bool = True) -> Vectorised:
        super().train(mode)
        self._network[0].train(mode)
        return self

    def _masks(self, batch: int, device: torch.device) -> list[torch.Tensor]:
        """Each replica's dropout masks for a batch, from its generator, in call order, stacked."""
        per_replica = [
            [
                (torch.rand((batch, *shape), generator=g, device=device) >= p).float().div_(1 - p)
                for p, shape in self.tape.sites
            ]
            for g in self.generators
        ]
        return [torch.stack(site) for site in zip(*per_replica, strict=True)]

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, batch, *shape) per modality -> (logits, penultimate), each (R, batch, ...). An input
        expanded along the replica axis (stride 0: the same examples for every replica) is passed
        once, not R times."""
        from torch.func import functional_call, vmap

        network = self._network[0]
        shared = [x.dim() > 0 and x.stride(0) == 0 for x in inputs]
        xs = [x[0] if s else x for x, s in zip(inputs, shared, strict=True)]
        masks = self._masks(inputs[0].shape[1], inputs[0].device) if self.training and self.tape.sites else []

        def one(params: dict[str, torch.Tensor], masks: list[torch.Tensor], *xs: torch.Tensor):
            self.tape.masks = list(masks)
            return functional_call(network, params, xs)

        params = dict(zip(self.names, self.stacked, strict=True))
        in_dims = (0, 0, *(None if s else 0 for s in shared))
        try:
            return vmap(one, in_dims=in_dims)(params, masks, *xs)
        finally:
            self.tape.masks = []

    def state_of(self, r: int) -> dict[str, np.ndarray]:
        return {n: p[r].detach().cpu().numpy().copy() for n, p in zip(self.names, self.stacked, strict=True)}

    def load_replica(self, r: int, state: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for name, p in zip(self.names, self.stacked, strict=True):
                p[r].copy_(torch.from_numpy(state[name]))

    def parameter_count(self) -> int:
        return sum(p[0].numel() for p in self.stacked)

    def clip_gradients(self, max_norm: float) -> None:
        clip_per_replica(self.stacked, max_norm)


class Looped(nn.Module):
    """R replicas of a network that `vmap` cannot batch: one with buffers updated in training
    (batch norm's running statistics) or weights held frozen (a partly fine-tuned backbone). Each
    replica is its own network, run one after another; its dropout draws from its own random
    state, so its bits do not depend on the other members of the group."""

    def __init__(self, build: Callable[[], nn.Module], seeds: list[int | None], device: torch.device) -> None:
        super().__init__()
        self.generators = [generator(seed or 0, device) for seed in seeds]
        self.device = device
        self.networks = nn.ModuleList()
        self.states = []  # each replica's random state for its dropout
        for seed in seeds:
            with torch.random.fork_rng(devices=[]):
                if seed is not None:
                    torch.manual_seed(seed)
                self.networks.append(build().to(device))
                self.states.append(torch.get_rng_state())

    @property
    def network(self) -> nn.Module:
        return self.networks[0]

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, batch, *shape) per modality -> (logits, penultimate), each (R, batch, ...)."""
        outputs = []
        for r, network in enumerate(self.networks):
            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(self.states[r])
                outputs.append(network(*(x[r] for x in inputs)))
                self.states[r] = torch.get_rng_state()
        logits, features = zip(*outputs, strict=True)
        return torch.stack(logits), torch.stack(features)

    def state_of(self, r: int) -> dict[str, np.ndarray]:
        return {n: v.detach().cpu().numpy().copy() for n, v in self.networks[r].state_dict().items()}

    def load_replica(self, r: int, state: dict[str, np.ndarray]) -> None:
        own = self.networks[r].state_dict()
        self.networks[r].load_state_dict({n: torch.from_numpy(np.asarray(state[n])) for n in own})

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.networks[0].parameters())

    def clip_gradients(self, max_norm: float) -> None:
        for network in self.networks:  # each replica's norm on its own, as alone
            trainable = [p for p in network.parameters() if p.grad is not None]
            if trainable:
                torch.nn.utils.clip_grad_norm_(trainable, max_norm)
