"""Task scores of one run: scikit-learn's definitions, which are the field's reference.

Each score registers itself as the implementation of its registry entry: a `Score`, which
the run-scope evaluation (`homog.runtime.evaluation.scores`) calls on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import implements

ScoreFunction = Callable[[dict[str, Any], np.ndarray, np.ndarray], Any]


@dataclass(frozen=True)
class Score:
    """A score of one run from its true labels and predicted probabilities `(n, classes)`."""

    compute: ScoreFunction
    scalar: bool = True  # summarised across runs (a confusion matrix is not)


SCORES: dict[str, Score] = {}


def _score(name: str, scalar: bool = True) -> Callable[[ScoreFunction], ScoreFunction]:
    def register(function: ScoreFunction) -> ScoreFunction:
        SCORES[name] = implements("metric", name)(Score(function, scalar))
        return function

    return register


def _sk() -> Any:
    from sklearn import metrics  # here, not above: importing scikit-learn costs a second

    return metrics


def _classes(probabilities: np.ndarray) -> np.ndarray:
    return np.arange(probabilities.shape[1])


@_score("accuracy")
def accuracy(params: dict[str, Any], truth: np.ndarray, probabilities: np.ndarray) -> float:
    return float(_sk().accuracy_score(truth, probabilities.argmax(axis=1)))


def _averaged(function: str) -> ScoreFunction:
    def compute(params: dict[str, Any], truth: np.ndarray, probabilities: np.ndarray) -> float:
        found = getattr(_sk(), function)
        return float(
            found(
                truth,
                probabilities.argmax(axis=1),
                labels=_classes(probabilities),
                average=params.get("average", "macro"),
                zero_division=0,
            )
        )

    return compute


for _name, _function in (
    ("precision", "precision_score"),
    ("recall", "recall_score"),
    ("f1", "f1_score"),
    ("macro_f1", "f1_score"),
):
    _score(_name)(_averaged(_function))


@_score("confusion", scalar=False)
def confusion(params: dict[str, Any], truth: np.ndarray, probabilities: np.ndarray) -> list[list[int]]:
    labels = probabilities.argmax(axis=1)
    return _sk().confusion_matrix(truth, labels, labels=_classes(probabilities)).tolist()


@_score("roc_auc")
def roc_auc(params: dict[str, Any], truth: np.ndarray, probabilities: np.ndarray) -> float:
    if len(np.unique(truth)) < 2:
        raise ValueError("ROC-AUC needs both classes among the test examples")
    if probabilities.shape[1] == 2:
        return float(_sk().roc_auc_score(truth, probabilities[:, 1]))
    return float(
        _sk().roc_auc_score(
            truth,
            probabilities,
            multi_class="ovr",
            average=params["average"],
            labels=_classes(probabilities),
        )
    )


@_score("log_loss")
def log_loss(params: dict[str, Any], truth: np.ndarray, probabilities: np.ndarray) -> float:
    clipped = np.clip(probabilities, 1e-15, 1.0)  # log 0 is -inf: a zero probability costs log(1e-15)
    clipped /= clipped.sum(axis=1, keepdims=True)
    return float(_sk().log_loss(truth, clipped, labels=_classes(probabilities)))


def score(name: str, params: dict, truth: np.ndarray, probabilities: np.ndarray) -> object:
    """The score `name` of one run (a KeyError for a name that is not a score)."""
    return SCORES[name].compute(params, truth, probabilities)


SCALAR = frozenset(name for name, found in SCORES.items() if found.scalar)
