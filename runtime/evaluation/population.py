"""Population scope: systemic failure and the homogenization ratio over the runs of each condition
and fold, and its group versions when the metric names a dataset field (`groups = data.field`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics
from ..registry import implements
from .runs import Task, by_condition


@implements("metric", "systemic_failure")
def evaluate_systemic_failure(task: Task) -> dict[str, Any]:
    per_condition = []
    reference = task.params.get("groups")
    for (condition, fold), runs in by_condition(task.runs).items():
        failures = np.stack([task.output(run)["labels"] != task.output(run)["truth"] for run in runs])
        result = metrics.homogenization(failures)
        entry: dict[str, Any] = {"condition": condition, "fold": fold, "runs": len(runs), **result.__dict__}
        if reference:
            if task.groups is None:
                raise ValueError(f"{task.metric['label']} needs the values of {reference}, which are missing")
            entry["groups"] = metrics.group_homogenization(failures, task.groups(reference, fold))
        per_condition.append(entry)
    return {"per_condition": per_condition}
