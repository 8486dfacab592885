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


def _counts(predictions: np.ndarray, truth: np.ndarray | None = None, classes: int | None = None):
    """The all-pairs engine's counts (runtime/metrics/allpairs.py): a few matrix products in blocks."""
    from . import allpairs

    p = np.asarray(predictions)
    return allpairs.counts(p, np.zeros(p.shape[1], dtype=np.int64) if truth is None else truth, classes)


def agreement(predictions: np.ndarray) -> PairwiseResult:
    """Fraction of examples on which two runs predict the same label."""
    from . import allpairs

    return allpairs.agreement(_counts(predictions))


def cohen_kappa(predictions: np.ndarray, classes: int) -> PairwiseResult:
    """Cohen's kappa between two runs' labels: (p_o - p_e) / (1 - p_e), p_e = sum_k p_a(k) p_b(k)."""
    from . import allpairs

    p = np.asarray(predictions)
    return allpairs.cohen_kappa(_counts(p, classes=max(classes, int(p.max(initial=0)) + 1)))


def error_consistency(predictions: np.ndarray, truth: np.ndarray) -> PairwiseResult:
    """Geirhos et al. (2020): kappa on correctness. c_exp = p_a p_b + (1 - p_a)(1 - p_b)."""
    from . import allpairs

    return allpairs.error_consistency(_counts(predictions, np.asarray(truth)))


def agreement_when_wrong(predictions: np.ndarray, truth: np.ndarray) -> PairwiseResult:
    """Kim et al. (2025): #(same label and both wrong) / #(both wrong)."""
    from . import allpairs

    return allpairs.agreement_when_wrong(_counts(predictions, np.asarray(truth)))


def options_of(outputs: Outputs) -> np.ndarray:
    """Options each example offers: as the run's outputs say (external multiple choice), else every class."""
    first = outputs[0]
    if "options" in first:
        return np.asarray(first["options"])
    return np.full(len(first["truth"]), first["probabilities"].shape[1])


def _capa(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    from . import allpairs

    probabilities = np.stack([found["probabilities"] for found in outputs])
    return allpairs.capa(probabilities, outputs[0]["truth"], options_of(outputs))


def _jensen_shannon(outputs: Outputs, params: dict[str, Any]) -> PairwiseResult:
    from . import allpairs

    return allpairs.jensen_shannon(np.stack([found["probabilities"] for found in outputs]))


implements("metric", "capa")(Pairwise(_capa, "have CAPA κp = {value:.2f} on their predicted probabilities"))
implements("metric", "jensen_shannon")(
    Pairwise(_jensen_shannon, "differ by a Jensen-Shannon divergence of {value:.3f} bits", low=0.0)
)


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
