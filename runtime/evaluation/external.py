"""What a pairwise metric adds for a population with external runs (a leaderboard of hundreds): the
most similar pairs with their intervals, similarity against the models' shared attributes (family,
provider, size) with a permutation test, and the chance level a metric is read against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..metrics import allpairs
from ..registry import implementation
from .runs import Run, Task

TOP = 10
DIVERGENCES = ("jensen_shannon",)  # smaller is more similar


def population_extras(
    task: Task, runs: list[Run], found: list[Mapping[str, np.ndarray]], matrix: np.ndarray
) -> dict[str, Any]:
    if not any(run.get("kind") == "external" for run in runs):
        return {}
    sign = -1.0 if task.metric["name"] in DIVERGENCES else 1.0
    out: dict[str, Any] = {"top_pairs": _top_pairs(task, runs, found, matrix, sign)}
    out["attribute_effects"] = _attribute_effects(runs, sign * matrix, task.seed)
    if task.metric["name"] == "agreement_when_wrong":
        options = found[0].get("options")
        if options is None:
            options = np.full(len(found[0]["truth"]), found[0]["probabilities"].shape[1])
        value, reason = allpairs.wrong_chance(options)
        out["chance"] = {
            "value": value,
            "reason": reason,
            "formula": "sum_k phi_k / (k - 1), phi_k the share of examples with k options",
        }
    return out


def _top_pairs(task: Task, runs: list[Run], found, matrix: np.ndarray, sign: float) -> list[dict[str, Any]]:
    """The TOP most similar pairs of distinct runs; prediction metrics with a bootstrap interval over
    the examples."""
    upper = np.triu_indices(len(runs), 1)
    values = matrix[upper]
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(-sign * values[finite], kind="stable")][:TOP]
    interval = None
    if "layer" not in task.params:
        from .pairwise import bootstrap_over_examples

        pairwise = implementation("metric", task.metric["name"])
        interval = bootstrap_over_examples(pairwise, found, matrix, task.params, task.seed, resamples=200)
    out = []
    for k in order:
        i, j = int(upper[0][k]), int(upper[1][k])
        row = {"a": runs[i]["learner"], "b": runs[j]["learner"], "value": float(matrix[i, j])}
        if interval is not None:
            found_interval = interval([(i, j)])
            row.update(
                low=found_interval["low"], high=found_interval["high"], method=found_interval["method"]
            )
        out.append(row)
    return out


def _attribute_effects(runs: list[Run], similarity: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Per attribute of the models' table: does similarity go with sharing it (text: family,
    provider) or with closeness (positive numbers: size, on a log scale)?"""
    attributes = [run.get("attributes") or {} for run in runs]
    keys = sorted({key for found in attributes for key in found})
    out = []
    for key in keys:
        values = [found.get(key) for found in attributes]
        present = [v for v in values if v is not None]
        numeric = all(isinstance(v, (int, float)) and v > 0 for v in present)
        kind = "distance" if numeric else "same"
        effect = allpairs.attribute_effect(similarity, values, kind, resamples=1000, seed=seed)
        statistic = (
            "correlation of similarity with closeness in log " + key
            if numeric
            else f"mean similarity of pairs with the same {key} minus pairs with different"
        )
        out.append({"attribute": key, "statistic": statistic, **effect})
    return out
