"""Pairwise scope: a matrix over the runs of each condition and fold (agreement, kappa, CKA, ...),
its means between learners, and each learner's runs compared with each other (`within_learners`,
what the report's verdict states)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics
from ..metrics.agreement import Pairwise
from .runs import Row, Task, by_condition, identity, varying_of


def evaluate_pairwise(task: Task, pairwise: Pairwise) -> dict[str, Any]:
    axes = varying_of(task.runs)
    per_condition = []
    for (condition, fold), runs in by_condition(task.runs).items():
        result = pairwise.matrix([task.output(run) for run in runs], task.params)
        learners = [run["learner"] for run in runs]
        per_condition.append(
            {
                "condition": condition,
                "fold": fold,
                "runs": [identity(run, axes) for run in runs],
                "matrix": result.matrix,
                "undefined": result.undefined,
                "between_learners": block_means(result.matrix, learners),
                "within_learners": within_learners(result.matrix, learners, task.seed),
            }
        )
    return {"per_condition": per_condition}


def block_means(matrix: np.ndarray, learners: list[str]) -> list[Row]:
    """Mean over pairs of distinct runs, for each pair of learners (a learner with itself: its seeds)."""
    names = sorted(set(learners))
    index = np.array(learners)
    out = []
    for i, a in enumerate(names):
        for b in names[i:]:
            block = matrix[np.ix_(index == a, index == b)]
            if a == b:
                block = block[~np.eye(len(block), dtype=bool)]
            values = block[np.isfinite(block)] if block.size else block
            out.append(
                {
                    "a": a,
                    "b": b,
                    "mean": float(values.mean()) if values.size else None,
                    "pairs": int(values.size),
                }
            )
    return out


def within_learners(matrix: np.ndarray, learners: list[str], seed: int) -> list[Row]:
    """Per learner: the defined values among its runs, their mean and a seeded bootstrap interval."""
    out = []
    index = np.array(learners)
    for learner in sorted(set(learners)):
        chosen = index == learner
        block = matrix[np.ix_(chosen, chosen)]
        values = block[~np.eye(len(block), dtype=bool)]
        values = values[np.isfinite(values)]
        out.append(
            {
                "learner": learner,
                "runs": int(chosen.sum()),
                "pairs": int(values.size),
                "mean": float(values.mean()) if values.size else None,
                "ci95": metrics.bootstrap_interval(values, seed=seed) if values.size else None,
            }
        )
    return out
