"""Run scope: a score of every run (accuracy, f1, confusion, ...), summarised per learner and
condition, and at each value of each swept axis other than the seed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .. import metrics
from ..metrics.task import Score
from .runs import Row, Task, identity, varying, varying_of


def evaluate_scores(task: Task, score: Score) -> dict[str, Any]:
    axes = varying_of(task.runs)
    per_run = []
    for run in task.runs:
        found = task.output(run)
        value = score.compute(task.params, found["truth"], found["probabilities"])
        per_run.append({**identity(run, axes), "value": value})
    result: dict[str, Any] = {"per_run": per_run}
    if score.scalar:
        result["summary"] = summaries(per_run, task.seed)
        result["by_axis"] = by_axis(per_run, task.seed)
    return result


def summaries(per_run: list[Row], seed: int) -> list[Row]:
    """Mean, spread and interval per learner and condition, over the runs' seeds and other axes."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in per_run:
        groups[(row["learner"], row["condition"])].append(row["value"])
    return [
        {"learner": learner, "condition": condition, **metrics.describe(np.array(values), seed=seed)}
        for (learner, condition), values in sorted(groups.items())
    ]


def by_axis(per_run: list[Row], seed: int) -> list[Row]:
    """The same, at each value of each swept axis other than the seed: a score against scale."""
    axes = [a for a in varying([row["point"] for row in per_run]) if a != "seed"]
    out = []
    for axis in axes:
        groups: dict[tuple[str, str, float], list[float]] = defaultdict(list)
        for row in per_run:
            groups[(row["learner"], row["condition"], row["point"][axis])].append(row["value"])
        for (learner, condition, value), values in sorted(groups.items()):
            described = metrics.describe(np.array(values), seed=seed)
            out.append(
                {"axis": axis, "value": value, "learner": learner, "condition": condition, **described}
            )
    return out
