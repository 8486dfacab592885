"""The building blocks of `results.json`: a run's identity, a sweep point, a score over its units,
an interval; and `finite`, which turns NaN into None on the way in (see `results.py`)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

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
    kind: Literal["model", "fusion", "external"]
    dataset: str
    condition: str
    seed: int
    fold: int
    point: Point
    seeded: bool = True  # False: the fit ignores the seed (its seeds share one node)
    shifted: bool | None = None  # under a condition: whether it shifts what the learner reads


class RunRow(RunIdentity):
    run: str  # display label ("mlp seed=1"), for display only
    copies: int = 1  # runs of identical work this row stands for (a fit that ignores an axis)


class ScoreRow(RunRow):
    value: float | list[list[int]] | None  # a scalar score, or a confusion matrix


class Stats(Model):
    """A score over its units of replication (`unit`: folds, or the runs on one test set)."""

    n: int
    mean: Number
    std: Number
    min: Number
    max: Number
    ci95: list[float | None] | None  # Student's t interval of the mean over the n units
    ci_method: str | None = None
    spread: Number  # (max - min) / min
    spread_note: str | None  # why the spread is undefined
    unit: str | None = None


class Interval(Model):
    """A mean over n independent units with its Student's t interval (None below two units)."""

    n: int
    mean: Number
    low: Number
    high: Number
    level: float = 0.95
    method: str | None = None
    reason: str | None = None
