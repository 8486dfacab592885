"""Cluster scope: hierarchical or k-means clustering of runs (or learners) by the matrix of the
pairwise metric it names (`by`), on clean data and the first fold. The matrix is the named
metric's result, never recomputed: `cluster(by = cka)` clusters by the spec's own CKA."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics
from ..registry import implements
from .pairwise import block_means
from .runs import Index, Row, Run, Task, as_matrix, run_label, varying_of


def _entry(found: dict[str, Any]) -> Row:
    """The named result's clean condition at fold 0 (its first condition when none is clean)."""
    first = [entry for entry in found["per_condition"] if entry["fold"] == 0]
    clean = [entry for entry in first if entry["condition"] == "clean"]
    if not (clean or first):
        raise ValueError(f"{found['label']} compares no runs on the first fold")
    return (clean or first)[0]


def _learner_matrix(matrix: np.ndarray, runs: list[Run]) -> tuple[np.ndarray, list[str]]:
    """One item per learner: the mean similarity of their runs."""
    blocks = block_means(matrix, [run["learner"] for run in runs])
    labels = sorted({run["learner"] for run in runs})
    means = {(b["a"], b["b"]): b["mean"] for b in blocks}
    learners = np.array([[means.get((a, b), means.get((b, a))) or 0.0 for b in labels] for a in labels])
    np.fill_diagonal(learners, 1.0)
    return learners, labels


@implements("metric", "cluster")
def evaluate_cluster(task: Task) -> dict[str, Any]:
    found = task.uses("by")
    entry = _entry(found)
    clean = [run for run in task.runs if run["condition"] == entry["condition"]]
    axes = varying_of(clean)
    clean = [run for run in clean if run["point"].get("fold", 0) == 0]  # runs on the same test examples
    index = Index(entry["runs"])
    positions = [index.position(run, found["label"]) for run in clean]
    matrix = as_matrix(entry["matrix"])[np.ix_(positions, positions)]
    labels = [run_label(run, axes) for run in clean]
    notes = list(entry["undefined"])
    if task.params.get("level") == "learners":
        matrix, labels = _learner_matrix(matrix, clean)
    if np.isnan(matrix).any():
        notes.append("undefined entries are taken as similarity 0 for clustering")
        matrix = np.nan_to_num(matrix, nan=0.0)
    if task.params["method"] == "kmeans":
        result = metrics.kmeans(matrix, task.params["k"], seed=task.seed)
    else:
        result = metrics.hierarchical(matrix, labels, task.params["method"])
    return {"by": found["label"], "items": labels, "matrix": matrix, "notes": notes, **result}
