"""`results.json` as types: one `Results` model, written once by the run and read by the report,
`homogc diff` and the Python API (`load_results(run_directory)`).

This module is the schema that `runtime/report/RESULTS.md` documents. Every run carries its
identity as fields (learner, kind, dataset, condition, seed, fold, point); `run` and a fit's
`name` are display labels only, never parsed. An undefined number is `None` (JSON null), never
NaN: models turn NaN and infinities into `None` on the way in, and a field that may not be
undefined refuses them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from homog.compiler.ir import ExperimentInfo, LearnerIR, ReportIR

Number = float | None


def finite(value: Any) -> Any:
    """JSON-ready values: numpy arrays and scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, np.generic):
        return finite(value.item())
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nan(cls, data: Any) -> Any:
        return finite(data) if isinstance(data, dict) else data


class Point(Model):
    """A sweep point; axes that are not swept (or do not apply to a learner) are None."""

    seed: int
    width: float | None = None
    data_fraction: float | None = None
    fold: int = 0
    lr: float | None = None
    epochs: int | None = None
    depth: int | None = None


class RunIdentity(Model):
    """One learner at one sweep point under one condition, and the predict node that made it."""

    node: str  # the predict (or late fusion) node's id; runs of identical work share it
    learner: str
    kind: Literal["model", "fusion"]
    dataset: str
    condition: str
    seed: int
    fold: int
    point: Point


class RunRow(RunIdentity):
    run: str  # display label ("mlp seed=1"), for display only


class ScoreRow(RunRow):
    value: float | list[list[int]] | None  # a scalar score, or a confusion matrix


class Stats(Model):
    n: int
    mean: Number
    std: Number
    min: Number
    max: Number
    ci95: list[float] | None  # seeded percentile bootstrap interval of the mean
    spread: Number  # (max - min) / min
    spread_note: str | None  # why the spread is undefined


class ConditionStats(Stats):
    condition: str


class Summary(ConditionStats):
    learner: str


class AxisSummary(Summary):
    axis: str
    value: float | None


class MetricBase(Model):
    metric: str  # the registry name
    label: str  # as written in the spec, and the key in `Results.metrics`


class RunScores(MetricBase):
    scope: Literal["run"]
    per_run: list[ScoreRow]
    summary: list[Summary] | None = None  # scalar scores only
    by_axis: list[AxisSummary] | None = None


class Spread(MetricBase):
    scope: Literal["across"]
    of: str  # the label of the score metric it is the spread of
    per_learner: list[Summary]
    all_runs: list[ConditionStats]


class Block(Model):
    a: str
    b: str
    mean: Number  # over pairs of distinct runs
    pairs: int


class Within(Model):
    """A learner's runs compared with each other: what the verdict says."""

    learner: str
    runs: int
    pairs: int
    mean: Number
    ci95: list[float] | None


class PairwiseEntry(Model):
    condition: str
    fold: int
    runs: list[RunRow]  # the matrix's rows and columns, in order
    matrix: list[list[float | None]]
    undefined: list[str]  # why entries are None
    between_learners: list[Block]
    within_learners: list[Within]


class Pairwise(MetricBase):
    scope: Literal["pairwise"]
    per_condition: list[PairwiseEntry]


class GroupHomogenization(Model):
    per_group: dict[str, float]
    average: Number
    uniform: Number
    worst_case: Number
    left_out: list[str]


class PopulationEntry(Model):
    condition: str
    fold: int
    runs: int
    systemic_failure_rate: float
    error_rates: list[float]
    homogenization: Number
    reason: str | None
    failure_counts: list[int]
    independent_baseline: list[float]
    groups: GroupHomogenization | None = None


class Population(MetricBase):
    scope: Literal["population"]
    per_condition: list[PopulationEntry]


class McNemarTest(Model):
    condition: str
    point: Point | None  # None: combined over the sweep points
    shown: str  # how the report names the point
    b: int  # a right, b wrong
    c: int  # a wrong, b right
    exact_p: float
    chi2: Number
    chi2_p: float
    p_holm: float


class ScoreTest(Model):
    condition: str
    of: str  # the label of the score metric compared
    a_scores: list[float | None]
    b_scores: list[float | None]
    statistic: Number
    p: float
    p_holm: float


class Significance(MetricBase):
    scope: Literal["test"]
    a: str
    b: str
    tests: list[McNemarTest] | list[ScoreTest]


class Cluster(MetricBase):
    scope: Literal["cluster"]
    by: str  # the label of the pairwise metric whose matrix is clustered
    items: list[str]
    matrix: list[list[float]]
    notes: list[str]
    method: str | None = None  # hierarchical
    linkage: list[list[float]] | None = None
    leaves: list[str] | None = None
    icoord: list[list[float]] | None = None
    dcoord: list[list[float]] | None = None
    k: int | None = None  # k-means
    assignment: list[int] | None = None
    silhouette: Number = None


MetricResult = Annotated[
    RunScores | Spread | Pairwise | Population | Significance | Cluster, Field(discriminator="scope")
]
METRIC_RESULT: TypeAdapter[Any] = TypeAdapter(MetricResult)


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
    curves: dict[str, list[float | None]]  # loss, accuracy, val_loss, val_accuracy per epoch
    parameters: int
    epochs: int
    seconds: float


class Results(Model):
    experiment: ExperimentInfo
    report: ReportIR
    conditions: list[str]  # clean first
    learners: list[LearnerIR]
    fits: list[Fit]
    metrics: dict[str, MetricResult]  # by label

    def parameters_of(self, learner: str) -> int | None:
        """The parameter count of a learner's first fit."""
        return next((fit.parameters for fit in self.fits if fit.learner == learner), None)


def load_results(directory: Path | str) -> Results:
    """The `results.json` of a run directory."""
    return Results.model_validate_json((Path(directory) / "results.json").read_text(encoding="utf-8"))
