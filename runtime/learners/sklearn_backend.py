"""scikit-learn learners.

Fitted estimators are never written to the cache: unpickling is never safe, and
these models have no plain-array form worth keeping. A prediction refits from
the same data and seed (scikit-learn is deterministic given a seed) unless the
estimator is still in memory from this run's fit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from homog.compiler.ir import FitParams

from ..registry import implementation, implements
from . import Outputs, Trained, TrainingData

_MEMORY: OrderedDict[str, Any] = OrderedDict()
_MEMORY_SIZE = 64
_LOCK = threading.Lock()


@implements("architecture", "sklearn.logistic_regression")
def logistic_regression(seed: int, c: float, max_iter: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=max_iter)


@implements("architecture", "sklearn.random_forest")
def random_forest(seed: int, trees: int, depth: int | None):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=trees, max_depth=depth, random_state=seed, n_jobs=1)


@implements("architecture", "sklearn.gradient_boosting")
def gradient_boosting(seed: int, trees: int, depth: int, lr: float):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(
        n_estimators=trees, max_depth=depth, learning_rate=lr, random_state=seed
    )


@implements("architecture", "sklearn.svm")
def svm(seed: int, c: float, kernel: str):
    from sklearn.svm import SVC

    return SVC(C=c, kernel=kernel, probability=True, random_state=seed)


@implements("architecture", "sklearn.knn")
def knn(seed: int, neighbors: int, weights: str):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=neighbors, weights=weights)


class SklearnLearner:
    def __init__(self, params: FitParams, key: str) -> None:
        self.params, self.key = params, key

    def _fit(self, data: TrainingData, seed: int):
        arch = self.params.learner.arch
        train = data.train(self.params.data_fraction, seed)
        x = data.inputs[0][train]
        model = implementation("architecture", arch.name)(seed, **arch.params)
        model.fit(x.reshape(len(x), -1), data.labels[train])
        with _LOCK:
            _MEMORY[self.key] = model
            _MEMORY.move_to_end(self.key)
            while len(_MEMORY) > _MEMORY_SIZE:
                _MEMORY.popitem(last=False)
        return model, x, data.labels[train]

    def fit(
        self, data: TrainingData, seeds: list[int], on_epoch: Callable[[int, int], None] | None = None
    ) -> list[Trained]:
        out = []
        for seed in seeds:
            model, x, y = self._fit(data, seed)
            accuracy = float((model.predict(x.reshape(len(x), -1)) == y).mean())
            out.append(Trained({}, {"accuracy": [accuracy]}, parameter_count(model), 1))
        return out

    def predict(
        self, trained: Trained, data: TrainingData, x: list[np.ndarray], layers: list[str]
    ) -> Outputs:
        with _LOCK:
            model = _MEMORY.get(self.key)
        if model is None:
            model = self._fit(data, self.params.seed)[0]
        flat = x[0].reshape(len(x[0]), -1)
        probabilities = np.zeros((len(flat), data.classes))
        probabilities[:, model.classes_] = model.predict_proba(flat)
        found = {}
        if "logits" in layers and hasattr(model, "decision_function"):
            logits = np.asarray(model.decision_function(flat), dtype=np.float32)
            found["logits"] = logits[:, None] if logits.ndim == 1 else logits
        return Outputs(probabilities, found)


def parameter_count(model) -> int:
    """Fitted numbers in the model: coefficients, tree nodes, support vectors or stored examples."""
    if hasattr(model, "coef_"):
        return int(model.coef_.size + model.intercept_.size)
    if hasattr(model, "estimators_"):
        trees = np.ravel(model.estimators_)
        return int(sum(t.tree_.node_count for t in trees))
    if hasattr(model, "support_vectors_"):
        return int(model.support_vectors_.size + model.dual_coef_.size)
    if hasattr(model, "_fit_X"):
        return int(model._fit_X.size)
    return 0
