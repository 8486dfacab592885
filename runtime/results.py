"""`results.json` as types: one `Results` model, written once by the run and read by the report,
`homogc diff` and the Python API (`load_results(run_directory)`).

This module is the schema that `runtime/report/RESULTS.md` documents. Every run carries its
identity as fields (learner, kind, dataset, condition, seed, fold, point); `run` and a fit's
`name` are display labels only, never parsed. An undefined number is `None` (JSON null), never
NaN: models turn NaN and infinities into `None` on the way in, and a field that may not be
undefined refuses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from homog.compiler.ir import ExperimentInfo, LearnerIR, ReportIR

from .schema import Model, Point, finite
from .scopes import (
    METRIC_RESULT,
    Cluster,
    MetricResult,
    Pairwise,
    Population,
    RunScores,
    Significance,
    Spread,
)

__all__ = [
    "METRIC_RESULT",
    "Cluster",
    "Fit",
    "Pairwise",
    "Population",
    "Results",
    "RunScores",
    "Significance",
    "Spread",
    "finite",
    "load_results",
]


class Fit(Model):
    """One fit node: a learner trained at one sweep point."""

    node: str  # short id
    name: str  # display name ("mlp seed=0"), for display only
    learner: str
    kind: Literal["model", "fusion"]
    dataset: str
    seed: int
    fold: int
    point: Point
    seeded: bool = True
    curves: dict[str, list[float | None]]  # loss, accuracy, val_loss, val_accuracy per epoch
    parameters: int
    epochs: int
    seconds: float
    frozen: int = 0  # weights not trained: a probed backbone's, or a fine-tune's frozen blocks


class External(Model):
    """An external source's population: its models, how they were joined, what was dropped."""

    name: str
    format: str
    models: list[str]
    classes: list[str]
    examples: int  # the shared examples every model answered with one gold label
    scored: list[bool]  # per model: probabilities from its scores (else one-hot of its answers)
    attributes: dict[str, dict[str, Any]]
    dropped: dict[str, Any]  # answered_by_any, shared, missing_per_model, labels_disagree
    accuracy: list[float]
    item_level: dict[str, Any]  # failed_by_all, difficulty_chance, adjusted_error_consistency_mean


class Results(Model):
    experiment: ExperimentInfo
    report: ReportIR
    conditions: list[str]  # clean first
    learners: list[LearnerIR]
    fits: list[Fit]
    metrics: dict[str, MetricResult]  # by label
    mode: str = "full"  # "smoke": a reduced run of `homogc run --smoke`, not for citing
    externals: dict[str, External] = Field(default_factory=dict)  # external sources, by name

    def parameters_of(self, learner: str) -> int | None:
        """The parameter count of a learner's first fit."""
        return next((fit.parameters for fit in self.fits if fit.learner == learner), None)


def load_results(directory: Path | str) -> Results:
    """The `results.json` of a run directory."""
    return Results.model_validate_json((Path(directory) / "results.json").read_text(encoding="utf-8"))
