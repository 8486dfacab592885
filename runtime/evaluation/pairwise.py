"""Pairwise scope: a matrix over the runs of each population (same dataset, fold and condition:
the same test examples), each distinct fit once, and two summaries at the unit of replication:

- between learners: the value of learner a's run and learner b's run at the same sweep point, one
  value per point (seed; a learner whose seed changes nothing takes part with its one run), their
  mean with a percentile bootstrap interval over test examples for prediction-based metrics (the
  examples are the independent unit), or Student's t over the points for representation metrics;
- within a learner (seed-to-seed replication): the mean over pairs of its distinct runs that differ
  only in the seed, with the same bootstrap over examples, or (representation metrics) Student's t
  over pairs that share no run.

Across folds, each fold's between-learner mean is one value (`pooled`, t over folds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import metrics
from ..metrics.agreement import Pairwise
from .external import population_extras
from .runs import (
    Population,
    Row,
    Run,
    Task,
    deterministic,
    identity,
    over_folds,
    point_key,
    populations,
    varying_of,
)

# A bootstrap over examples per pair of learners recomputes the metric 1,000 times per pair: beyond this
# many runs in a population (a leaderboard of hundreds), pairs are reported without an interval, and
# the value of the most similar pairs (`top_pairs`) with theirs.
BOOTSTRAPPED_RUNS = 30


def evaluate_pairwise(task: Task, pairwise: Pairwise) -> dict[str, Any]:
    axes = varying_of(task.runs)
    swept = [axis for axis in axes if axis not in ("seed", "fold")]
    per_condition = []
    for population, runs in populations(task.runs).items():
        found = [task.output(run) for run in runs]
        result = pairwise.matrix(found, task.params)
        everyone = [r for r in task.runs if _population(r) == population]
        # Prediction-based metrics are cheap to recompute on resampled examples; representation
        # metrics (a `layer` parameter) take Student's t over the sweep points.
        resampled = (
            None
            if "layer" in task.params or len(runs) > BOOTSTRAPPED_RUNS
            else bootstrap_over_examples(pairwise, found, result.matrix, task.params, task.seed)
        )
        entry = {}
        if task.params.get("layers") is not None:  # layer by layer (evaluation/layers.py)
            from .layers import layer_similarity

            entry["layers"] = layer_similarity(
                task.params, task.metric["name"], runs, found, everyone, result.matrix, task.seed
            )
        per_condition.append(
            {
                **entry,
                "dataset": population.dataset,
                "condition": population.condition,
                "fold": population.fold,
                "runs": [identity(run, axes) for run in runs],
                "matrix": result.matrix,
                "undefined": result.undefined,
                "between_learners": _capped(
                    between_learners(result.matrix, runs, everyone, resampled), runs, task.params
                ),
                "within_learners": within_learners(result.matrix, runs, everyone, resampled),
                "by_axis": by_axis(result.matrix, runs, everyone, swept),
                **population_extras(task, runs, found, result.matrix),
            }
        )
    return {
        "per_condition": per_condition,
        "pooled": pooled(per_condition),
        "deterministic": deterministic(task.runs),
    }


def _capped(rows: list[Row], runs: list[Run], params: dict) -> list[Row]:
    """Beyond BOOTSTRAPPED_RUNS runs, a pair's interval says why it is missing."""
    if "layer" in params or len(runs) <= BOOTSTRAPPED_RUNS:
        return rows
    reason = (
        f"no interval: a bootstrap per pair is computed for populations of at most {BOOTSTRAPPED_RUNS} "
        f"runs (this one has {len(runs)}); the most similar pairs have theirs (top_pairs)"
    )
    return [{**row, "reason": reason} if row.get("low") is None else row for row in rows]


def _population(run: Run) -> Population:
    return Population(run["dataset"], run["condition"], run["fold"])


def _positions(runs: list[Run], everyone: list[Run]) -> dict[str, dict[tuple, int]]:
    """Per learner: sweep point -> the matrix row of the (distinct) run made at that point."""
    row_of = {run["node"]: i for i, run in enumerate(runs)}
    found: dict[str, dict[tuple, int]] = defaultdict(dict)
    for run in everyone:
        found[run["learner"]][point_key(run)] = row_of[run["node"]]
    return found


Interval = Callable[[list[tuple[int, int]]], Row]


def between_learners(
    matrix: np.ndarray, runs: list[Run], everyone: list[Run], resampled: Interval | None = None
) -> list[Row]:
    """Learner a against learner b, one value per shared sweep point (identical pairs once); the
    interval from `resampled(cells)` (a bootstrap over examples) where given, else Student's t
    over the points."""
    positions = _positions(runs, everyone)
    names = sorted(positions)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = sorted(set(positions[a]) & set(positions[b]))
            cells = list(dict.fromkeys((positions[a][p], positions[b][p]) for p in shared))
            values = np.array([matrix[r, c] for r, c in cells], dtype=float)
            undefined = int((~np.isfinite(values)).sum())
            defined = [cell for cell, v in zip(cells, values, strict=True) if np.isfinite(v)]
            if resampled is not None and defined:
                interval = resampled(defined)
            else:
                interval = metrics.t_interval(values[np.isfinite(values)])
                interval["method"] = "t over sweep points (approximate: they share the test examples)"
            out.append({"a": a, "b": b, "undefined": undefined, **interval})
    return out


def bootstrap_over_examples(
    pairwise: Pairwise,
    found: list[Mapping[str, np.ndarray]],
    matrix: np.ndarray,
    params: dict,
    seed: int,
    resamples: int = 1000,
) -> Interval:
    """The mean over cells of a prediction-based pairwise metric, with a percentile bootstrap
    interval over test examples: the examples are the independent unit (the runs are fixed), so
    runs that share them are never treated as independent (coverage checked by simulation in
    `tests/bench/independence_bench.py`). `matrix` is the metric on every example, over `found`."""

    def interval(cells: list[tuple[int, int]]) -> Row:
        rows = sorted({r for cell in cells for r in cell})
        where = {r: i for i, r in enumerate(rows)}
        chosen = [{k: found[r][k] for k in ("labels", "truth", "probabilities")} for r in rows]
        n = len(chosen[0]["truth"])
        rng = np.random.default_rng(seed)
        means = np.empty(resamples)
        for k in range(resamples):
            index = rng.integers(0, n, n)
            resampled = pairwise.matrix([{key: v[index] for key, v in c.items()} for c in chosen], params)
            values = np.array([resampled.matrix[where[r], where[c]] for r, c in cells], dtype=float)
            means[k] = values[np.isfinite(values)].mean() if np.isfinite(values).any() else np.nan
        mean = float(np.mean([matrix[r, c] for r, c in cells]))
        finite = means[np.isfinite(means)]
        low, high = np.quantile(finite, [0.025, 0.975]) if finite.size else (None, None)
        method = f"percentile bootstrap over {n} test examples ({resamples} resamples)"
        return {"n": len(cells), "mean": mean, "low": _float(low), "high": _float(high), "method": method}

    return interval


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def within_learners(
    matrix: np.ndarray, runs: list[Run], everyone: list[Run], resampled: Interval | None = None
) -> list[Row]:
    """Per learner: seed-to-seed replication, i.e. pairs of its distinct runs that differ only in
    the seed (the same width, data fraction, ... : one configuration)."""
    row_of = {run["node"]: i for i, run in enumerate(runs)}
    seeds: dict[str, set[int]] = defaultdict(set)
    configurations: dict[str, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
    placed: set[int] = set()  # a fit that ignores an axis belongs to the first configuration it is in
    for run in everyone:
        seeds[run["learner"]].add(run["seed"])
        rows = configurations[run["learner"]][_configuration(run)]
        if row_of[run["node"]] not in placed:
            rows.append(row_of[run["node"]])
            placed.add(row_of[run["node"]])
    return [
        _within(
            matrix,
            learner,
            [r for r in configurations[learner].values() if r],
            len(seeds[learner]),
            resampled,
        )
        for learner in sorted(seeds)
    ]


def _configuration(run: Run) -> tuple:
    return tuple(sorted((k, v) for k, v in run["point"].items() if k != "seed"))


def _within(
    matrix: np.ndarray, learner: str, groups: list[list[int]], seeds: int, resampled: Interval | None
) -> Row:
    """The mean over pairs of runs within each configuration. Its interval: a bootstrap over test
    examples where the metric allows it (the mean over every pair), else Student's t over pairs that
    share no run (then the mean is theirs too, so that the two agree)."""
    cells = [(r, c) for rows in groups for k, r in enumerate(rows) for c in rows[k + 1 :]]
    cells = [cell for cell in cells if np.isfinite(matrix[cell])]
    disjoint = [(r, c) for rows in groups for r, c in zip(rows[::2], rows[1::2], strict=False)]
    disjoint = [cell for cell in disjoint if np.isfinite(matrix[cell])]
    if resampled is not None and cells:
        interval = resampled(cells)
    else:
        interval = metrics.t_interval(np.array([matrix[cell] for cell in disjoint], dtype=float))
        interval["method"] = "t over pairs of runs that share no run"
    entry = {
        "learner": learner,
        "runs": sum(len(rows) for rows in groups),
        "configurations": len(groups),
        "seeds": seeds,
        "pairs": len(cells),
        "mean": interval["mean"],
        "ci95": [interval["low"], interval["high"]] if interval["low"] is not None else None,
        "independent_pairs": len(disjoint),
        "method": interval.get("method"),
    }
    if all(len(rows) == 1 for rows in groups) and seeds > 1:
        entry["note"] = "deterministic: the seed has no effect (one fit stands for every seed)"
    elif entry["ci95"] is None:
        entry["note"] = "no interval: too few pairs of runs"
    return entry


def _as_block(within: Row) -> Row:
    """A learner's seed-to-seed entry in the form of a block of the learner with itself."""
    low, high = within["ci95"] or (None, None)
    n, mean = within["independent_pairs"], within["mean"]
    return {"a": within["learner"], "b": within["learner"], "n": n, "mean": mean, "low": low, "high": high}


def by_axis(matrix: np.ndarray, runs: list[Run], everyone: list[Run], axes: list[str]) -> list[Row]:
    """Between learners and seed to seed at each value of each swept axis but the seed and fold."""
    out = []
    for axis in axes:
        for value in sorted({run["point"][axis] for run in everyone}):
            chosen = [run for run in everyone if run["point"][axis] == value]
            out += [{"axis": axis, "value": value, **b} for b in between_learners(matrix, runs, chosen)]
            out += [
                {"axis": axis, "value": value, **_as_block(w)} for w in within_learners(matrix, runs, chosen)
            ]
    return out


def pooled(per_condition: list[Row]) -> list[Row]:
    """Across folds (k-fold): each fold's between-learner mean is one value; t over folds."""
    return over_folds(
        [
            ({"dataset": e["dataset"], "condition": e["condition"], "a": b["a"], "b": b["b"]}, b["mean"])
            for e in per_condition
            for b in e["between_learners"]
        ]
    )
