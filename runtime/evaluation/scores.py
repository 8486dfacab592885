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


def replicates(rows: list[Row]) -> dict[str, Any]:
    """A score summarised at its unit of replication: over folds when there are several (each
    fold's distinct runs averaged first: seeds on one fold share its test examples), else over the
    distinct runs (seeds) on the one test set. The interval is Student's t over those units."""
    rows = distinct_rows(rows)
    by_fold: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        by_fold[row["fold"]].append(row["value"])
    if len(by_fold) > 1:
        values, unit = [float(np.mean(v)) for _, v in sorted(by_fold.items())], "folds"
    else:
        values, unit = [row["value"] for row in rows], "runs on one test set"
    return {**metrics.describe(np.array(values, dtype=float)), "unit": unit}


def distinct_rows(rows: list[Row]) -> list[Row]:
    """Each piece of work once: rows of one node under one condition are copies of one run."""
    first: dict[tuple[str, str], Row] = {}
    for row in rows:
        first.setdefault((row["node"], row["condition"]), row)
    return list(first.values())


def summaries(per_run: list[Row], seed: int = 0) -> list[Row]:
    """Per learner and condition, at the unit of replication (see `replicates`)."""
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in per_run:
        groups[(row["learner"], row["condition"])].append(row)
    return [
        {"learner": learner, "condition": condition, **replicates(rows)}
        for (learner, condition), rows in sorted(groups.items())
    ]


def by_axis(per_run: list[Row], seed: int = 0) -> list[Row]:
    """The same, at each value of each swept axis other than the seed and the fold: a score against
    scale."""
    axes = [a for a in varying([row["point"] for row in per_run]) if a not in ("seed", "fold")]
    out = []
    for axis in axes:
        groups: dict[tuple[str, str, float], list[Row]] = defaultdict(list)
        for row in per_run:
            groups[(row["learner"], row["condition"], row["point"][axis])].append(row)
        for (learner, condition, value), rows in sorted(groups.items()):
            out.append(
                {"axis": axis, "value": value, "learner": learner, "condition": condition, **replicates(rows)}
            )
    return out
