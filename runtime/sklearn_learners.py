"""scikit-learn learners.

Fitted estimators are never written to the cache: unpickling is never safe, and
these models have no plain-array form worth keeping. A `predict` node refits
from the same data and seed (scikit-learn is deterministic given a seed) unless
the estimator is still in memory from this run's `fit`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

Call = dict[str, Any]
_MEMORY: OrderedDict[str, Any] = OrderedDict()
_MEMORY_SIZE = 64
_LOCK = threading.Lock()


def estimator(arch: Call, seed: int):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    name, p = arch["name"], arch["params"]
    if name == "sklearn.logistic_regression":
        return LogisticRegression(C=p["c"], max_iter=p["max_iter"])
    if name == "sklearn.random_forest":
        return RandomForestClassifier(
            n_estimators=p["trees"], max_depth=p["depth"], random_state=seed, n_jobs=1
        )
    if name == "sklearn.gradient_boosting":
        return GradientBoostingClassifier(
            n_estimators=p["trees"], max_depth=p["depth"], learning_rate=p["lr"], random_state=seed
        )
    if name == "sklearn.svm":
        return SVC(C=p["c"], kernel=p["kernel"], probability=True, random_state=seed)
    if name == "sklearn.knn":
        return KNeighborsClassifier(n_neighbors=p["neighbors"], weights=p["weights"])
    raise KeyError(f"no scikit-learn learner {name!r}")


ESTIMATORS = frozenset(
    {
        "sklearn.logistic_regression",
        "sklearn.random_forest",
        "sklearn.gradient_boosting",
        "sklearn.svm",
        "sklearn.knn",
    }
)


def fit(key: str, arch: Call, x: np.ndarray, y: np.ndarray, seed: int):
    model = estimator(arch, seed).fit(x.reshape(len(x), -1), y)
    with _LOCK:
        _MEMORY[key] = model
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > _MEMORY_SIZE:
            _MEMORY.popitem(last=False)
    return model


def fitted(key: str, arch: Call, x: np.ndarray, y: np.ndarray, seed: int):
    with _LOCK:
        model = _MEMORY.get(key)
    return model if model is not None else fit(key, arch, x, y, seed)


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


def outputs(model, x: np.ndarray, classes: int, layer_wanted: bool):
    """Probabilities over all classes (a class absent from training gets 0) and the logits layer, if any."""
    flat = x.reshape(len(x), -1)
    probabilities = np.zeros((len(x), classes))
    probabilities[:, model.classes_] = model.predict_proba(flat)
    logits = None
    if layer_wanted and hasattr(model, "decision_function"):
        logits = np.asarray(model.decision_function(flat), dtype=np.float32)
        if logits.ndim == 1:
            logits = logits[:, None]
    return probabilities, logits
