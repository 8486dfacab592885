"""Torch learners: the network of a learner, as a group of replicas, trained by the one loop."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from homog.compiler.ir import CallIR, FitParams, LearnerIR

from ..architectures.fusions import Fusion, build
from . import Outputs, Trained, TrainingData
from .replicas import Looped, StackedNet, StackShape, Vectorised
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
    """The replicas of `seeds` as one model: MLPs (alone or concatenated under an MLP head) as
    batched matrix products, any other network vectorised by `torch.func`."""
    if _stacks_as_mlps(learner):
        if learner.kind == "model":
            encoders, head = [], _stack(learner.arch, math.prod(shapes[0]), classes)
        else:
            encoders = [_stack(learner.encoder, math.prod(shape), None) for shape in shapes]
            head = _stack(learner.head, sum(e.sizes[-1] for e in encoders), classes)
        return StackedNet([seed or 0 for seed in seeds], encoders, head, device).to(device)
    if _adapts_a_backbone(learner):
        return Looped(lambda: network(learner, shapes, classes), seeds, device)
    return Vectorised(lambda: network(learner, shapes, classes), seeds, shapes, device)


def _adapts_a_backbone(learner: LearnerIR) -> bool:
    """A pretrained backbone fine-tuned in place: buffers updated in training and frozen weights,
    which `vmap` cannot batch, so its replicas are networks of their own (a probe is only a head)."""
    from homog.compiler.backbones import is_probe
    from homog.compiler.registry import default_registry

    if learner.kind != "model":
        return False
    entry = default_registry().get("architecture", learner.arch.name)
    return bool(entry and entry.backbone) and not is_probe(learner.arch.params)


def _stacks_as_mlps(learner: LearnerIR) -> bool:
    if learner.kind == "model":
        return learner.arch.name == "mlp"
    return learner.strategy.name == "concat" and learner.encoder.name == "mlp" and learner.head.name == "mlp"


EVALUATION_BLOCK = 8192  # examples per forward pass when predicting


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

    def fit(
        self, data: TrainingData, seeds: list[int], on_epoch: Callable[[int, int], None] | None = None
    ) -> list[Trained]:
        """Train the replicas of `seeds`: one group, or on the CPU one group per core, each with one
        thread (see `placement.replica_groups`); a replica's result does not depend on its group.
        `on_epoch(done, total)` follows the first group (the groups move in step)."""
        from ..placement import replica_groups

        learner, device = self.params.learner, self.device
        inputs = self._tensors(data.inputs)
        labels = torch.as_tensor(data.labels, device=device)
        validation = torch.as_tensor(data.split.validation, device=device)
        augments = [self.params.augment[name] for name in learner.inputs]
        chunks = replica_groups(len(seeds), device, learner, data.shapes, data.classes, len(data.labels))
        jobs = []
        for chunk in chunks:  # built one after another: a replica's initial weights use torch's global seed
            chosen = [seeds[i] for i in chunk]
            trains = [
                torch.as_tensor(data.train(self.params.data_fraction, s), device=device) for s in chosen
            ]
            model = replica_model(learner, data.shapes, data.classes, chosen, device)
            if self.initial is not None:
                initialise(model, self.initial)
            jobs.append((model, Batches(inputs, labels, trains, validation, augments)))
        if device.type != "cpu":
            trained = [
                one
                for i, (model, batches) in enumerate(jobs)
                for one in train(model, learner.training, batches, on_epoch if i == 0 else None)
            ]
        else:
            trained = [one for part in _in_threads(jobs, learner.training, on_epoch) for one in part]
        from ..backbones.network import frozen_parameters

        frozen = frozen_parameters(jobs[0][0])
        for replica in trained:  # `parameters`: those trained; `frozen`: those held fixed
            replica.parameters, replica.frozen = replica.parameters - frozen, frozen
        return trained

    def predict(
        self, trained: Trained, data: TrainingData, x: list[np.ndarray], layers: list[str]
    ) -> Outputs:
        """Probabilities, and the representations in `layers` (none computed beyond the forward
        pass, none kept when `layers` is empty), a block of examples at a time, without autograd;
        the inputs go to the device one block at a time."""
        model = replica_model(self.params.learner, data.shapes, data.classes, [None], self.device)
        model.load_replica(0, trained.state)
        model.eval()
        probabilities, kept = [], {name: [] for name in ("penultimate", "logits") if name in layers}
        with torch.inference_mode():
            for start in range(0, len(x[0]), EVALUATION_BLOCK):
                block = [t[None] for t in self._tensors([v[start : start + EVALUATION_BLOCK] for v in x])]
                logits, features = (out[0] for out in model(block))
                probabilities.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
                for name, values in (("penultimate", features), ("logits", logits)):
                    if name in kept:
                        kept[name].append(values.float().cpu().numpy())
        return Outputs(
            np.concatenate(probabilities) if probabilities else np.zeros((0, data.classes)),
            {name: np.concatenate(blocks) for name, blocks in kept.items() if blocks},
        )


def _in_threads(
    jobs: list[tuple[nn.Module, Batches]], training, on_epoch: Callable[[int, int], None] | None = None
) -> list[list[Trained]]:
    """Train each (model, batches) in its own thread, torch using one thread per operation: the
    parts run side by side on the cores instead of every small operation being split across
    them (which costs more in synchronisation than it saves, and much more on a busy machine).
    One torch thread also whatever the number of parts, so a replica's bits do not depend on it."""
    from concurrent.futures import ThreadPoolExecutor

    threads = torch.get_num_threads()

    def one(index: int) -> list[Trained]:
        torch.set_num_threads(1)  # OpenMP's thread count is each thread's own
        model, batches = jobs[index]
        return train(model, training, batches, on_epoch if index == 0 else None)

    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(one, range(len(jobs))))
    finally:
        torch.set_num_threads(threads)
