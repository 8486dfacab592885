"""Learners: one protocol, implemented by the torch backend and the scikit-learn backend.

A learner is made from a fit node's parameters (`FitParams`: the learner as
trained, its seed, fold and data fraction). `fit` trains one replica per seed
(a group of seeds trains together where the backend can) and `predict` gives
probabilities over every class and the requested representations of a
trained replica. Nothing here reads the graph: the fit and predict nodes hand
a learner its data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from homog.compiler.ir import FitParams, trains_together

__all__ = ["Learner", "Outputs", "Trained", "TrainingData", "learner_for", "trains_together"]

from ..data import subsample
from ..splits import Split


@dataclass
class TrainingData:
    """A learner's inputs on one fold: every example of each modality (transformed with what was
    fitted on this fold's training split), the labels, and the fold's split."""

    inputs: list[np.ndarray]
    labels: np.ndarray
    split: Split
    classes: int

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [tuple(x.shape[1:]) for x in self.inputs]

    def train(self, fraction: float, seed: int) -> np.ndarray:
        """The training indices a replica of this seed learns from."""
        return subsample(self.split.train, self.labels, fraction, seed)


@dataclass
class Trained:
    """One trained replica: its weights (none for scikit-learn, which refits), curves and size."""

    state: dict[str, np.ndarray]
    curves: dict[str, list[float]]
    parameters: int
    epochs: int
    frozen: int = 0  # weights held and not trained (a frozen backbone's); `parameters` counts all


@dataclass
class Outputs:
    probabilities: np.ndarray  # (examples, classes), float64
    layers: dict[str, np.ndarray]  # the requested representations, by layer name


class Learner(Protocol):
    def fit(
        self, data: TrainingData, seeds: list[int], on_epoch: Callable[[int, int], None] | None = None
    ) -> list[Trained]:
        """One trained replica per seed; a learner that trains in epochs reports each one finished
        (done, total) to `on_epoch`."""
        ...

    def predict(
        self, trained: Trained, data: TrainingData, x: list[np.ndarray], layers: list[str]
    ) -> Outputs:
        """Probabilities and the representations in `layers` of a trained replica on examples `x`."""
        ...


def learner_for(params: FitParams, key: str, device: Any = None) -> Learner:
    """The learner of a fit; `key` (the fit's node id) names a fitted model kept in memory."""
    if params.learner.backend == "sklearn":
        from .sklearn_backend import SklearnLearner

        return SklearnLearner(params, key)
    from .torch_backend import TorchLearner

    return TorchLearner(params, device)
