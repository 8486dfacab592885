"""Join models' answers by example id: the models are compared only on the examples every one of them
answered with the same gold label, and what was left out is counted and named, never silent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import errors
from .errors import EXTERNAL_MALFORMED, EXTERNAL_NO_SHARED
from .readers import Answers

SHOWN = 5  # example ids named per reason


@dataclass
class Joined:
    models: list[str]
    ids: np.ndarray  # (n,) the shared examples' ids
    classes: list[str]  # class names; option indices "0".."K-1" for multiple choice
    truth: np.ndarray  # (n,) class ids
    labels: np.ndarray  # (m, n) predicted class ids
    probabilities: np.ndarray  # (m, n, K); one-hot of the labels where a model gave no scores
    options: np.ndarray  # (n,) options each example offers (K where every class is an option)
    groups: np.ndarray  # (n,) the task or subject of each example
    scored: list[bool]  # per model: whether its probabilities come from its scores
    dropped: dict[str, Any]  # what was left out, and why


def join(answers: list[Answers]) -> Joined:
    indexed = [_index(model) for model in answers]
    counts = Counter(i for index in indexed for i in index)
    everyone = [i for i in indexed[0] if counts[i] == len(indexed)]
    golds = {
        i: {model.gold[index[i]] for model, index in zip(answers, indexed, strict=True)} for i in everyone
    }
    disagree = [i for i in everyone if len(golds[i]) > 1]
    shared = [i for i in everyone if len(golds[i]) == 1]
    union = list(dict.fromkeys(i for index in indexed for i in index))
    missing = [
        {
            "model": model.model,
            "missing": len(union) - len(index),
            "examples": [i for i in union if i not in index][:SHOWN],
        }
        for model, index in zip(answers, indexed, strict=True)
        if len(index) < len(union)
    ]
    dropped = {
        "answered_by_any": len(union),
        "shared": len(shared),
        "missing_per_model": missing,
        "labels_disagree": {
            "count": len(disagree),
            "examples": [{"id": i, "labels": sorted(golds[i])} for i in disagree[:SHOWN]],
        },
    }
    if len(shared) < 2:
        raise errors.RunError(
            EXTERNAL_NO_SHARED,
            f"the {len(answers)} models share {len(shared)} example(s) with one gold label "
            f"({len(union)} answered by any, {len(disagree)} with labels that disagree)",
            "compare models evaluated on the same examples: check the task and the example ids",
        )
    first, index0 = answers[0], indexed[0]
    multiple_choice = all(first.options[index0[i]] > 0 for i in shared)
    gold = [first.gold[index0[i]] for i in shared]
    if multiple_choice:
        k = max(first.options[index0[i]] for i in shared)
        classes = [str(c) for c in range(k)]
    else:
        classes = sorted(set(gold))
    extra = sorted(
        {m.predicted[ix[i]] for m, ix in zip(answers, indexed, strict=True) for i in shared} - set(classes)
    )
    classes += extra  # answers outside the task's classes (an unparsable generation) are classes too
    position = {c: k for k, c in enumerate(classes)}
    n, m, kk = len(shared), len(answers), len(classes)
    options = np.array([first.options[index0[i]] or len(classes) - len(extra) for i in shared])
    labels = np.empty((m, n), dtype=np.int64)
    probabilities = np.zeros((m, n, kk), dtype=np.float32)
    scored = []
    for row, (model, index) in enumerate(zip(answers, indexed, strict=True)):
        rows = [index[i] for i in shared]
        labels[row] = [position[model.predicted[r]] for r in rows]
        scores = [model.scores[r] for r in rows]
        scored.append(all(s is not None for s in scores))
        if scored[-1]:
            probabilities[row] = _probabilities(scores, model, rows, position, kk)
        else:
            probabilities[row, np.arange(n), labels[row]] = 1.0
    return Joined(
        [a.model for a in answers],
        np.array(shared),
        classes,
        np.array([position[g] for g in gold]),
        labels,
        probabilities,
        options,
        np.array([first.groups[index0[i]] for i in shared]),
        scored,
        dropped,
    )


def _index(model: Answers) -> dict[str, int]:
    """Example id -> its entry; an id answered twice is an error naming both places."""
    found: dict[str, int] = {}
    for entry, id_ in enumerate(model.ids):
        if id_ in found:
            raise errors.RunError(
                EXTERNAL_MALFORMED,
                f"{model.where[entry]}, field 'id': example '{id_}' of model '{model.model}' was already "
                f"answered at {model.where[found[id_]]}",
                "each model answers each example once: keep one file per task and model",
            )
        found[id_] = entry
    return found


def _probabilities(
    scores: list, model: Answers, rows: list[int], position: dict[str, int], k: int
) -> np.ndarray:
    """Per example, a distribution over the classes: a softmax of log-likelihoods over the options the
    example offers, or probabilities as given (normalised to sum to one)."""
    out = np.zeros((len(scores), k))
    offered = np.zeros((len(scores), k), dtype=bool)
    for r, score in enumerate(scores):
        pairs = score.items() if isinstance(score, dict) else enumerate(score)
        for name, value in pairs:
            column = position.get(name) if isinstance(score, dict) else name
            if column is not None:
                out[r, column], offered[r, column] = value, True
    if model.log:
        top = np.max(np.where(offered, out, -np.inf), axis=1, keepdims=True)
        out = np.where(offered, np.exp(out - top), 0.0)
    total = out.sum(axis=1, keepdims=True)
    bad = np.flatnonzero((total[:, 0] <= 0) | (out < 0).any(axis=1))
    if len(bad):
        raise errors.RunError(
            EXTERNAL_MALFORMED,
            f"{model.where[rows[bad[0]]]}: the scores of model '{model.model}' are not a distribution",
            "probabilities are non-negative and not all zero",
        )
    return out / total
