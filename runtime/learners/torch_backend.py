"""Torch learners: the network of a learner, as a group of replicas, trained by the one loop."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from homog.compiler.ir import CallIR, FitParams, LearnerIR

from ..architectures.fusions import Fusion, build
from . import Outputs, Trained, TrainingData, trains_together
from .replicas import Single, StackedNet, StackShape
from .training import Batches, train


def network(learner: LearnerIR, shapes: list[tuple[int, ...]], classes: int) -> nn.Module:
    """One replica's network, as the registry's implementations build it."""
    if learner.kind == "model":
        from ..backbones.network import backbone_network  # a pretrained backbone, probed or adapted

        return backbone_network(learner.arch, shapes[0], classes) or build(learner.arch, shapes[0], classes)
    return Fusion(shapes, classes, learner.strategy, learner.encoder, learner.head)


def _stack(arch: CallIR, in_features: int, classes: int | None) -> StackShape:
    p = arch.params
    sizes = [in_features, *p["hidden"]] + ([classes] if classes is not None else [])
    return StackShape(sizes, p["dropout"], p["activation"], ends_linear=classes is not None)


def replica_model(
    learner: LearnerIR, shapes: list[tuple[int, ...]], classes: int, seeds: list[int | None], device
) -> nn.Module:
    """The replicas of `seeds` as one model: stacked where the learner allows it, else a group of one."""
    if trains_together(learner):
        if learner.kind == "model":
            encoders, head = [], _stack(learner.arch, math.prod(shapes[0]), classes)
        else:
            encoders = [_stack(learner.encoder, math.prod(shape), None) for shape in shapes]
            head = _stack(learner.head, sum(e.sizes[-1] for e in encoders), classes)
        return StackedNet([seed or 0 for seed in seeds], encoders, head, device).to(device)
    (seed,) = seeds
    if seed is not None:
        torch.manual_seed(seed)  # initial weights and dropout masks
    return Single(network(learner, shapes, classes).to(device), seed or 0, device)


def initialise(model: nn.Module, state: dict[str, np.ndarray]) -> None:
    """Every replica starts from `state` (another model's trained weights) wherever a weight has the
    same name and shape; the others (an output layer for another number of classes) keep their own
    initial values. Refused when nothing matches."""
    for r in range(len(model.generators)):
        own = model.state_of(r)
        kept = {k: state[k] if k in state and state[k].shape == v.shape else v for k, v in own.items()}
        if all(kept[k] is own[k] for k in own):
            from .. import errors

            raise errors.RunError(
                errors.INIT_NOTHING_MATCHES,
                "no weight of the model named by `init` fits this model",
                "initialise from a model of the same architecture and input shape",
            )
        model.load_replica(r, kept)


class TorchLearner:
    def __init__(self, params: FitParams, device: torch.device) -> None:
        self.params, self.device = params, device
        self.initial: dict[str, np.ndarray] | None = None  # weights to start from (`init = NAME`)

    def _tensors(self, arrays: list[np.ndarray]) -> list[torch.Tensor]:
        return [torch.as_tensor(x, dtype=torch.float32, device=self.device) for x in arrays]

    def fit(self, data: TrainingData, seeds: list[int]) -> list[Trained]:
        learner, device = self.params.learner, self.device
        model = replica_model(learner, data.shapes, data.classes, seeds, device)
        if self.initial is not None:
            initialise(model, self.initial)
        batches = Batches(
            self._tensors(data.inputs),
            torch.as_tensor(data.labels, device=device),
            [torch.as_tensor(data.train(self.params.data_fraction, s), device=device) for s in seeds],
            torch.as_tensor(data.split.validation, device=device),
            [self.params.augment[name] for name in learner.inputs],
        )
        trained = train(model, learner.training, batches)
        from ..backbones.network import frozen_parameters

        frozen = frozen_parameters(model)
        for replica in trained:  # `parameters`: those trained; `frozen`: those held fixed
            replica.parameters, replica.frozen = replica.parameters - frozen, frozen
        return trained

    def predict(
        self, trained: Trained, data: TrainingData, x: list[np.ndarray], layers: list[str]
    ) -> Outputs:
        model = replica_model(self.params.learner, data.shapes, data.classes, [None], self.device)
        model.load_replica(0, trained.state)
        model.eval()
        with torch.no_grad():
            logits, features = model([t.unsqueeze(0) for t in self._tensors(x)])
        logits, features = logits[0], features[0]
        probabilities = torch.softmax(logits.double(), dim=1).cpu().numpy()
        found = {"penultimate": features.float().cpu().numpy(), "logits": logits.float().cpu().numpy()}
        return Outputs(probabilities, {k: v for k, v in found.items() if k in layers})
