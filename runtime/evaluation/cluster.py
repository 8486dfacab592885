"""Cluster scope: hierarchical or k-means clustering of runs (or learners) by the matrix of the
pairwise metric it names (`by`), on clean data and the first fold. The matrix is the named
metric's result, never recomputed: `cluster(by = cka)` clusters by the spec's own CKA."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics
from ..registry import implements
from .runs import Index, Row, Task, as_matrix, distinct, run_label, varying_of


def _entry(found: dict[str, Any]) -> Row:
    """The named result's first population on clean data at fold 0 (its first condition when none
    is clean): runs on the same test examples."""
    first = [entry for entry in found["per_condition"] if entry["fold"] == 0]
    clean = [entry for entry in first if entry["condition"] == "clean"]
    if not (clean or first):
        raise ValueError(f"{found['label']} compares no runs on the first fold")
    return (clean or first)[0]


def _learner_matrix(entry: Row, names: list[str]) -> np.ndarray:
    """One item per learner: the named metric's between-learner means (1 on the diagonal)."""
    means = {(b["a"], b["b"]): b["mean"] for b in entry["between_learners"]}
    found = [[means.get((a, b), means.get((b, a))) for b in names] for a in names]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in found], dtype=float)
    np.fill_diagonal(matrix, 1.0)
    return matrix


def _defined(matrix: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Leave out the items with an undefined similarity (most undefined first), saying which."""
    notes = []
    keep = list(range(len(labels)))
    while keep and np.isnan(matrix[np.ix_(keep, keep)]).any():
        sub = matrix[np.ix_(keep, keep)]
        worst = keep[int(np.isnan(sub).sum(axis=1).argmax())]
        keep.remove(worst)
        notes.append(f"{labels[worst]} is left out: its similarity to another item is undefined")
    return matrix[np.ix_(keep, keep)], [labels[i] for i in keep], notes


@implements("metric", "cluster")
def evaluate_cluster(task: Task) -> dict[str, Any]:
    found = task.uses("by")
    entry = _entry(found)
    chosen = [
        r for r in task.runs if (r["dataset"], r["condition"]) == (entry["dataset"], entry["condition"])
    ]
    axes = varying_of(chosen)
    compared = {run["learner"] for run in entry["runs"]}  # the named metric may leave learners out
    chosen = distinct([r for r in chosen if r["fold"] == entry["fold"] and r["learner"] in compared])
    notes = list(entry["undefined"])
    if task.params.get("level") == "learners":
        labels = sorted({run["learner"] for run in chosen})
        matrix = _learner_matrix(entry, labels)
    else:
        index = Index(entry["runs"])
        positions = [index.position(run, found["label"]) for run in chosen]
        matrix = as_matrix(entry["matrix"])[np.ix_(positions, positions)]
        labels = [run_label(run, axes) for run in chosen]
    matrix, labels, left_out = _defined(matrix, labels)
    notes += left_out
    if len(labels) < 2:
        return {"by": found["label"], "items": labels, "matrix": matrix, "notes": [*notes, "too few items"]}
    if task.params["method"] == "kmeans":
        result = metrics.kmeans(matrix, task.params["k"], seed=task.seed)
    else:
        result = metrics.hierarchical(matrix, labels, task.params["method"])
    return {"by": found["label"], "items": labels, "matrix": matrix, "notes": notes, **result}
