"""Test scope: learner a against learner b, at the unit of replication.

- McNemar: the exact test per pair of runs at a shared sweep point (each distinct pair once), and
  one combined test per condition that never counts repeated runs on the same examples as
  independent evidence: a paired sign-flip permutation test over examples on each example's
  seed-averaged correctness (examples are the unit; with one run each it is the exact McNemar
  test; k folds contribute their own test examples).
- t-test and Wilcoxon on the named score metric's per-run values (never recomputed): over fold
  scores (each fold's runs averaged over seeds) when there are several folds, else over the runs
  at shared sweep points on the one test set (inference about training randomness, conditional
  on those test examples).

p-values are Holm-corrected over the tests one metric reports together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import metrics
from ..registry import implements
from .runs import Index, Row, Run, Task, distinct, point_key, point_label, varying_of


def paired(runs: list[Run], a: str, b: str) -> list[tuple[Run, Run]]:
    """Runs of learners a and b that share a sweep point and a condition; identical pairs once."""
    of_b = {(run["condition"], point_key(run)): run for run in runs if run["learner"] == b}
    pairs = {
        (run["node"], of_b[key]["node"], run["condition"]): (run, of_b[key])
        for run in runs
        if run["learner"] == a and (key := (run["condition"], point_key(run))) in of_b
    }
    return list(pairs.values())


def _with_holm(tests: list[Row], raw: list[float | None]) -> list[Row]:
    defined = [p for p in raw if p is not None]
    adjusted = iter(metrics.holm(defined) if defined else [])
    for test, p in zip(tests, raw, strict=True):
        test["p_holm"] = next(adjusted) if p is not None else None
    return tests


def _correct(task: Task, run: Run) -> np.ndarray:
    found = task.output(run)
    return found["labels"] == found["truth"]


def _combined(task: Task, runs: list[Run], a: str, b: str, condition: str) -> Row:
    """Seed-averaged correctness per example, per fold, joined over folds; then the paired test."""
    chosen = [r for r in distinct(runs) if r["condition"] == condition]
    mean_a, mean_b = [], []
    for fold in sorted({r["fold"] for r in chosen}):
        of_a = [_correct(task, r) for r in chosen if r["learner"] == a and r["fold"] == fold]
        of_b = [_correct(task, r) for r in chosen if r["learner"] == b and r["fold"] == fold]
        if of_a and of_b:
            mean_a.append(np.mean(of_a, axis=0))
            mean_b.append(np.mean(of_b, axis=0))
    outcome = metrics.paired_examples_test(
        np.concatenate(mean_a)[None, :], np.concatenate(mean_b)[None, :], seed=task.seed
    )
    seeds_a = len({r["seed"] for r in chosen if r["learner"] == a})
    seeds_b = len({r["seed"] for r in chosen if r["learner"] == b})
    return {**outcome, "seeds_a": seeds_a, "seeds_b": seeds_b}


@implements("metric", "mcnemar")
def evaluate_mcnemar(task: Task) -> dict[str, Any]:
    a, b = task.params["a"], task.params["b"]
    axes = varying_of(task.runs)
    tests, combined = [], []
    for run_a, run_b in paired(task.runs, a, b):
        result = metrics.mcnemar(_correct(task, run_a), _correct(task, run_b))
        shown = point_label(run_a["point"], axes)
        tests.append(
            {"condition": run_a["condition"], "point": run_a["point"], "shown": shown, **result.__dict__}
        )
    for condition in dict.fromkeys(run["condition"] for run in task.runs):
        combined.append({"condition": condition, **_combined(task, task.runs, a, b, condition)})
    raw = [t["exact_p"] for t in tests] + [c["p"] for c in combined]
    everything = _with_holm(tests + combined, raw)
    return {"a": a, "b": b, "tests": everything[: len(tests)], "combined": everything[len(tests) :]}


def _values(task: Task, runs: list[Run]) -> dict[int, float]:
    """The named score of each run, by the run's position in `runs`."""
    found = task.uses("metric")
    rows, index = found["per_run"], Index(found["per_run"])
    return {i: rows[index.position(run, found["label"])]["value"] for i, run in enumerate(runs)}


def _units(pairs: list[tuple[Run, Run]], values: dict[int, float]) -> tuple[list, list, str]:
    """Paired scores at the unit of replication: fold means with several folds, else the runs."""
    by_fold: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for i, (ra, _) in enumerate(pairs):
        by_fold[ra["fold"]][0].append(values[2 * i])
        by_fold[ra["fold"]][1].append(values[2 * i + 1])
    if len(by_fold) > 1:
        folds = sorted(by_fold.items())
        means = [float(np.mean(v[0])) for _, v in folds], [float(np.mean(v[1])) for _, v in folds]
        return *means, "folds (each fold's runs averaged over seeds)"
    only = [v for _, v in by_fold.items()]
    return (
        (only[0][0], only[0][1], "runs at shared sweep points, on one test set (conditional on its examples)")
        if only
        else ([], [], "")
    )


def _score_test(test: Callable[[list[float], list[float], dict[str, Any]], dict[str, Any]]):
    """A test of the named score metric's values, per condition, at the unit of replication."""

    def evaluate(task: Task) -> dict[str, Any]:
        a, b = task.params["a"], task.params["b"]
        label = task.uses("metric")["label"]
        tests = []
        for condition in dict.fromkeys(run["condition"] for run in task.runs):
            pairs = [(ra, rb) for ra, rb in paired(task.runs, a, b) if ra["condition"] == condition]
            scores_a, scores_b, unit = _units(pairs, _values(task, [run for pair in pairs for run in pair]))
            outcome = test(scores_a, scores_b, task.params)
            row = {
                "condition": condition,
                "of": label,
                "unit": unit,
                "a_scores": scores_a,
                "b_scores": scores_b,
            }
            tests.append({**row, **outcome})
        return {"a": a, "b": b, "tests": _with_holm(tests, [t["p"] for t in tests])}

    return evaluate


implements("metric", "ttest")(
    _score_test(lambda a, b, params: metrics.ttest(a, b, paired=params.get("paired", True)))
)
implements("metric", "wilcoxon")(_score_test(lambda a, b, params: metrics.wilcoxon(a, b)))
