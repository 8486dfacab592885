"""Task scores of one run: scikit-learn's definitions, which are the field's reference."""

from __future__ import annotations

import numpy as np


def score(name: str, params: dict, truth: np.ndarray, probabilities: np.ndarray) -> object:
    from sklearn import metrics as sk  # here, not above: importing scikit-learn costs a second

    labels = probabilities.argmax(axis=1)
    classes = np.arange(probabilities.shape[1])
    if name == "accuracy":
        return float(sk.accuracy_score(truth, labels))
    if name in ("precision", "recall", "f1", "macro_f1"):
        average = params.get("average", "macro")
        function = {"precision": sk.precision_score, "recall": sk.recall_score}.get(name, sk.f1_score)
        return float(function(truth, labels, labels=classes, average=average, zero_division=0))
    if name == "confusion":
        return sk.confusion_matrix(truth, labels, labels=classes).tolist()
    if name == "roc_auc":
        present = np.unique(truth)
        if len(present) < 2:
            raise ValueError("ROC-AUC needs both classes among the test examples")
        if probabilities.shape[1] == 2:
            return float(sk.roc_auc_score(truth, probabilities[:, 1]))
        return float(
            sk.roc_auc_score(
                truth, probabilities, multi_class="ovr", average=params["average"], labels=classes
            )
        )
    if name == "log_loss":
        return float(sk.log_loss(truth, np.clip(probabilities, 1e-15, 1.0), labels=classes))
    raise KeyError(name)


SCALAR = frozenset({"accuracy", "precision", "recall", "f1", "macro_f1", "roc_auc", "log_loss"})
