"""Training torch learners: one replica at a time, or a group of seeds as one vectorised fit.

Replicas that differ only in seed are trained together when the learner is an
MLP, or MLP encoders concatenated under an MLP head: their
weights are stacked along a leading replica axis and every layer is one
batched matrix product. Each replica draws its initial weights, its batch
order and its dropout masks from its own generator, seeded by its seed, and
its loss and gradient clipping are its own, so a replica trained in a group
of ten gives the same weights as trained alone (a group of one). Other
learners are trained one replica at a time, seeded the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import subsample
from .networks import Fusion, build, scaled
from .optimizers import make_optimizer
from .transforms import augment

Call = dict[str, Any]


@dataclass
class Replica:
    """What training one seed gives: the weights, the curves, and validation predictions."""

    state: dict[str, np.ndarray]
    curves: dict[str, list[float]]
    parameters: int
    epochs: int


@dataclass
class TrainData:
    inputs: list[torch.Tensor]  # one per modality, all examples, on the device
    labels: torch.Tensor
    train: np.ndarray  # indices
    validation: np.ndarray
    classes: int
    shapes: list[tuple[int, ...]] = field(default_factory=list)


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def learning_rate_factor(schedule: Call, epoch: int, epochs: int) -> float:
    name, p = schedule["name"], schedule["params"]
    if name == "cosine":
        if epoch < p["warmup"]:
            return (epoch + 1) / (p["warmup"] + 1)
        progress = (epoch - p["warmup"]) / max(1, epochs - p["warmup"])
        return 0.5 * (1 + math.cos(math.pi * progress))
    if name == "step":
        return p["gamma"] ** (epoch // p["every"])
    return 1.0


class _Stopper:
    """Early stopping per replica on the validation split; remembers each replica's best weights."""

    def __init__(self, rule: Call | None, replicas: int) -> None:
        self.rule = rule
        self.best = [math.inf] * replicas
        self.wait = [0] * replicas
        self.stopped_at: list[int | None] = [None] * replicas
        self.snapshots: list[dict[str, np.ndarray] | None] = [None] * replicas

    def update(self, epoch: int, losses: list[float], accuracies: list[float], snapshot) -> None:
        if self.rule is None:
            return
        p = self.rule["params"]
        scores = losses if p["monitor"] == "val_loss" else [-a for a in accuracies]
        for r, score in enumerate(scores):
            if self.stopped_at[r] is not None:
                continue
            if score < self.best[r] - p["min_delta"]:
                self.best[r], self.wait[r] = score, 0
                self.snapshots[r] = snapshot(r)
            else:
                self.wait[r] += 1
                if self.wait[r] >= p["epochs"]:
                    self.stopped_at[r] = epoch

    @property
    def all_stopped(self) -> bool:
        return self.rule is not None and all(s is not None for s in self.stopped_at)


# --------------------------------------------------------------------------- vectorised replicas


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


class ReplicaNet(nn.Module):
    """R independent networks with stacked weights: an MLP, or MLP encoders, concatenation and an MLP head.

    `forward` maps one (R, batch, features) tensor per modality to logits (R, batch, classes) and
    the penultimate representation. Each replica's generator draws, in order, the encoders' then the
    head's initial weights, and later its dropout masks, so a replica does not depend on its group.
    """

    def __init__(
        self, seeds: list[int], encoders: list[StackShape], head: StackShape, device: torch.device
    ) -> None:
        super().__init__()
        self.generators = [_generator(seed, device) for seed in seeds]
        self.encoders = nn.ModuleList(ReplicaStack(shape, self.generators) for shape in encoders)
        self.head = ReplicaStack(head, self.generators)

    @property
    def replicas(self) -> int:
        return len(self.generators)

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
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


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, device=generator.device) * 2 - 1) * bound


def _mlp_stack(arch: Call, in_features: int, classes: int | None, width: float) -> StackShape:
    p = arch["params"]
    sizes = [in_features, *(scaled(h, width) for h in p["hidden"])]
    if classes is not None:
        sizes.append(classes)
    return StackShape(sizes, p["dropout"], p["activation"], ends_linear=classes is not None)


def replica_shapes(
    learner: Call, shapes: list[tuple[int, ...]], classes: int, width: float
) -> tuple[list[StackShape], StackShape]:
    """The stacks of a vectorisable learner: (encoders, head)."""
    if learner["kind"] == "model":
        return [], _mlp_stack(learner["arch"], math.prod(shapes[0]), classes, width)
    encoders = [_mlp_stack(learner["encoder"], math.prod(shape), None, width) for shape in shapes]
    fused = sum(e.sizes[-1] for e in encoders)
    return encoders, _mlp_stack(learner["head"], fused, classes, width)


def train_group(
    learner: Call, data: TrainData, seeds: list[int], width: float, fraction: float, device: torch.device
) -> list[Replica]:
    """Train one network per seed, all at once: an MLP, or MLP encoders concatenated under an MLP head."""
    training = learner["training"]
    augments = [learner["augment"][name] for name in learner["inputs"]]
    model = ReplicaNet(seeds, *replica_shapes(learner, data.shapes, data.classes, width), device)
    model.to(device)
    labels_np = data.labels.cpu().numpy()
    trains = [torch.as_tensor(subsample(data.train, labels_np, fraction, s), device=device) for s in seeds]
    optimizer = make_optimizer(model.parameters(), training["optimizer"])
    base_lr = optimizer.lr
    stopper = _Stopper(training["early_stopping"], len(seeds))
    validation = torch.as_tensor(data.validation, device=device)
    curves: list[dict[str, list[float]]] = [{"loss": [], "accuracy": []} for _ in seeds]
    batch = training["batch_size"]
    epochs = training["epochs"]
    n = len(trains[0])
    use_amp = training["mixed_precision"] and device.type == "cuda"
    for epoch in range(epochs):
        factor = learning_rate_factor(training["schedule"], epoch, epochs)
        optimizer.lr = base_lr * factor
        model.train()
        orders = torch.stack(
            [
                t[torch.randperm(n, generator=g, device=device)]
                for t, g in zip(trains, model.generators, strict=True)
            ]
        )
        loss_sum = torch.zeros(len(seeds), device=device)
        correct = torch.zeros(len(seeds), device=device)
        for start in range(0, n, batch):
            index = orders[:, start : start + batch]
            # Augment in the modality's own shape (a flip needs the image), then flatten for the MLP.
            xbs = [
                (
                    torch.stack([augment(x[index[r]], aug, g) for r, g in enumerate(model.generators)])
                    if aug
                    else x[index]
                ).flatten(2)
                for x, aug in zip(data.inputs, augments, strict=True)
            ]
            yb = data.labels[index]
            with torch.autocast(device.type, enabled=use_amp):
                logits, _ = model(xbs)
                per_replica = nn.functional.cross_entropy(
                    logits.transpose(1, 2).float(), yb, reduction="none"
                ).mean(dim=1)
            optimizer.zero_grad()
            per_replica.sum().backward()
            if training["gradient_clip"]:
                _clip_per_replica(model, training["gradient_clip"])
            optimizer.step()
            loss_sum += per_replica.detach() * index.shape[1]
            correct += (logits.argmax(dim=2) == yb).sum(dim=1).float().detach()
        for r in range(len(seeds)):
            if stopper.stopped_at[r] is None:
                curves[r]["loss"].append(float(loss_sum[r] / n))
                curves[r]["accuracy"].append(float(correct[r] / n))
        if len(validation):
            model.eval()
            with torch.no_grad():
                logits, _ = model([x[validation].flatten(1).expand(len(seeds), -1, -1) for x in data.inputs])
                yv = data.labels[validation].expand(len(seeds), -1)
                losses = nn.functional.cross_entropy(logits.transpose(1, 2), yv, reduction="none").mean(dim=1)
                accuracies = (logits.argmax(dim=2) == yv).float().mean(dim=1)
            for r in range(len(seeds)):
                if stopper.stopped_at[r] is None:
                    curves[r].setdefault("val_loss", []).append(float(losses[r]))
                    curves[r].setdefault("val_accuracy", []).append(float(accuracies[r]))
            stopper.update(epoch, losses.tolist(), accuracies.tolist(), model.state_of)
            if stopper.all_stopped:
                break
    return [
        Replica(
            stopper.snapshots[r] or model.state_of(r),
            curves[r],
            model.parameter_count(),
            len(curves[r]["loss"]),
        )
        for r in range(len(seeds))
    ]


def _clip_per_replica(model: ReplicaNet, max_norm: float) -> None:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norms = torch.sqrt(sum((g.flatten(1) ** 2).sum(dim=1) for g in grads))
    scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


def replica_outputs(
    learner: Call,
    state: dict[str, np.ndarray],
    inputs: list[torch.Tensor],
    width: float,
    device: torch.device,
):
    """Logits and penultimate features of one trained replica of a vectorisable learner."""
    shapes = [tuple(x.shape[1:]) for x in inputs]
    classes = state[f"weight.{sum(k.startswith('weight.') for k in state) - 1}"].shape[1]
    model = ReplicaNet([0], *replica_shapes(learner, shapes, classes, width), device).to(device)
    model.load_replica(0, state)
    model.eval()
    with torch.no_grad():
        logits, features = model([x.flatten(1).unsqueeze(0) for x in inputs])
    return logits[0], features[0]


# --------------------------------------------------------------------------- one replica at a time


def build_network(learner: Call, shapes: list[tuple[int, ...]], classes: int, width: float) -> nn.Module:
    if learner["kind"] == "model":
        return build(learner["arch"], shapes[0], classes, width)
    return Fusion(shapes, classes, learner["strategy"], learner["encoder"], learner["head"], width)


def train_one(
    learner: Call, data: TrainData, seed: int, width: float, fraction: float, device: torch.device
) -> Replica:
    torch.manual_seed(seed)  # initial weights and dropout masks
    model = build_network(learner, data.shapes, data.classes, width).to(device)
    generator = _generator(seed, device)
    training = learner["training"]
    labels_np = data.labels.cpu().numpy()
    train = torch.as_tensor(subsample(data.train, labels_np, fraction, seed), device=device)
    validation = torch.as_tensor(data.validation, device=device)
    optimizer = make_optimizer(model.parameters(), training["optimizer"])
    base_lr = optimizer.lr
    stopper = _Stopper(training["early_stopping"], 1)
    curves: dict[str, list[float]] = {"loss": [], "accuracy": []}
    epochs, batch, n = training["epochs"], training["batch_size"], len(train)
    use_amp = training["mixed_precision"] and device.type == "cuda"
    augments = [learner["augment"][name] for name in learner["inputs"]]

    def snapshot(_r: int) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}

    for epoch in range(epochs):
        factor = learning_rate_factor(training["schedule"], epoch, epochs)
        optimizer.lr = base_lr * factor
        model.train()
        order = train[torch.randperm(n, generator=generator, device=device)]
        loss_sum, correct = 0.0, 0
        for start in range(0, n, batch):
            index = order[start : start + batch]
            xs = [
                augment(x[index], aug, generator) if aug else x[index]
                for x, aug in zip(data.inputs, augments, strict=True)
            ]
            yb = data.labels[index]
            with torch.autocast(device.type, enabled=use_amp):
                logits, _ = model(*xs)
                loss = nn.functional.cross_entropy(logits.float(), yb)
            optimizer.zero_grad()
            loss.backward()
            if training["gradient_clip"]:
                nn.utils.clip_grad_norm_(model.parameters(), training["gradient_clip"])
            optimizer.step()
            loss_sum += float(loss.detach()) * len(index)
            correct += int((logits.argmax(dim=1) == yb).sum())
        curves["loss"].append(loss_sum / n)
        curves["accuracy"].append(correct / n)
        if len(validation):
            model.eval()
            with torch.no_grad():
                logits, _ = model(*(x[validation] for x in data.inputs))
                yv = data.labels[validation]
                val_loss = float(nn.functional.cross_entropy(logits, yv))
                val_accuracy = float((logits.argmax(dim=1) == yv).float().mean())
            curves.setdefault("val_loss", []).append(val_loss)
            curves.setdefault("val_accuracy", []).append(val_accuracy)
            stopper.update(epoch, [val_loss], [val_accuracy], snapshot)
            if stopper.all_stopped:
                break
    state = stopper.snapshots[0] or snapshot(0)
    return Replica(state, curves, sum(p.numel() for p in model.parameters()), len(curves["loss"]))


def network_outputs(
    learner: Call,
    state: dict[str, np.ndarray],
    shapes,
    classes: int,
    width: float,
    inputs: list[torch.Tensor],
    device: torch.device,
):
    model = build_network(learner, shapes, classes, width).to(device)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        return model(*inputs)
