"""Population scope: systemic failure and homogenization (Bommasani et al. 2022), computed per
population the spec means, never over everything pooled:

- across learners: at each sweep point (seed), one run per learner, all on the same test
  examples: H with a bootstrap interval over examples; then summarised over the points (seeds)
  as the mean of log10 H with a t-interval (n = points where H is defined);
- within a learner: its distinct runs (seeds) against each other, H with its interval.

With k folds, each fold's mean log10 H is one unit of `pooled` (t over folds). With
`groups = dataset.field`, the group-level H_avg, H_unif and H_worst of the across-learner
population at each point. An undefined H is None with its reason, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .. import metrics
from ..registry import implements
from .runs import Row, Run, Task, over_folds, point_key, point_label, populations, varying_of


@implements("metric", "systemic_failure")
def evaluate_systemic_failure(task: Task) -> dict[str, Any]:
    axes = [a for a in varying_of(task.runs) if a != "fold"]
    per_condition = []
    for population, runs in populations(task.runs).items():
        failures = {run["node"]: task.output(run)["labels"] != task.output(run)["truth"] for run in runs}
        everyone = [r for r in task.runs if (r["dataset"], r["condition"], r["fold"]) == (
            population.dataset, population.condition, population.fold)]  # fmt: skip
        points = _across_learners(task, everyone, failures, axes, population.fold)
        per_condition.append(
            {
                "dataset": population.dataset,
                "condition": population.condition,
                "fold": population.fold,
                "across_learners": points,
                "across_learners_summary": _summary(points),
                "by_axis": _by_axis(points, [a for a in axes if a != "seed"]),
                "within_learners": _within_learners(runs, failures, task.seed),
            }
        )
    return {"per_condition": per_condition, "pooled": _pooled(per_condition)}


def _pooled(per_condition: list[Row]) -> list[Row]:
    """Across folds (k-fold): each fold's mean log10 H across learners is one unit; t over folds."""
    names = [({"dataset": e["dataset"], "condition": e["condition"]}, e["across_learners_summary"]["mean"])
             for e in per_condition]  # fmt: skip
    return over_folds(names)


def _homogenization(failures: np.ndarray, seed: int) -> Row:
    found = metrics.homogenization(failures)
    interval = metrics.homogenization_interval(failures, seed=seed)
    reason = found.reason or interval["reason"]  # why H, log10 H or the interval is undefined
    return {**found.__dict__, "log10_h": interval["log10_h"], "ci95": _bounds(interval), "reason": reason}


def _bounds(interval: Row) -> list[float] | None:
    return None if interval["low"] is None else [interval["low"], interval["high"]]


def _across_learners(
    task: Task, everyone: list[Run], failures: dict, axes: list[str], fold: int
) -> list[Row]:
    """At each sweep point, the learners' runs (each distinct fit once) as one population."""
    at_point: dict[tuple, dict[str, Run]] = defaultdict(dict)
    for run in everyone:
        at_point[point_key(run)].setdefault(run["learner"], run)
    reference = task.params.get("groups")
    out = []
    for _, by_learner in sorted(at_point.items()):
        chosen = list({run["node"]: run for run in by_learner.values()}.values())
        if len(by_learner) < 2:
            continue
        stacked = np.stack([failures[run["node"]] for run in chosen])
        first = next(iter(by_learner.values()))
        entry = {
            "point": first["point"],
            "shown": point_label(first["point"], axes) or "the one sweep point",
            "learners": sorted(by_learner),
            "runs": len(chosen),
            **_homogenization(stacked, task.seed),
        }
        if reference:
            if task.groups is None:
                raise ValueError(f"{task.metric['label']} needs the values of {reference}, which are missing")
            entry["groups"] = metrics.group_homogenization(stacked, task.groups(reference, fold))
        out.append(entry)
    return out


def _summary(points: list[Row]) -> Row:
    """log10 H over the sweep points (seeds): mean and t-interval; undefined points named."""
    defined = [p["log10_h"] for p in points if p["log10_h"] is not None]
    undefined = [p["shown"] for p in points if p["log10_h"] is None]
    return {**metrics.t_interval(np.array(defined, dtype=float)), "undefined_at": undefined}


def _by_axis(points: list[Row], axes: list[str]) -> list[Row]:
    """log10 H across learners at each value of each swept axis but the seed."""
    return [
        {"axis": axis, "value": value, **_summary([p for p in points if p["point"][axis] == value])}
        for axis in axes
        for value in sorted({p["point"][axis] for p in points})
    ]


def _within_learners(runs: list[Run], failures: dict, seed: int) -> list[Row]:
    """Each learner's distinct runs (seeds) as a population of their own."""
    by_learner: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_learner[run["learner"]].append(run)
    out = []
    for learner, chosen in sorted(by_learner.items()):
        if len(chosen) < 2:
            continue
        stacked = np.stack([failures[run["node"]] for run in chosen])
        out.append({"learner": learner, "runs": len(chosen), **_homogenization(stacked, seed)})
    return out
