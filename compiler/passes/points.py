"""Part of pass 7: every learner at every sweep point, as it will be trained.

A point's width and depth resize an architecture by its registry entry's
`size_rule`; its learning rate and epochs replace the training block's. The
reduced mode of `homogc run --smoke` is applied here too (few epochs, small
forests), so the runtime never changes a learner.
"""

from __future__ import annotations

from ..ir import CallIR, FitIR, LearnerIR, PointIR
from ..registry import Registry

SMOKE_EPOCHS = 2
SMOKE_TREES = 10


def fits(learners: list[LearnerIR], sweep: list[PointIR], registry: Registry, smoke: bool) -> list[FitIR]:
    return [
        FitIR(learner=trained(learner, point, registry, smoke), point=point, index=index)
        for learner in learners
        if learner.backend != "late"
        for index, point in enumerate(sweep)
    ]


def trained(learner: LearnerIR, point: PointIR, registry: Registry, smoke: bool = False) -> LearnerIR:
    update: dict[str, object] = {}
    if learner.arch is not None:
        update["arch"] = _sized(learner.arch, point, registry, smoke)
    if learner.encoder is not None:
        update["encoder"] = _sized(learner.encoder, point, registry, smoke)
        update["head"] = _sized(learner.head, point.model_copy(update={"depth": None}), registry, smoke)
    if learner.training is not None:
        training = learner.training
        epochs = point.epochs or training.epochs
        optimizer = training.optimizer
        if point.lr:
            optimizer = optimizer.model_copy(update={"params": {**optimizer.params, "lr": point.lr}})
        update["training"] = training.model_copy(
            update={"epochs": min(epochs, SMOKE_EPOCHS) if smoke else epochs, "optimizer": optimizer}
        )
    return learner.model_copy(update=update)


def _sized(arch: CallIR | None, point: PointIR, registry: Registry, smoke: bool) -> CallIR | None:
    if arch is None:
        return None
    entry = registry.get("architecture", arch.name)
    params = dict(arch.params)
    if entry is not None and entry.size_rule is not None:
        params = entry.size_rule(params, point.width, point.depth)
    if smoke and "trees" in params:
        params["trees"] = min(params["trees"], SMOKE_TREES)
    return arch.model_copy(update={"params": params})
