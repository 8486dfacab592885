"""Across scope: the spread σ = (max − min) / min of a score across runs, per learner and over
every learner, from the per-run values of the score metric it names (never recomputed)."""

from __future__ import annotations

from typing import Any

from ..registry import implements
from .runs import Index, Row, Task, group
from .scores import replicates, summaries


def named_scores(task: Task, param: str) -> list[Row]:
    """Each of this metric's runs with its value in the named score metric's result."""
    found = task.uses(param)
    rows = found["per_run"]
    index = Index(rows)
    return [{**run, "value": rows[index.position(run, found["label"])]["value"]} for run in task.runs]


@implements("metric", "spread")
def evaluate_spread(task: Task) -> dict[str, Any]:
    per_run = named_scores(task, "metric")
    overall = [
        {"condition": condition, **replicates(rows)}
        for condition, rows in sorted(group(per_run, "condition").items())
    ]
    return {
        "of": task.uses("metric")["label"],
        "per_learner": summaries(per_run, task.seed),
        "all_runs": overall,
    }
