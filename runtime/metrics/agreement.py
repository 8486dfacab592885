"""Agreement between runs' predictions, for every pair of runs at once (m x m matrices).

Inputs are label matrices `(m, n)`: m runs' predicted labels on the same n
examples, and the true labels `(n,)`. Where a measure is undefined for a pair
(a kappa whose chance agreement is 1, no example that both runs get wrong),
the entry is NaN *and* `undefined` says which pairs and why.

Each measure registers itself as the implementation of its registry entry: a `Pairwise`
(the matrix over the runs' outputs, and the words the report's verdict says it with), next
to its formula, so a new pairwise metric is its catalog entry plus one function here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import implements


@dataclass
class PairwiseResult:
    matrix: np.ndarray  # (m, m)
    undefined: list[str] = field(default_factory=list)


Outputs = Sequence[Mapping[str, np.ndarray]]  # per run: probabilities, labels, truth, layer.NAME


@dataclass(frozen=True)
class Pairwise:
    """A pairwise metric as the runtime computes and reports it."""

    matrix: Callable[[Outputs, dict[str, Any]], PairwiseResult]  # (runs' outputs, params) -> m x m
    phrase: str  # "The 3 runs of mlp {phrase} [ci]": formatted with value = the mean
    low: float | None = None  # the heatmap's colour range; None: the data's
    high: float | None = 1.0


def labels_of(outputs: Outputs) -> np.ndarray:
    """The runs' predicted labels `(m, n)`."""
    return np.stack([found["labels"] for found in outputs])


def agreement(predictions: np.ndarray) -> PairwiseResult:
    """Fraction of examples on which two runs predict the same label."""
    p = np.asarray(predictions)
    return PairwiseResult((p[:, None, :] == p[None, :, :]).mean(axis=2))


def _kappa(observed: np.ndarray, expected: np.ndarray, what: str) -> PairwiseResult:
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1.0 - expected)
    degenerate = np.isclose(expected, 1.0)
    undefined = []
    if degenerate.any():
        kappa = np.where(degenerate, np.nan, kappa)
        pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(degenerate)), strict=True)]
        undefined.append(
            f"{what} is undefined for {len(pairs)} pair(s) whose chance agreement is 1 "
            f"(both runs constant), e.g. runs {pairs[0]}"
        )
    return PairwiseResult(kappa, undefined)


def cohen_kappa(predictions: np.ndarray, classes: int) -> PairwiseResult:
    """Cohen's kappa between two runs' labels: (p_o - p_e) / (1 - p_e), p_e = sum_k p_a(k) p_b(k)."""
    p = np.asarray(predictions)
    frequencies = np.stack([np.bincount(row, minlength=classes) / p.shape[1] for row in p])
    return _kappa(agreement(p).matrix, frequencies @ frequencies.T, "Cohen's kappa")


def error_consistency(predictions: np.ndarray, truth: np.ndarray) -> PairwiseResult:
    """Geirhos et al. (2020): kappa on correctness. c_exp = p_a p_b + (1 - p_a)(1 - p_b)."""
    correct = (np.asarray(predictions) == np.asarray(truth)[None, :]).astype(np.float64)
    accuracy = correct.mean(axis=1)
    observed = (correct[:, None, :] == correct[None, :, :]).mean(axis=2)
    expected = np.outer(accuracy, accuracy) + np.outer(1 - accuracy, 1 - accuracy)
    return _kappa(observed, expected, "error consistency")


def agreement_when_wrong(predictions: np.ndarray, truth: np.ndarray) -> PairwiseResult:
    """Kim et al. (2025): #(same label and both wrong) / #(both wrong)."""
    p = np.asarray(predictions)
    wrong = p != np.asarray(truth)[None, :]
    both = wrong[:, None, :] & wrong[None, :, :]
    same = both & (p[:, None, :] == p[None, :, :])
    counts = both.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.where(counts > 0, same.sum(axis=2) / counts, np.nan)
    undefined = []
    if (counts == 0).any():
        undefined.append(
            f"undefined for {int(np.triu(counts == 0).sum())} pair(s) with no example both get wrong"
        )
    return PairwiseResult(matrix, undefined)


implements("metric", "agreement")(
    Pairwise(lambda outputs, params: agreement(labels_of(outputs)), "agree on {value:.1%} of test examples")
)
implements("metric", "cohen_kappa")(
    Pairwise(
        lambda outputs, params: cohen_kappa(labels_of(outputs), outputs[0]["probabilities"].shape[1]),
        "have Cohen's κ = {value:.2f} on their labels",
    )
)
implements("metric", "error_consistency")(
    Pairwise(
        lambda outputs, params: error_consistency(labels_of(outputs), outputs[0]["truth"]),
        "have error consistency κ = {value:.2f}",
    )
)
implements("metric", "agreement_when_wrong")(
    Pairwise(
        lambda outputs, params: agreement_when_wrong(labels_of(outputs), outputs[0]["truth"]),
        "give the same wrong label on {value:.1%} of the examples both get wrong",
    )
)
