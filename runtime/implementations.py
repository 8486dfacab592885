"""Which registry entries the runtime implements, by kind; a test checks they match one to one."""

from __future__ import annotations

from . import data, sklearn_learners, transforms

# Modules that import torch are named, not imported: `homogc run` on a cached spec imports no torch.
TORCH_ARCHITECTURES = frozenset({"mlp", "cnn", "cnn1d", "gru", "lstm", "transformer"})
INTERMEDIATE_FUSIONS = frozenset(
    {"concat", "sum", "product", "gated", "attention", "tensor", "low_rank_tensor", "film"}
)
LATE_FUSIONS = frozenset({"mean", "weighted", "vote"})


def implemented() -> dict[str, frozenset[str]]:
    from .evaluate import METRICS

    return {
        "source": frozenset(data.SOURCES),
        "split": frozenset({"holdout", "kfold"}),
        "transform": transforms.TRANSFORMS,
        "augment": transforms.AUGMENTATIONS,
        "architecture": TORCH_ARCHITECTURES | sklearn_learners.ESTIMATORS,
        "fusion": INTERMEDIATE_FUSIONS | LATE_FUSIONS,
        "optimizer": frozenset({"sgd", "adam", "adamw"}),
        "schedule": frozenset({"constant", "cosine", "step"}),
        "stopping": frozenset({"patience"}),
        "condition": transforms.CONDITIONS,
        "metric": METRICS,
    }
