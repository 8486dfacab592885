"""Agreement between runs' predictions, for every pair of runs at once (m x m matrices).

Inputs are label matrices `(m, n)`: m runs' predicted labels on the same n
examples, and the true labels `(n,)`. Where a measure is undefined for a pair
(a kappa whose chance agreement is 1, no example that both runs get wrong),
the entry is NaN *and* `undefined` says which pairs and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PairwiseResult:
    matrix: np.ndarray  # (m, m)
    undefined: list[str] = field(default_factory=list)


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
