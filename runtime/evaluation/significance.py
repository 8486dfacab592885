"""Test scope: tests between two learners on runs that share a sweep point and a condition.

McNemar compares the runs' correctness example by example (per point, then combined over the
points); the t-test and the Wilcoxon test compare the named score metric's per-run values (never
recomputed). p-values are Holm-corrected over the tests one metric reports together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .. import metrics
from ..registry import implements
from .runs import Index, Row, Run, Task, group, point_key, point_label, varying_of


def paired(runs: list[Run], a: str, b: str) -> list[tuple[Run, Run]]:
    """Runs of learners a and b that share a sweep point and a condition."""
    of_b = {(run["condition"], point_key(run)): run for run in runs if run["learner"] == b}
    return [
        (run, of_b[(run["condition"], point_key(run))])
        for run in runs
        if run["learner"] == a and (run["condition"], point_key(run)) in of_b
    ]


def _with_holm(tests: list[Row], raw: list[float]) -> list[Row]:
    for test, adjusted in zip(tests, metrics.holm(raw) if raw else [], strict=True):
        test["p_holm"] = adjusted
    return tests


@implements("metric", "mcnemar")
def evaluate_mcnemar(task: Task) -> dict[str, Any]:
    a, b = task.params["a"], task.params["b"]
    axes = varying_of(task.runs)
    tests = []
    combined: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run_a, run_b in paired(task.runs, a, b):
        fa, fb = task.output(run_a), task.output(run_b)
        result = metrics.mcnemar(fa["labels"] == fa["truth"], fb["labels"] == fb["truth"])
        shown = point_label(run_a["point"], axes)
        tests.append(
            {"condition": run_a["condition"], "point": run_a["point"], "shown": shown, **result.__dict__}
        )
        combined[run_a["condition"]][0] += result.b
        combined[run_a["condition"]][1] += result.c
    for condition, (b_count, c_count) in combined.items():
        counts = metrics.mcnemar_counts(b_count, c_count).__dict__
        tests.append({"condition": condition, "point": None, "shown": "combined over seeds", **counts})
    return {"a": a, "b": b, "tests": _with_holm(tests, [t["exact_p"] for t in tests])}


def _score_test(test: Callable[[list[float], list[float], dict[str, Any]], dict[str, float]]):
    """A test of the named score metric's per-run values, paired by sweep point, per condition."""

    def evaluate(task: Task) -> dict[str, Any]:
        a, b = task.params["a"], task.params["b"]
        found = task.uses("metric")
        rows, index = found["per_run"], Index(found["per_run"])
        tests = []
        pairs = [{"condition": ra["condition"], "pair": (ra, rb)} for ra, rb in paired(task.runs, a, b)]
        for condition, chosen in group(pairs, "condition").items():
            scores_a = [rows[index.position(row["pair"][0], found["label"])]["value"] for row in chosen]
            scores_b = [rows[index.position(row["pair"][1], found["label"])]["value"] for row in chosen]
            outcome = test(scores_a, scores_b, task.params)
            tests.append(
                {
                    "condition": condition,
                    "of": found["label"],
                    "a_scores": scores_a,
                    "b_scores": scores_b,
                    **outcome,
                }
            )
        return {"a": a, "b": b, "tests": _with_holm(tests, [t["p"] for t in tests])}

    return evaluate


implements("metric", "ttest")(
    _score_test(lambda a, b, params: metrics.ttest(a, b, paired=params.get("paired", True)))
)
implements("metric", "wilcoxon")(_score_test(lambda a, b, params: metrics.wilcoxon(a, b)))
